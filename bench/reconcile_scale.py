"""The reconciler at scale: one pass over a large shop, its time, queries and remote calls.

    .venv/bin/python bench/reconcile_scale.py [--sizes 0,88800] [--abandoned 10000]
        [--authorized 1000] [--operations 200]

For each size the database is built afresh (PostgreSQL) with the same **open work**:

- ``--abandoned`` abandoned checkouts: a payment ``awaiting`` on a real emulator session
  that nobody paid, created two days ago; the emulator's clock is then moved past the
  sessions' lifetime (24 h), so each is expired at Dintero;
- ``--authorized`` payments authorized and not captured (real emulator transactions),
  recorded in the Orders API, last read seven hours ago (due for the revisit that finds
  Backoffice moves whose callback was lost);
- ``--operations`` captures answered ``202 Accepted`` and not completed yet (open
  operations on real transactions), read recently;

plus ``size`` settled orders (history: paid, captured in full, recorded, 60 days old)
that the reconciler must not touch. The tables are then vacuumed and analyzed (as
autovacuum keeps a live shop's). ``--sizes 0,88800`` compares a shop of 11,200 orders
(the open work alone) with one of 100,000.

Then one reconciler pass (``services.reconcile.reconcile(time_limit=3600)``) runs in
this process, against the emulator in its own process **without** added latency (at
150 ms a call, the remote calls alone would take their number x 0.15 s).
Printed per pass: wall time, SQL queries and remote calls by operation (both
counted in this process) and the pass's counters; with ``--passes 2`` a second pass
right after the first shows what is read again for nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support

COMMAND = ".venv/bin/python bench/reconcile_scale.py"
THREADS = 8  # sessions created in parallel while building the data (not measured)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="0,88800", help="settled orders besides the open work")
    parser.add_argument("--abandoned", type=int, default=10000)
    parser.add_argument("--authorized", type=int, default=1000)
    parser.add_argument("--operations", type=int, default=200)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    import os

    os.environ.setdefault("BENCH_DB", "dintero_bench_reconcile")
    support.setup_django(BENCH_EAGER="1", CELERY_BROKER_URL="memory://")
    command = COMMAND + " " + " ".join(sys.argv[1:])
    support.header("Reconciler at scale: one pass, time, queries, remote calls", command)
    import tempfile

    logdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    emulator, emulator_url = support.start_emulator(logdir)
    from django.conf import settings

    settings.DINTERO = {
        **settings.DINTERO,
        "API_URL": emulator_url,
        "CHECKOUT_URL": emulator_url,
        "SITE_URL": "https://shop.example.com",
    }
    results = []
    with support.stopping(emulator):
        for size in [int(s) for s in args.sizes.split(",")]:
            support.recreate_database(os.environ["BENCH_DB"])
            from dintero_django.client import reset
            from dintero_django.emulator.client import EmulatorControl

            reset()
            with EmulatorControl(emulator_url) as control:
                control.reset()
                started = time.monotonic()
                settled(size)
                open_work(control, args.abandoned, args.authorized, args.operations)
                control.advance_clock(26 * 3600)  # past the sessions' 24 h lifetime
                vacuum()
                total = orders_count()
                print(f"{total:,} orders built in {time.monotonic() - started:.0f} s (load {support.load()})")
                for number in range(1, args.passes + 1):
                    figures = one_pass(control) | {"orders": total, "pass": number}
                    show(figures)
                    results.append(figures)
    summary(results)
    return 0


def vacuum() -> None:
    """What autovacuum does in a live shop: the bulk UPDATEs above left every old index
    entry behind, which a shop that changes its rows one at a time does not have."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("dintero_django_order", "dintero_django_payment", "dintero_django_operation"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def orders_count() -> int:
    from dintero_django.models import Order

    return Order.objects.count()


# -- the data -------------------------------------------------------------------------


