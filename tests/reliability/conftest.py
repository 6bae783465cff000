"""The reliability battery (issue 6): seed, tiers, figures, log capture, reproduce lines.

* ``DINTERO_RELIABILITY_SEED`` pins the seed (printed in the header and every figure line).
* ``DINTERO_NIGHTLY=1`` scales sizes up and runs the ``nightly`` tests; without it they are
  *deselected* here (never skipped: a skip fails our CI legs).
* ``sqlite_leg`` tests (no row locks involved: the model test, the security tests, the schema
  fuzzing) run on the SQLite leg only; the PostgreSQL leg deselects them.
* Every log record of the battery goes to one file, scanned for secrets at the end
  (tests/reliability/test_zz_secrets_in_logs.py).
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import report, secrets
from .harness.config import NIGHTLY, SEED, TIER

HERE = Path(__file__).resolve().parent


SHOP_APP = "example_project.shop"
_shop_installed: Any = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: part of the reliability battery (tests/reliability)")
    _install_the_example_shop()
    config.addinivalue_line(
        "markers",
        "sqlite_leg: single-connection scenario (no row locks involved) run once per CI run, on the "
        "SQLite leg; the PostgreSQL leg deselects it to keep CI short",
    )


def _install_the_example_shop() -> None:
    """The example shop's cart is a public view the security tests attack
    (test_security_api.py): its tables must exist before the test database is
    created. As tests/browser/conftest.py does; it changes nothing for the other tests."""
    global _shop_installed
    from django.conf import settings
    from django.test import override_settings

    if SHOP_APP not in settings.INSTALLED_APPS:
        _shop_installed = override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, SHOP_APP])
        _shop_installed.enable()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _shop_installed is not None:
        _shop_installed.disable()


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"dintero reliability battery: tier={TIER} seed={SEED} "
        f"(reproduce with DINTERO_RELIABILITY_SEED={SEED}{' DINTERO_NIGHTLY=1' if NIGHTLY else ''})"
    )


def _ours(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Nightly-only tests run only with DINTERO_NIGHTLY=1; otherwise they are deselected."""
    for item in items:
        if _ours(item):
            item.add_marker(pytest.mark.reliability)
    on_postgres = os.environ.get("DINTERO_TEST_DB") == "postgres"
    deselected = [
        item
        for item in items
        if _ours(item)
        and (("nightly" in item.keywords and not NIGHTLY) or ("sqlite_leg" in item.keywords and on_postgres))
    ]
    if deselected:
        items[:] = [item for item in items if item not in deselected]
        config.hook.pytest_deselected(items=deselected)


def reproduce_command(item: pytest.Item) -> str:
    env = [f"DINTERO_RELIABILITY_SEED={SEED}"]
    if NIGHTLY:
        env.append("DINTERO_NIGHTLY=1")
    if os.environ.get("DINTERO_TEST_DB") == "postgres":
        env.append("DINTERO_TEST_DB=postgres")
    return " ".join([*env, ".venv/bin/pytest", shlex.quote(item.nodeid), "-p", "no:randomly"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    if rep.failed and _ours(item):
        rep.sections.append(("reproduce", f"seed {SEED}, tier {TIER}:\n  {reproduce_command(item)}"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = report.lines()
    if not lines:
        return
    terminalreporter.section("dintero reliability figures")
    for line in lines:
        terminalreporter.write_line(line)
    report.dump()


@pytest.fixture(scope="session", autouse=True)
def _battery_log() -> Iterator[None]:
    """Capture every log record of the battery in one file (scanned for secrets)."""
    handler = secrets.attach_battery_log()
    root = logging.getLogger()
    yield
    root.removeHandler(handler)
    handler.close()


@pytest.fixture(autouse=True)
def _collect_secrets(dintero_emulator_server: Any, settings: Any) -> Iterator[None]:
    """Note the secrets and every token the emulator issued during the test."""
    yield
    secrets.note_emulator(dintero_emulator_server)
    secrets.note_settings(dict(getattr(settings, "DINTERO", {}) or {}))
