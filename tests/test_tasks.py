"""dintero_django/tasks.py: a checkout task that cannot be queued is said so (issue 20)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import current_app

from dintero_django.tasks import TASKS_NOT_RUNNING
from tests.celery_worker import rebind


@pytest.fixture
def broker_down() -> Iterator[None]:
    """No eager tasks, and a broker nobody listens on (what a project without a broker
    and without eager mode gets: Celery's amqp://localhost)."""
    saved = {
        "broker_url": current_app.conf.broker_url,
        "task_always_eager": current_app.conf.task_always_eager,
    }
    rebind(broker_url="amqp://guest:guest@127.0.0.1:1//", task_always_eager=False)
    yield
    rebind(**saved)


def test_checkout_says_tasks_are_not_running(shop: Any, broker_down: None) -> None:
    order = shop.create_order()

    started = shop.checkout(order["id"])

    assert started.status_code == 202, started.text
    assert started.json()["payment"] is None
    assert started.json()["checkout_error"] == str(TASKS_NOT_RUNNING)
    assert shop.order(order["id"])["checkout_error"].startswith("Tasks are not running")
