"""The worker tier: a real ``celery worker`` process over Redis (tests/celery_worker.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.celery_worker import Worker, worker_running


@pytest.fixture
def celery_worker_process(shop: Any, settings: Any, tmp_path: Path) -> Iterator[Worker]:
    with worker_running(settings, tmp_path / "worker.log") as worker:
        try:
            yield worker
        finally:
            # The worker's own account of the test, shown when it fails.
            print(worker.log.read_text(errors="replace")[-4000:])
