"""The plugin's dintero_settings runs Celery tasks in-process for the test: a shop's
test suite has no worker (issue 20)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import current_app


@pytest.fixture
def worker_configured() -> Iterator[Any]:
    """A project whose settings send tasks to a worker (set before dintero_settings runs)."""
    conf = current_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = False
    yield conf
    conf.task_always_eager = saved


def test_dintero_settings_runs_tasks_eagerly(worker_configured: Any, dintero_settings: Any) -> None:
    assert worker_configured.task_always_eager is True