def settled(count: int) -> None:
    """``count`` orders of history: paid, captured in full, recorded, 60 days old."""
    if not count:
        return
    from django.db import connection
    from django.utils import timezone

    from dintero_django.models import Operation, Order, Payment
    from tests.perf.data import TOTAL, populate

    populate(count)
    old = timezone.now() - timedelta(days=60)
    # populate() makes a live shop (drafts, open sessions, uncaptured authorizations):
    # settle all of it, as history is.
    Payment.objects.exclude(state=Payment.State.AUTHORIZED).update(state=Payment.State.CANCELLED)
    Payment.objects.filter(state=Payment.State.AUTHORIZED).update(
        status="CAPTURED", captured_amount=TOTAL, last_synced_at=old
    )
    Order.objects.filter(status=Order.Status.DRAFT).update(status=Order.Status.CANCELLED)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE dintero_django_order SET created_at = %s, updated_at = %s", [old, old])
        cursor.execute("UPDATE dintero_django_payment SET created_at = %s, updated_at = %s", [old, old])
        cursor.execute("UPDATE dintero_django_operation SET created_at = %s, updated_at = %s", [old, old])
    assert not Operation.objects.exclude(state=Operation.State.SUCCEEDED).exists()


def session_body(reference: str) -> dict[str, Any]:
    from tests.perf.data import LINES, TOTAL

    return {
        "profile_id": "P12345678.default",
        "url": {"return_url": "https://shop.example.com/dintero/return/"},
        "order": {
            "amount": TOTAL,
            "currency": "NOK",
            "merchant_reference": reference,
            "vat_amount": 0,
            "items": [
                {
                    "id": product or str(number),
                    "line_id": str(number),
                    "description": text,
                    "quantity": quantity,
                    "amount": quantity * unit,
                    "vat_amount": 0,
                    "vat": 0,
                }
                for number, (product, text, quantity, unit) in enumerate(LINES, start=1)
            ],
        },
    }


def open_work(control: Any, abandoned: int, authorized: int, operations: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from dintero_django.client import CheckoutClient
    from dintero_django.models import Operation, Order, OrderLine, Payment
    from tests.perf.data import LINES, TOTAL, order_id

    count = abandoned + authorized + operations
    references = [order_id(900_000_000 + n) for n in range(count)]
    client = CheckoutClient()
    with ThreadPoolExecutor(THREADS) as pool:
        sessions = list(pool.map(lambda ref: client.create_session(session_body(ref)), references))
    paid_from = abandoned
    transactions: dict[int, str] = {}
    for n in range(paid_from, count):
        result = control.pay(str(sessions[n]["id"]), "AUTHORIZED")
        transactions[n] = str(result["transaction_id"])
    orders = Order.objects.bulk_create(
        Order(
            public_id=uuid.uuid4(),
            guest_key=f"open-{n}",
            currency="NOK",
            status=Order.Status.OPEN,
            email=f"open{n}@example.com",
            revision=1,
            synced_revision=1,
            dintero_draft_id=f"draft-open-{n}",
            dintero_order_id=references[n],
            dintero_order_uuid=str(uuid.uuid4()),
            completed=True,
            placed_at=timezone.now(),
        )
        for n in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            line_id=number,
            product_id=product,
            description=text,
            quantity=quantity,
            unit_amount=unit,
            amount=quantity * unit,
        )
        for order in orders
        for number, (product, text, quantity, unit) in enumerate(LINES, start=1)
    )
    now = timezone.now()
    # Created two days ago with Dintero's default lifetime (24 h): expired a day ago.
    lifetime = {"expires_at": now - timedelta(days=1)} if _has_field(Payment, "expires_at") else {}
    payments = Payment.objects.bulk_create(
        Payment(
            order=order,
            state=Payment.State.AUTHORIZED if n in transactions else Payment.State.AWAITING,
            status="AUTHORIZED" if n in transactions else "",
            amount=TOTAL,
            currency="NOK",
            session_id=str(sessions[n]["id"]),
            session_url=str(sessions[n]["url"]),
            transaction_id=transactions.get(n),
            authorized_amount=TOTAL if n in transactions else 0,
            last_synced_at=now if n in transactions else None,
            raw={},
            **lifetime,
        )
        for n, order in enumerate(orders)
    )
    done = Operation.State.SUCCEEDED
    ops = []
    for n, (order, payment) in enumerate(zip(orders, payments, strict=True)):
        ops.append(Operation(kind=Operation.Kind.CREATE_SESSION, state=done, order=order, payment=payment))
        if n in transactions:
            ops.append(
                Operation(kind=Operation.Kind.RECORD_AUTHORIZATION, state=done, order=order, payment=payment)
            )
        if n >= abandoned + authorized:
            ops.append(
                Operation(
                    kind=Operation.Kind.CAPTURE,
                    state=Operation.State.ACCEPTED,
                    order=order,
                    payment=payment,
                    amount=TOTAL,
                    attempts=1,
                )
            )
    Operation.objects.bulk_create(ops)
    # The sync reads the transaction once to fill raw; do it now, outside the measurement.
    from dintero_django.services.mirror import apply_transaction

    for payment in payments:
        if payment.transaction_id:
            apply_transaction(payment.pk, client.get_transaction(str(payment.transaction_id)))
    two_days = now - timedelta(days=2)
    seven_hours = now - timedelta(hours=7)
    first = orders[0].pk
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dintero_django_order SET created_at = %s, updated_at = %s WHERE id >= %s",
            [two_days, two_days, first],
        )
        cursor.execute(
            "UPDATE dintero_django_payment SET created_at = %s, updated_at = %s WHERE order_id >= %s",
            [two_days, two_days, first],
        )
        cursor.execute(
            "UPDATE dintero_django_operation SET created_at = %s, updated_at = %s WHERE order_id >= %s",
            [two_days, two_days, first],
        )
        cursor.execute(
            "UPDATE dintero_django_payment SET last_synced_at = %s WHERE order_id >= %s AND order_id < %s",
            [seven_hours, orders[abandoned].pk, orders[abandoned + authorized].pk],
        )


