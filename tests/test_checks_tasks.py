"""dintero.W009 / W010: tasks can run somewhere, and SQLite waits for its write lock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import current_app

from dintero_django.checks import check_task_setup

SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "shop.sqlite3"}
WAITING = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

# The checks read settings.DATABASES only; the test database connection is not touched.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@pytest.fixture
def celery_conf() -> Iterator[Any]:
    conf = current_app.conf
    saved = {key: conf[key] for key in ("task_always_eager", "broker_url", "broker_write_url")}
    yield conf
    conf.update(saved)


def ids(settings: Any, conf: Any, *, eager: bool, broker: str | None, options: Any = None) -> set[str]:
    conf.update(task_always_eager=eager, broker_url=broker, broker_write_url=None)
    settings.DATABASES = {"default": {**SQLITE, "OPTIONS": options if options is not None else {}}}
    return {message.id for message in check_task_setup()}


def test_eager_tasks_need_neither_broker_nor_sqlite_options(settings: Any, celery_conf: Any) -> None:
    assert ids(settings, celery_conf, eager=True, broker=None) == set()


def test_no_broker_and_not_eager_is_w010(settings: Any, celery_conf: Any) -> None:
    assert "dintero.W010" in ids(settings, celery_conf, eager=False, broker=None, options=WAITING)


def test_a_broker_satisfies_w010(settings: Any, celery_conf: Any) -> None:
    assert (
        ids(settings, celery_conf, eager=False, broker="redis://127.0.0.1:6379/0", options=WAITING) == set()
    )


@pytest.mark.parametrize(
    "options",
    [
        {},  # Django's default: DEFERRED transactions, 5 s
        {"timeout": 20},
        {"transaction_mode": "IMMEDIATE"},
        {"timeout": 5, "transaction_mode": "IMMEDIATE"},
        {"timeout": 30, "transaction_mode": "EXCLUSIVE"},
    ],
)
def test_sqlite_with_a_worker_needs_to_wait_for_the_lock(
    settings: Any, celery_conf: Any, options: dict[str, Any]
) -> None:
    assert ids(settings, celery_conf, eager=False, broker="redis://x", options=options) == {"dintero.W009"}


def test_sqlite_options_that_wait_pass(settings: Any, celery_conf: Any) -> None:
    options = {"timeout": 30, "transaction_mode": "immediate"}
    assert ids(settings, celery_conf, eager=False, broker="redis://x", options=options) == set()


def test_postgres_needs_no_sqlite_options(settings: Any, celery_conf: Any) -> None:
    celery_conf.update(task_always_eager=False, broker_url="redis://x")
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}}
    assert check_task_setup() == []
