"""Settings for the ``makemigrations --check`` gate of tests/run.py: the test settings,
with the two configuration warnings they trigger on purpose (no signature secret, the
default adapter) silenced, so the gate prints only what it is for."""

from tests.settings import *  # noqa: F403

SILENCED_SYSTEM_CHECKS = ["dintero.W001", "dintero.W006"]
