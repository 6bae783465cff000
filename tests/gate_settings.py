"""Settings for the ``makemigrations --check`` gate of tests/run.py: the test settings,
with the configuration warnings they trigger on purpose (no signature secret, the
default adapter, the plain-http test site) silenced, so the gate prints only what it is for. W010 too: the
gate's ``manage.py`` loads no Celery app (the suite's conftest loads
example_project.celery), so Celery's default app, with no broker, is the one it sees."""

from tests.settings import *  # noqa: F403

SILENCED_SYSTEM_CHECKS = ["dintero.W001", "dintero.W006", "dintero.W008", "dintero.W010"]
