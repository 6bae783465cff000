"""Where a callback's time goes: its steps timed one by one, in one process.

    .venv/bin/python bench/callback_cost.py [--orders 10000] [--repeat 300]

bench/callback_throughput.py compares the whole callback path with a minimal
view under load; this explains the ratio. On the bench database (PostgreSQL,
``--orders`` realistic orders, Redis broker, no worker), each step the callback
view takes is run ``--repeat`` times on its own, then the whole view through
Django's test client (middleware included), then the minimal view. Figures are
the mean wall time per call, in milliseconds, with the database's share of it
(time spent waiting for PostgreSQL, from a ``connection.execute_wrapper``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support

COMMAND = ".venv/bin/python bench/callback_cost.py"


class DatabaseClock:
    """Adds up the time spent inside ``cursor.execute`` (our side plus PostgreSQL's)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


@contextmanager
def timed(label: str, calls: int) -> Iterator[None]:
    from django.db import connection

    clock = DatabaseClock()
    started = time.perf_counter()
    with connection.execute_wrapper(clock):
        yield
    total = (time.perf_counter() - started) / calls * 1000
    database = clock.seconds / calls * 1000
    print(f"| {label} | {total:.2f} | {database:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()

    os.environ.setdefault("BENCH_DB", "dintero_bench_cost")
    support.setup_django(BENCH_EAGER="0")
    support.header("Where a callback's time goes (one process, PostgreSQL, Redis)", COMMAND)
    from django.conf import settings

    support.recreate_database(os.environ["BENCH_DB"])
    from tests.perf.data import populate

    populate(args.orders)
    support.flush_redis(str(settings.CELERY_BROKER_URL))
    settings.DINTERO = {**settings.DINTERO, "SITE_URL": "http://testserver"}
    print(f"{args.orders:,} orders in the database; {args.repeat} calls per step (after one warm-up)")
    print()
    print("| step | ms per call | of which in the database |")
    print("| --- | ---: | ---: |")
    steps(args.repeat)
    support.flush_redis(str(settings.CELERY_BROKER_URL))
    return 0


def steps(repeat: int) -> None:
    from django.db import connection
    from django.test import Client

    from dintero_django.models import CallbackDelivery, Payment
    from dintero_django.tasks import sync_payment_task

    payments = list(
        Payment.objects.filter(transaction_id__isnull=False).select_related("order")[: 2 * repeat + 2]
    )
    if len(payments) < 2 * repeat + 2:
        raise SystemExit(f"need {2 * repeat + 2} paid orders: raise --orders or lower --repeat")
    Payment.objects.update(sync_pending=False)
    sample, rest = payments[1 : repeat + 1], payments[repeat + 1 :]

    def each(label: str, step: Callable[[Payment], object]) -> None:
        step(payments[0])  # warm-up: connection, query compilation caches
        with timed(label, repeat):
            for payment in sample:
                step(payment)

    each("round trip (`SELECT 1`)", lambda p: connection.cursor().execute("SELECT 1"))
    # The floor of any durable callback: the smallest row there is, committed (fsync).
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_smallest_write (x integer)")
    each(
        "smallest durable write (one-integer INSERT, commit)",
        lambda p: connection.cursor().execute("INSERT INTO bench_smallest_write VALUES (1)"),
    )
    each(
        "find the payment (by session_id)",
        lambda p: Payment.objects.filter(session_id=p.session_id).only("pk", "sync_pending").first(),
    )
    each(
        "store the delivery (INSERT, commit)",
        lambda p: CallbackDelivery.objects.create(
            method="GET", query={"transaction_id": p.transaction_id}, headers={},
            event_delivery=str(uuid.uuid4()), outcome="accepted", payment=p,
            transaction_id=str(p.transaction_id),
        ),
    )  # fmt: skip
    each(
        "claim the sync (conditional UPDATE, commit)",
        lambda p: Payment.objects.filter(pk=p.pk, sync_pending=False).update(sync_pending=True),
    )
    each("publish the task to Redis (Celery)", lambda p: sync_payment_task.delay(p.pk, None, None))
    Payment.objects.update(sync_pending=False)

    client = Client()
    stamp = int(time.time())
    requests = [support.signed_callback(p, stamp) for p in rest]
    client.get(requests[-1][0], HTTP_DINTERO_SIGNATURE=requests[-1][1], HTTP_EVENT_DELIVERY=str(uuid.uuid4()))
    with timed("**the callback view** (test client, whole middleware stack)", repeat):
        for target, signature in requests[:repeat]:
            response = client.get(
                target, HTTP_DINTERO_SIGNATURE=signature, HTTP_EVENT_DELIVERY=str(uuid.uuid4())
            )
            assert response.status_code == 200, response.content
    client.get("/bench/minimal/")
    with timed("the minimal view (test client)", repeat):
        for _ in range(repeat):
            client.get("/bench/minimal/")


if __name__ == "__main__":
    raise SystemExit(main())
