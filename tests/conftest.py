"""Shared fixtures: a live Django server, the emulator pointed at it, and helpers.

The emulator fixtures (``dintero_emulator``, ``dintero_settings``) come from
the package's own pytest plugin, exactly as a shop's test suite gets them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

# Callbacks are signed in every integration test, as in production.
os.environ.setdefault("DINTERO_EMULATOR_SIGNATURE_SECRET", "test-signature-secret")
# Our test servers speak plain http on 127.0.0.1, where Dintero would never deliver a
# callback: the emulator's test convenience is switched on here, explicitly.
os.environ.setdefault("DINTERO_EMULATOR_CALLBACK_ALLOW_HTTP", "1")

from example_project.celery import app as celery_app

__all__ = ["celery_app"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live: uses the live server and the emulator")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are skipped on SQLite, and reported as such."""
    on_postgres = os.environ.get("DINTERO_TEST_DB") == "postgres"
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks): run with DINTERO_TEST_DB=postgres")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@dataclass
class Shop:
    """The shop under test: its live URL, the emulator, and a browser-like session."""

    url: str
    emulator: Any
    http: requests.Session

    @property
    def control(self) -> Any:
        return self.emulator.control

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.url + path, timeout=30, **kwargs)

    def create_order(self, lines: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
        body = {"currency": "NOK", "lines": lines or default_lines(), **extra}
        response = self.api("POST", "/api/dintero/orders/", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def checkout(self, public_id: str, **body: Any) -> requests.Response:
        return self.api("POST", f"/api/dintero/orders/{public_id}/checkout/", json=body)

    def order(self, public_id: str) -> dict[str, Any]:
        response = self.api("GET", f"/api/dintero/orders/{public_id}/")
        assert response.status_code == 200, response.text
        return dict(response.json())


def default_lines() -> list[dict[str, Any]]:
    return [
        {
            "product_id": "chair",
            "description": "Stacking chair",
            "quantity": 2,
            "unit_amount": 19900,
        },
        {"product_id": "table", "description": "Garden table", "quantity": 1, "unit_amount": 49900},
        {"description": "Shipping", "type": "shipping", "quantity": 1, "unit_amount": 9900},
    ]


@pytest.fixture
def shop(live_server: Any, dintero_settings: Any, settings: Any, transactional_db: None) -> Iterator[Shop]:
    settings.DINTERO = {**settings.DINTERO, "SITE_URL": live_server.url}
    http = requests.Session()
    http.headers["Accept"] = "application/json"
    yield Shop(url=live_server.url, emulator=dintero_settings, http=http)
    http.close()


@pytest.fixture(autouse=True)
def _fresh_client_state() -> Iterator[None]:
    """Each test starts with no cached token and a new connection pool."""
    from django.core.cache import caches

    from dintero_django.client import reset

    caches["default"].clear()
    reset()
    yield
    reset()


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With DINTERO_FORBID_SKIPS=1 (CI) any skipped test fails the run."""
    if os.environ.get("DINTERO_FORBID_SKIPS") == "1" and _skipped:
        print(f"\n{len(_skipped)} test(s) skipped, which this run forbids:", *_skipped, sep="\n  ")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
