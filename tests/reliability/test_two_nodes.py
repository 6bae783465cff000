"""Two nodes (issue 19): two gunicorn instances and two celery workers, one PostgreSQL
(the test database) and one Redis (the scenario's own, tests/private_redis.py).

The storefront's customers are spread over both gunicorns at random, and each worker
builds its sessions' callback URLs with its own node's address, so callbacks reach both
nodes. Every process (both gunicorns, both workers, this one) shares the token cache, a
Redis cache: the whole fleet asks Dintero for one token per token lifetime.

First a clean phase (no faults) counts the token requests; then the end-to-end fault
scenario runs across the fleet (CI: 40 orders, nightly: 1,000) and must give the zeros.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from tests import celery_worker
from tests.celery_worker import ROOT, Worker, wait_until
from tests.private_redis import free_port, private_redis

from .harness import e2e, report
from .harness.config import rng, size
from .harness.secrets import log_file
from .test_e2e import compress, run

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.timeout(size(900, 3600))]

ORDERS = size(40, 1000, "DINTERO_TWO_NODES_ORDERS")
CLEAN_ORDERS = size(6, 20)
SETTINGS_MODULE = "tests.reliability.node_settings"


class Fleet:
    """What the e2e driver needs of a shop: a URL (a node chosen at random on every use)
    and the emulator's control."""

    def __init__(self, control: Any, urls: list[str], seed: int) -> None:
        self.control = control
        self.urls = urls
        self._pick = random.Random(seed)

    @property
    def url(self) -> str:
        return self._pick.choice(self.urls)


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/api/dintero/orders/", timeout=2).status_code < 500
    except requests.RequestException:
        return False


@contextmanager
def gunicorn(settings: Any, name: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = log_file(f"gunicorn-{name}-{os.getpid()}.log")
    command = [
        sys.executable, "-m", "gunicorn", "tests.reliability.harness.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
        "--error-logfile", str(log), "--log-level", "info", "--timeout", "60",
    ]  # fmt: skip
    node_env = {**env, "DINTERO_TEST_OVERRIDES": json.dumps({**settings.DINTERO, "SITE_URL": base})}
    with log.open("ab") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=node_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: server.poll() is None and _up(base), 90, f"gunicorn {name} to answer")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def token_requests(control: Any) -> dict[str, int]:
    entries = control.requests_log(operation="token")
    return {
        "delivered": sum(1 for e in entries if e["status"] == 200 and not e["fault"]),
        "all": len(entries),
    }


def test_two_nodes(shop: Any, settings: Any, tmp_path: Path) -> None:
    compress(shop, settings)
    with ExitStack() as stack:
        broker = stack.enter_context(private_redis(tmp_path))
        cache = broker.url.rsplit("/", 1)[0] + "/1"
        # This process shares the fleet's token cache too (staff and the reconciler run here).
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache}
        }
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DINTERO_TEST_DB_DIRECT": "1",
            "DINTERO_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            "CELERY_BROKER_URL": broker.url,
            "DINTERO_SHARED_CACHE": cache,
        }
        nodes = [stack.enter_context(gunicorn(settings, name, env)) for name in ("a", "b")]
        workers: list[Worker] = []
        for name, base in zip(("a", "b"), nodes, strict=True):
            settings.DINTERO = {**settings.DINTERO, "SITE_URL": base}  # its sessions call back here
            workers.append(
                stack.enter_context(
                    celery_worker.worker_running(
                        settings,
                        log_file(f"worker-node-{name}-{os.getpid()}.log"),
                        settings_module=SETTINGS_MODULE,
                        extra_env={"DINTERO_SHARED_CACHE": cache},
                        redis_url=broker.url,
                    )
                )
            )
        fleet = Fleet(shop.control, nodes, rng("two-nodes").randrange(2**31))
        clean = e2e.customers(
            fleet, CLEAN_ORDERS, rng("two-nodes-clean"), threads=4, deadline_s=120, repost_after=5
        )
        tokens_clean = token_requests(shop.control)
        hits = {
            base: sum(1 for c in shop.control.callbacks_log() if str(c["url"]).startswith(base))
            for base in nodes
        }
        figures = run(fleet, ORDERS, "two-nodes", drain=workers[0].drain, threads=6, repost_after=5)
        tokens_total = token_requests(shop.control)
    report.record(
        "two_nodes_tokens",
        clean_orders=CLEAN_ORDERS,
        clean_outcomes=dict(clean.outcomes),
        tokens_clean=tokens_clean,
        tokens_total=tokens_total,
        callbacks_per_node=list(hits.values()),
        orders=figures["orders"],
    )
    assert clean.errors == [], clean.errors[:5]
    assert all(hits.values()), hits  # both nodes took callbacks
    assert tokens_clean["delivered"] <= 1, tokens_clean
