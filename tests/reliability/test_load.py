"""Load: gunicorn + PostgreSQL, validly signed callbacks at a fixed 100 requests/s.

CI: 20 s (2,000 callbacks); nightly: 60 s (6,000), after 3 s of unmeasured warm-up.
Loopback only; the client is the open-loop one in harness/load.py (latency counted from
each request's due time). gunicorn runs 4 sync workers with persistent database
connections (tests/reliability/load_settings.py), client and server on the same 2 cores.
Criteria: 0 errors, one task per payment however many callbacks. The latency figures
(p50/p95/p99) are recorded in the battery's report, never asserted: a test asserts no
duration (the callback path's speed goals are bench/callback_throughput.py's). Then one
callback replayed 1,000 times (same delivery, Dintero's retries) must be one unit of
work: one stored delivery, one task.

The callback view only stores the delivery and queues a sync (to Redis; no worker runs
here, so the queue length is exactly the number of tasks queued).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from typing import Any

import pytest
from django.db import connection

from dintero_django.models import CallbackDelivery, Order, Payment
from tests.celery_worker import wait_until

from .harness import load, report
from .harness.config import rng, size
from .harness.secrets import log_file
from .harness.shopping import signed_url_and_header
from .harness.workers import QUEUE, REDIS_URL, ROOT, redis_client

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

RATE = int(os.environ.get("DINTERO_LOAD_RATE", "100"))
SECONDS = size(60, 60, "DINTERO_LOAD_SECONDS")
PAYMENTS = 300
REPLAYS = 1000
WORKERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _payments(count: int) -> list[Payment]:
    """Orders awaiting payment, written directly (no draft, no session: the view needs none)."""
    orders = Order.objects.bulk_create(
        Order(dintero_order_id=f"L{n:08d}", status=Order.Status.OPEN, completed=True) for n in range(count)
    )
    return Payment.objects.bulk_create(
        Payment(order=o, amount=1000, currency="NOK", session_id=f"T12345678.load{n:018d}",
                state=Payment.State.AWAITING)
        for n, o in enumerate(orders)
    )  # fmt: skip


def test_callbacks_at_fixed_rate_on_gunicorn(shop: Any, settings: Any) -> None:
    rnd = rng("load")
    client = redis_client()
    client.flushdb()
    payments = _payments(PAYMENTS + 1)
    replayed, targets = payments[0], payments[1:]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.reliability.load_settings",
        "DINTERO_TEST_DB_DIRECT": "1",
        "DINTERO_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": REDIS_URL,
        "DINTERO_TEST_OVERRIDES": json.dumps({**settings.DINTERO, "SITE_URL": base}),
    }
    log = log_file(f"gunicorn-{os.getpid()}.log")
    command = [
        sys.executable, "-m", "gunicorn", "tests.reliability.harness.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--worker-class", "sync",
        "--error-logfile", str(log), "--log-level", "info", "--timeout", "30",
    ]  # fmt: skip
    with log.open("ab") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _up(base), 60, "gunicorn to answer")
        import gunicorn

        def callback(index: int) -> tuple[str, dict[str, str]]:
            payment = targets[rnd.randrange(len(targets))]
            params = {
                "transaction_id": f"T12345678.tx{payment.pk:016d}",
                "session_id": str(payment.session_id),
                "merchant_reference": f"L{payment.pk}",
            }
            url, headers = signed_url_and_header(base, params)
            return url, {**headers, "event-delivery": str(uuid.uuid4())}

        # Warm-up, not measured: each worker's first requests open its database and Redis
        # connections and fill Django's lazy caches.
        load.open_loop(callback, rate=20, seconds=3)
        steady = load.open_loop(callback, rate=RATE, seconds=SECONDS)
        hit = Payment.objects.filter(pk__in=[p.pk for p in targets], sync_pending=True).count()
        tasks_after_load = client.llen(QUEUE)

        params = {"transaction_id": "T12345678.replayed", "session_id": str(replayed.session_id),
                  "merchant_reference": "replayed"}  # fmt: skip
        url, headers = signed_url_and_header(base, params)
        delivery = str(uuid.uuid4())
        replay = load.open_loop(
            lambda _: (url, {**headers, "event-delivery": delivery}),
            rate=RATE * 5,
            seconds=REPLAYS / (RATE * 5),
        )
        tasks_after_replay = client.llen(QUEUE)
        stored = CallbackDelivery.objects.filter(event_delivery=delivery).count()
    finally:
        server.terminate()
        server.wait(timeout=30)

    figures = load.summary(steady)
    report.record(
        "load",
        gunicorn=gunicorn.__version__,
        workers=WORKERS,
        rate=RATE,
        seconds=SECONDS,
        **figures,
        payments_hit=hit,
        tasks_queued=tasks_after_load,
        replays=replay.sent,
        replay_errors=replay.errors,
        replay_p99_ms=round(replay.percentile(0.99) * 1000, 1),
        replay_stored=stored,
        replay_tasks=tasks_after_replay - tasks_after_load,
    )
    assert steady.sent == int(RATE * SECONDS) and steady.errors == 0, figures
    assert tasks_after_load == hit, "one task per payment, however many callbacks"
    assert replay.sent == REPLAYS and replay.errors == 0
    assert stored == 1 and tasks_after_replay - tasks_after_load == 1, "one unit of work, one task"


def _up(base: str) -> bool:
    import requests

    try:
        return requests.get(f"{base}/dintero/callback/", timeout=2).status_code in (400, 503)
    except requests.RequestException:
        return False
