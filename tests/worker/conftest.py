"""A real ``celery worker`` process over Redis, sharing the test database.

The worker runs the project's own Celery app (example_project.celery) with the
test settings, pointed at the test database and at the emulator the test uses.
The test process enqueues through Redis (not eager) while the fixture is active.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from example_project.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("DINTERO_TEST_REDIS", "redis://127.0.0.1:6379/15")


def wait_until(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "example_project", "worker",
            "--concurrency", "2", "--pool", "prefork", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._ready, 60, "the celery worker to start")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"celery worker exited: {self.log.read_text()[-3000:]}")
        return "ready." in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _rebind(**conf: Any) -> None:
    """Point the test process's Celery app at another broker.

    Celery caches its connection and producer pools on first use (eager tests
    create them for the in-memory broker), so both are dropped explicitly.
    """
    celery_app.close()
    celery_app.amqp._producer_pool = None
    celery_app.conf.update(**conf)


@pytest.fixture
def celery_worker_process(shop: Any, settings: Any, tmp_path: Path) -> Iterator[Worker]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DINTERO_TEST_DB_DIRECT": "1",
        "DINTERO_TEST_DB_NAME": str(db["NAME"]),
        "DINTERO_TEST_SQLITE": str(db["NAME"]),
        "CELERY_BROKER_URL": REDIS_URL,
        "DINTERO_TEST_OVERRIDES": json.dumps(settings.DINTERO),
        "PYTHONUNBUFFERED": "1",
    }
    worker = Worker(env, tmp_path / "worker.log")
    saved = {"broker_url": celery_app.conf.broker_url, "task_always_eager": celery_app.conf.task_always_eager}
    _rebind(broker_url=REDIS_URL, task_always_eager=False)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        _rebind(**saved)
        log = worker.log.read_text(errors="replace")
        print(log[-4000:])