def _has_field(model: Any, name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())


# -- the pass ------------------------------------------------------------------------------


def one_pass(control: Any) -> dict[str, Any]:
    """One reconciler pass, its queries and remote calls counted in this process (the
    emulator's request log and Django's query log both keep only their last entries)."""
    from django.db import connection

    from dintero_django.client import base
    from dintero_django.services.reconcile import reconcile

    queries = 0
    calls: Counter[str] = Counter()

    def count_query(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    original = base.BaseClient._http

    def count_call(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        calls[operation(method, url)] += 1
        return original(self, method, url, **kwargs)

    load_before = support.load()
    base.BaseClient._http = count_call  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(count_query):
            started = time.monotonic()
            counters = reconcile(time_limit=3600)
            wall = time.monotonic() - started
    finally:
        base.BaseClient._http = original  # type: ignore[method-assign]
    return {
        "wall_s": wall,
        "queries": queries,
        "calls": calls,
        "counters": counters,
        "load": f"{load_before} -> {support.load()}",
    }


def operation(method: str, url: str) -> str:
    """The emulator's operation name of a Checkout / Orders API call."""
    path = url.split("?", 1)[0]
    if path.endswith("/auth/token"):
        return "token"
    if "/sessions/" in path:
        return "session_get" if method == "GET" else f"session_{method.lower()}"
    if "/transactions" in path:
        if method != "GET":
            return path.rsplit("/", 1)[-1]  # capture, refund, void
        return "transaction_get" if "/transactions/" in path else "transaction_list"
    return f"{method} {path.split('/v1/', 1)[-1]}"


def show(figures: dict[str, Any]) -> None:
    calls = figures["calls"]
    print(
        f"{figures['orders']:>7,} orders, pass {figures['pass']}: {figures['wall_s']:.1f} s, "
        f"{figures['queries']:,} queries, {sum(calls.values()):,} remote calls "
        f"({', '.join(f'{op} {n:,}' for op, n in sorted(calls.items()))}); load {figures['load']}"
    )
    print(f"        counters {figures['counters']}")


def summary(results: list[dict[str, Any]]) -> None:
    print()
    print("| orders | pass | wall s | queries | remote calls | by operation | load |")
    print("| ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for r in results:
        calls = r["calls"]
        by_op = ", ".join(f"{op} {n:,}" for op, n in sorted(calls.items()))
        print(
            f"| {r['orders']:,} | {r['pass']} | {r['wall_s']:.1f} | {r['queries']:,} | "
            f"{sum(calls.values()):,} | {by_op} | {r['load']} |"
        )
    firsts = [r for r in results if r["pass"] == 1]
    if len(firsts) >= 2:
        small, large = firsts[0], firsts[-1]
        calls = sum(large["calls"].values()) / max(1, sum(small["calls"].values()))
        print(
            f"first pass at {large['orders']:,} / at {small['orders']:,} orders: "
            f"wall {large['wall_s'] / small['wall_s']:.2f}x, "
            f"queries {large['queries'] / small['queries']:.2f}x, remote calls {calls:.2f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
