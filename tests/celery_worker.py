"""A real ``celery worker`` process over Redis, sharing the test database.

One launcher for every test that needs a worker: tests/worker (the full flow with
a real worker) and the reliability battery (which also kills pool processes or the
whole worker, restarts it and waits for the queue to drain). The worker runs the
project's own Celery app (example_project.celery), pointed at the test database
and at the emulator the test uses; while it runs, the test process enqueues
through Redis (not eagerly).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import redis
from django.db import connection

from example_project.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("DINTERO_TEST_REDIS", "redis://127.0.0.1:6379/15")
QUEUE = "celery"


def wait_until(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def redis_client(url: str = REDIS_URL) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


class Worker:
    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 2) -> None:
        self.env = env
        self.redis_url = env.get("CELERY_BROKER_URL", REDIS_URL)
        self.log = log
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "example_project", "worker",
            "--concurrency", str(self.concurrency), "--pool", "prefork", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"test{self.starts}@%h",
        ]  # fmt: skip
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        wait_until(lambda: self._ready(mark), 90, "the celery worker to start")

    def _ready(self, mark: int) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"celery worker exited: {self.log.read_text(errors='replace')[-3000:]}")
        with self.log.open("rb") as text:
            text.seek(mark)  # only this start's output: a restarted worker logs "ready." again
            return b"ready." in text.read()

    def pool_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def kill_pool_process(self, rnd: Any) -> int | None:
        pids = self.pool_pids()
        if not pids:
            return None
        pid = rnd.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def kill_all(self) -> None:
        """SIGKILL the main process and its pool (a crashed node); not restarted here."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def alive(self) -> bool:
        return bool(self.process and self.process.poll() is None)

    def drain(self, timeout: float = 30) -> None:
        """Wait until no message is queued or unacknowledged (acks are late, so a running
        task is unacknowledged too).

        Gives up quietly at the deadline: what is left is the reconciler's job, and the
        audit after it decides. (A retry waiting for its countdown stays unacknowledged.)
        """
        client = redis_client(self.redis_url)

        def idle() -> bool:
            try:
                queued = client.llen(QUEUE) + client.hlen("unacked")
            except redis.RedisError:
                return False
            return queued == 0

        with suppress(AssertionError):
            wait_until(idle, timeout, "the queue to drain")


def rebind(**conf: Any) -> None:
    """Point the test process's Celery app at another broker.

    Celery caches its connection and producer pools on first use (eager tests
    create them for the in-memory broker), so both are dropped explicitly.
    """
    celery_app.close()
    celery_app.amqp._producer_pool = None
    celery_app.conf.update(**conf)


@contextmanager
def worker_running(
    settings: Any,
    log: Path,
    *,
    settings_module: str = "tests.settings",
    extra_env: dict[str, str] | None = None,
    redis_url: str = REDIS_URL,
) -> Iterator[Worker]:
    """A worker on an empty Redis database, for the duration of the block; the test
    process publishes to it meanwhile. ``redis_url``: a private Redis (tests/private_redis.py)
    for a test that restarts it."""
    redis_client(redis_url).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DINTERO_TEST_DB_DIRECT": "1",
        "DINTERO_TEST_DB_NAME": str(db["NAME"]),
        "DINTERO_TEST_SQLITE": str(db["NAME"]),
        "CELERY_BROKER_URL": redis_url,
        "DINTERO_TEST_OVERRIDES": json.dumps(settings.DINTERO),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    worker = Worker(env, log)
    saved = {"broker_url": celery_app.conf.broker_url, "task_always_eager": celery_app.conf.task_always_eager}
    rebind(broker_url=redis_url, task_always_eager=False)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        rebind(**saved)
