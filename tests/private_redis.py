"""A private ``redis-server`` for tests that stop or restart Redis.

A test that shuts Redis down must never touch a Redis it did not start: the one at
``DINTERO_TEST_REDIS`` is usually the developer's own (127.0.0.1:6379). This one runs
on a free port, in a temporary folder, with persistence off, as a child process of the
test; it is stopped only through a connection whose server reports our child's pid.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """One redis-server child process; ``restart()`` keeps its port, loses its data."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def client(self) -> redis.Redis:
        # No retries: redis-py's default backoff would stretch a restart's downtime to seconds.
        return redis.Redis(
            host=HOST, port=self.port, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
        )

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed (Debian: apt-get install redis-server)"
        command = [
            server, "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self._wait_until_ours(timeout=30)
        return self

    def _wait_until_ours(self, timeout: float) -> None:
        """Until the server on our port answers with our child's pid."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited: {self.log_tail()}")
            try:
                if self.client().info("server")["process_id"] == self.process.pid:
                    return
            except redis.ConnectionError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start: {self.log_tail()}")

    def shutdown(self) -> None:
        """``SHUTDOWN NOSAVE`` to our own server (checked by pid): every message is lost."""
        assert self.process is not None and self.process.poll() is None
        client = self.client()
        assert client.info("server")["process_id"] == self.process.pid, "not our redis-server"
        client.shutdown(nosave=True)  # redis-py expects the connection to drop
        self.process.wait(timeout=30)

    def restart(self) -> float:
        """Shut down with nothing saved, start again on the same port; the downtime."""
        stopped = time.monotonic()
        self.shutdown()
        self.start()
        return time.monotonic() - stopped

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def log_tail(self) -> str:
        log = self.directory / "redis.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(directory).start()
    try:
        yield server
    finally:
        server.stop()
