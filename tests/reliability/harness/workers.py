"""Real ``celery worker`` processes over Redis for the battery: start, kill, restart, drain.

Like tests/worker/conftest.py (whose ``wait_until`` it uses) but able to kill a pool
process or the whole worker with SIGKILL, restart it, restart Redis, and wait until the
queue is drained. Worker logs go to the battery's log folder (scanned for secrets).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from django.db import connection

from example_project.celery import app as celery_app
from tests.worker.conftest import wait_until

from .secrets import log_file

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("DINTERO_TEST_REDIS", "redis://127.0.0.1:6379/15")
QUEUE = "celery"


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def redis_port() -> int:
    return urlsplit(REDIS_URL).port or 6379


def restart_redis() -> float:
    """``redis-cli shutdown nosave``, then start it again as CI does; returns the downtime."""
    port = str(redis_port())
    stopped = time.monotonic()
    subprocess.run(
        ["redis-cli", "-p", port, "shutdown", "nosave"], capture_output=True, check=False, timeout=30
    )
    wait_until(
        lambda: (
            subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True, check=False).returncode
            != 0
        ),
        30,
        "redis to stop",
    )
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", port, "--save", "",
         "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
        check=True, timeout=30,
    )  # fmt: skip
    wait_until(
        lambda: (
            subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True, check=False).returncode
            == 0
        ),
        30,
        "redis to start",
    )
    return time.monotonic() - stopped


class Worker:
    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 2) -> None:
        self.env = env
        self.log = log
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "example_project", "worker",
            "--concurrency", str(self.concurrency), "--pool", "prefork", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"battery{self.starts}@%h",
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
            text.seek(mark)
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
        client = redis_client()

        def idle() -> bool:
            try:
                queued = client.llen(QUEUE) + client.hlen("unacked")
            except redis.RedisError:
                return False
            return queued == 0

        with suppress(AssertionError):
            wait_until(idle, timeout, "the queue to drain")


@contextmanager
def worker_running(
    shop: Any,
    settings: Any,
    name: str,
    *,
    visibility_timeout: int = 3600,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Worker]:
    redis_client().flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings",
        "DINTERO_TEST_DB_DIRECT": "1",
        "DINTERO_TEST_DB_NAME": str(db["NAME"]),
        "DINTERO_TEST_SQLITE": str(db["NAME"]),
        "CELERY_BROKER_URL": REDIS_URL,
        "DINTERO_TEST_OVERRIDES": json.dumps(settings.DINTERO),
        "DINTERO_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    worker = Worker(env, log_file(f"worker-{name}-{os.getpid()}.log"))
    saved = {"broker_url": celery_app.conf.broker_url, "task_always_eager": celery_app.conf.task_always_eager}
    rebind(broker_url=REDIS_URL, task_always_eager=False)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        rebind(**saved)


def rebind(**conf: Any) -> None:
    """Point the test process's Celery app at another broker (its connection and
    producer pools are cached on first use, so both are dropped)."""
    celery_app.close()
    celery_app.amqp._producer_pool = None
    celery_app.conf.update(**conf)
