"""The battery's workers and Redis: the shared launcher (tests/celery_worker.py) with
the battery's settings, and a Redis restart for the chaos scenario. Worker logs go to
the battery's log folder (scanned for secrets).
"""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

from tests import celery_worker
from tests.celery_worker import QUEUE, REDIS_URL, ROOT, Worker, redis_client, wait_until

from .secrets import log_file

__all__ = ["QUEUE", "REDIS_URL", "ROOT", "Worker", "redis_client", "restart_redis", "worker_running"]


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


def worker_running(
    shop: Any,
    settings: Any,
    name: str,
    *,
    visibility_timeout: int = 3600,
    extra_env: dict[str, str] | None = None,
) -> AbstractContextManager[Worker]:
    """The shared launcher with the battery's settings (a short visibility timeout)
    and a log in the battery's log folder."""
    return celery_worker.worker_running(
        settings,
        log_file(f"worker-{name}-{os.getpid()}.log"),
        settings_module="tests.reliability.worker_settings",
        extra_env={"DINTERO_VISIBILITY_TIMEOUT": str(visibility_timeout), **(extra_env or {})},
    )
