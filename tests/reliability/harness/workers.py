"""The battery's workers: the shared launcher (tests/celery_worker.py) with the battery's
settings. Worker logs go to the battery's log folder (scanned for secrets). The chaos
scenario restarts a private Redis of its own (tests/private_redis.py), never the one at
DINTERO_TEST_REDIS.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import Any

from tests import celery_worker
from tests.celery_worker import QUEUE, REDIS_URL, ROOT, Worker, redis_client

from .secrets import log_file

__all__ = ["QUEUE", "REDIS_URL", "ROOT", "Worker", "redis_client", "worker_running"]


def worker_running(
    shop: Any,
    settings: Any,
    name: str,
    *,
    visibility_timeout: int = 3600,
    extra_env: dict[str, str] | None = None,
    redis_url: str = REDIS_URL,
) -> AbstractContextManager[Worker]:
    """The shared launcher with the battery's settings (a short visibility timeout)
    and a log in the battery's log folder."""
    return celery_worker.worker_running(
        settings,
        log_file(f"worker-{name}-{os.getpid()}.log"),
        settings_module="tests.reliability.worker_settings",
        extra_env={"DINTERO_VISIBILITY_TIMEOUT": str(visibility_timeout), **(extra_env or {})},
        redis_url=redis_url,
    )
