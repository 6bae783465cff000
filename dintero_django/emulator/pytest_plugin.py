"""Pytest fixtures for a shop's test suite (registered through the pytest11 entry point).

Plugins load before Django settings exist, so nothing here imports Django or the
emulator at module import time; the fixtures import what they need when they run.

* ``dintero_emulator_server`` (session): one running :class:`Emulator` per test session.
* ``dintero_emulator`` (function): the same emulator, reset (state, logs, faults,
  clock, config) before the test.
* ``dintero_settings`` (function): also points ``settings.DINTERO`` at the emulator
  (needs pytest-django's ``settings`` fixture) and runs Celery tasks eagerly.
* ``dintero_eager_tasks`` (function): Celery tasks run in-process for the test (a
  test has no worker), restored afterwards.

The session emulator signs callbacks when ``DINTERO_EMULATOR_SIGNATURE_SECRET`` (env)
or the ini option ``dintero_emulator_signature_secret`` is set (env wins).

Dintero delivers callbacks only to HTTPS URLs, and pytest-django's ``live_server`` speaks
plain http on 127.0.0.1: a suite that wants callbacks there turns the emulator's
``callback_allow_http`` knob on explicitly, with ``DINTERO_EMULATOR_CALLBACK_ALLOW_HTTP=1``
or the ini option ``dintero_emulator_callback_allow_http = true``. Off by default, like
Dintero: callbacks to an http URL are then skipped (and logged as ``skipped``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .app import Emulator

SECRET_ENV = "DINTERO_EMULATOR_SIGNATURE_SECRET"  # noqa: S105 (a variable name)
SECRET_INI = "dintero_emulator_signature_secret"  # noqa: S105 (an ini option name)
ALLOW_HTTP_ENV = "DINTERO_EMULATOR_CALLBACK_ALLOW_HTTP"
ALLOW_HTTP_INI = "dintero_emulator_callback_allow_http"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SECRET_INI,
        "Signature secret of the session-wide Dintero emulator (empty: unsigned callbacks). "
        f"The environment variable {SECRET_ENV} overrides it.",
        default="",
    )
    parser.addini(
        ALLOW_HTTP_INI,
        "Let the session-wide Dintero emulator deliver callbacks to plain-http / loopback URLs "
        f"(a test server), which Dintero never does. The environment variable {ALLOW_HTTP_ENV} "
        "overrides it.",
        type="bool",
        default=False,
    )


def signature_secret(config: pytest.Config) -> str:
    from_env = os.environ.get(SECRET_ENV)
    if from_env is not None:
        return from_env
    return str(config.getini(SECRET_INI) or "")


def callback_allow_http(config: pytest.Config) -> bool:
    from_env = os.environ.get(ALLOW_HTTP_ENV)
    if from_env is not None:
        return from_env.strip().lower() in ("1", "true", "yes", "on")
    return bool(config.getini(ALLOW_HTTP_INI))


@pytest.fixture(scope="session")
def dintero_emulator_server(pytestconfig: pytest.Config) -> Iterator[Emulator]:
    from .app import Emulator

    emulator = Emulator(
        signature_secret=signature_secret(pytestconfig),
        callback_allow_http=callback_allow_http(pytestconfig),
    )
    with emulator:
        yield emulator


@pytest.fixture
def dintero_emulator(dintero_emulator_server: Emulator) -> Emulator:
    dintero_emulator_server.reset()
    return dintero_emulator_server


@pytest.fixture
def dintero_eager_tasks() -> Iterator[None]:
    from celery import current_app  # the app the package's shared tasks are sent with

    conf = current_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True
    try:
        yield
    finally:
        conf.task_always_eager = saved


@pytest.fixture
def dintero_settings(settings: Any, dintero_emulator: Emulator, dintero_eager_tasks: None) -> Emulator:
    current = getattr(settings, "DINTERO", None)
    dintero = dict(current) if isinstance(current, dict) else {}
    dintero.update(
        {
            "ACCOUNT_ID": dintero_emulator.account_id,
            "CLIENT_ID": dintero_emulator.client_id,
            "CLIENT_SECRET": dintero_emulator.client_secret,
            "API_URL": dintero_emulator.url,
            "CHECKOUT_URL": dintero_emulator.url,
            "SIGNATURE_SECRET": dintero_emulator.signature_secret,
        }
    )
    settings.DINTERO = dintero
    return dintero_emulator
