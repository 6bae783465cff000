"""End to end with a real Celery worker: N orders paid -> authorized (and recorded).

    .venv/bin/python bench/end_to_end.py [--orders 1000] [--sizes 100,10000] [--runs 2]

Processes, as in production: the emulator (its own process, standing in for
Dintero), gunicorn (2 sync workers) receiving the callbacks, a ``celery worker``
(prefork, concurrency 2) over Redis running the syncs, PostgreSQL.

For each database size (orders already there, realistic rows from
tests/perf/data.py) and each run: ``--orders`` orders are created and their
checkout sessions opened by this process (tasks in-process, before the clock
starts), then paid on the emulator with their callbacks held back
(``delay_callback``); the emulator's clock is then advanced so all callbacks go
out at once, one after the other, as the emulator's single delivery thread sends
them. Measured per order, from the database's own timestamps: callback received
(``CallbackDelivery.received_at``) -> payment authorized (``last_synced_at`` of
the sync that applied it) -> authorization recorded in the Orders API
(``completed_at`` of its ledger row); orders per second from the first callback
to the last recorded authorization; CPU seconds of the gunicorn and worker
process trees per order; remote calls, token requests and connections of the
worker during the run (emulator request log); peak RSS of web and worker.

A burst queues ~1,000 syncs at once, so its latencies are mostly queueing. Then,
per size, ``--paced`` orders are paid one at a time (callback sent at once, the
next order once the previous authorization is recorded): the latency one paid
order sees on an otherwise idle system.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support

COMMAND = ".venv/bin/python bench/end_to_end.py"
HOLD = 60  # seconds of (virtual) callback delay: callbacks wait until the clock is advanced
LINES = [
    ("chair", "Stacking chair", 2, 19900),
    ("table", "Garden table", 1, 49900),
    ("", "Shipping", 1, 9900),
]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--sizes", default="100,10000", help="orders already in the database")
    parser.add_argument("--runs", type=int, default=2, help="runs per size")
    parser.add_argument("--paced", type=int, default=50, help="orders paid one at a time, per size")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    os.environ.setdefault("BENCH_DB", "dintero_bench_e2e")
    support.setup_django(BENCH_EAGER="1")  # this process prepares orders with in-process tasks
    support.header(f"End to end: {args.orders} orders paid -> authorized, real celery worker", COMMAND)
    from django.conf import settings

    support.recreate_database(os.environ["BENCH_DB"])
    broker = str(settings.CELERY_BROKER_URL)
    support.flush_redis(broker)
    support.flush_redis(settings.CACHES["default"]["LOCATION"])
    logdir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    emulator, emulator_url = support.start_emulator(logdir)
    remote = {"API_URL": emulator_url, "CHECKOUT_URL": emulator_url}
    import json

    env = support.bench_env(
        BENCH_DB=os.environ["BENCH_DB"], BENCH_EAGER="0", BENCH_DINTERO=json.dumps(remote)
    )
    with support.stopping(emulator):
        web, web_url = support.start_gunicorn(logdir, env)
        worker = support.start_celery_worker(logdir, env)
        settings.DINTERO = {**settings.DINTERO, **remote, "SITE_URL": web_url, "CALLBACK_DELAY": HOLD}
        from dintero_django.client import reset

        reset()
        print(f"emulator {emulator_url}, gunicorn {web_url}, celery worker {worker.pid}; logs in {logdir}")
        print()
        results: list[dict[str, Any]] = []
        paced: list[dict[str, Any]] = []
        with (
            support.stopping(web, worker),
            support.MemoryWatch(web.pid) as web_memory,
            support.MemoryWatch(worker.pid) as worker_memory,
        ):
            from tests.perf.data import populate

            present = 0
            for size in sizes:
                populate(size - present)
                present = size
                for run in range(1, args.runs + 1):
                    figures = one_run(args.orders, emulator_url, web.pid, worker.pid)
                    figures |= {"size": size, "run": run}
                    results.append(figures)
                    show(figures)
                    remove_run_orders()
                if args.paced:
                    paced.append(paced_run(args.paced, emulator_url) | {"size": size})
                    show_paced(paced[-1])
                    remove_run_orders()
        summary(results, sizes, web_memory, worker_memory)
    return 0


def prepare(count: int) -> list[Any]:
    """Orders with drafts, completed, and an open session each (in this process)."""
    from dintero_django.models import Payment
    from dintero_django.services.checkout import start_checkout
    from dintero_django.services.orders import LineInput, create_order

    payments = []
    for _ in range(count):
        lines = [LineInput(description=d, quantity=q, unit_amount=u, product_id=p) for p, d, q, u in LINES]
        order = create_order(lines, email="buyer@example.com", shop_reference="bench-run")
        payments.append(start_checkout(order.pk))
    assert Payment.objects.filter(pk__in=[p.pk for p in payments], state="awaiting").count() == count
    return payments


def one_run(count: int, emulator_url: str, web_pid: int, worker_pid: int) -> dict[str, Any]:
    from dintero_django.emulator.client import EmulatorControl
    from dintero_django.models import Payment

    control = EmulatorControl(emulator_url)
    started = time.monotonic()
    payments = prepare(count)
    prepared_in = time.monotonic() - started
    for payment in payments:
        control.pay(str(payment.session_id), "AUTHORIZED")
    seq = max([int(e["seq"]) for e in control.requests_log()] or [0])
    cpu_before = cpu_seconds(web_pid), cpu_seconds(worker_pid)
    load_before = support.load()
    released = time.monotonic()
    control.advance_clock(HOLD + 1)
    pks = [p.pk for p in payments]
    support.wait_until(
        lambda: recorded(pks) == count, 600, f"{count} authorizations recorded (now {recorded(pks)})"
    )
    wall = time.monotonic() - released
    cpu_after = cpu_seconds(web_pid), cpu_seconds(worker_pid)
    control.wait_callbacks(timeout=60)
    log = control.requests_log(since=seq)
    control.close()
    timeline = timestamps(pks)
    received = [t["received"] for t in timeline]
    authorized = [t["authorized"] - t["received"] for t in timeline]
    recorded_after = [t["recorded"] - t["received"] for t in timeline]
    span = max(t["recorded"] for t in timeline) - min(received)
    assert Payment.objects.filter(pk__in=pks, state="authorized").count() == count
    return {
        "orders": count,
        "prepared_s": prepared_in,
        "wall_s": wall,
        "span_s": span,
        "callbacks_s": max(received) - min(received),
        "orders_per_s": count / span,
        "auth_p50": support.percentile(authorized, 50) * 1000,
        "auth_p95": support.percentile(authorized, 95) * 1000,
        "rec_p50": support.percentile(recorded_after, 50) * 1000,
        "rec_p95": support.percentile(recorded_after, 95) * 1000,
        "web_cpu_ms": (cpu_after[0] - cpu_before[0]) / count * 1000,
        "worker_cpu_ms": (cpu_after[1] - cpu_before[1]) / count * 1000,
        "calls": Counter(str(e["operation"]) for e in log),
        "connections": len({e.get("connection", e.get("connection_id")) for e in log}),
        "load": f"{load_before} -> {support.load()}",
    }


def paced_run(count: int, emulator_url: str) -> dict[str, Any]:
    """Orders paid one at a time, each callback sent at once (no hold), the next one
    only once the previous authorization is recorded: what one paid order waits on an
    otherwise idle system, without the queue of a burst."""
    from django.conf import settings

    from dintero_django.emulator.client import EmulatorControl

    held = settings.DINTERO
    settings.DINTERO = {**held, "CALLBACK_DELAY": None}
    try:
        payments = prepare(count)
    finally:
        settings.DINTERO = held
    control = EmulatorControl(emulator_url)
    for payment in payments:
        control.pay(str(payment.session_id), "AUTHORIZED")
        pk = payment.pk
        support.wait_until(lambda pk=pk: recorded([pk]) == 1, 60, f"payment {pk} recorded")
    control.close()
    timeline = timestamps([p.pk for p in payments])
    authorized = [t["authorized"] - t["received"] for t in timeline]
    recorded_after = [t["recorded"] - t["received"] for t in timeline]
    return {
        "orders": count,
        "auth_p50": support.percentile(authorized, 50) * 1000,
        "auth_p95": support.percentile(authorized, 95) * 1000,
        "rec_p50": support.percentile(recorded_after, 50) * 1000,
        "rec_p95": support.percentile(recorded_after, 95) * 1000,
        "load": support.load(),
    }


def show_paced(figures: dict[str, Any]) -> None:
    print(
        f"{figures['size']:>6,} orders in DB, {figures['orders']} orders one at a time: "
        f"received->authorized p50 {figures['auth_p50']:.0f} ms p95 {figures['auth_p95']:.0f} ms; "
        f"received->recorded p50 {figures['rec_p50']:.0f} ms p95 {figures['rec_p95']:.0f} ms; "
        f"load {figures['load']}"
    )


def recorded(pks: list[int]) -> int:
    from dintero_django.models import Operation

    return Operation.objects.filter(
        payment_id__in=pks, kind="record_authorization", state="succeeded"
    ).count()


def timestamps(pks: list[int]) -> list[dict[str, float]]:
    from django.db.models import Min

    from dintero_django.models import CallbackDelivery, Operation, Payment

    received = dict(
        CallbackDelivery.objects.filter(payment_id__in=pks)
        .values("payment_id")
        .annotate(first=Min("received_at"))
        .values_list("payment_id", "first")
    )
    authorized = dict(Payment.objects.filter(pk__in=pks).values_list("pk", "last_synced_at"))
    recorded_at = dict(
        Operation.objects.filter(payment_id__in=pks, kind="record_authorization").values_list(
            "payment_id", "completed_at"
        )
    )

    def seconds(value: Any) -> float:
        assert value is not None
        return float(value.timestamp())

    return [
        {
            "received": seconds(received[pk]),
            "authorized": seconds(authorized[pk]),
            "recorded": seconds(recorded_at[pk]),
        }
        for pk in pks
    ]


def remove_run_orders() -> None:
    """Keep the database at its nominal size between runs."""
    from dintero_django.models import CallbackDelivery, Operation, Order, Payment

    orders = Order.objects.filter(shop_reference="bench-run")
    CallbackDelivery.objects.filter(payment__order__in=orders).delete()
    Operation.objects.filter(order__in=orders, parent__isnull=False).delete()
    Operation.objects.filter(order__in=orders).delete()
    Payment.objects.filter(order__in=orders).delete()
    orders.delete()


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process tree (live processes and their waited-for children)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in support.tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 (1-based); [0] here is field 3.
        total += sum(int(value) for value in fields[11:15]) / ticks
    return total


def show(figures: dict[str, Any]) -> None:
    calls = figures["calls"]
    per_order = ", ".join(f"{op} {n / figures['orders']:.2f}" for op, n in sorted(calls.items()))
    print(
        f"{figures['size']:>6,} orders in DB, run {figures['run']}: {figures['orders_per_s']:.1f} orders/s "
        f"(first callback -> last record {figures['span_s']:.1f} s; callbacks delivered over "
        f"{figures['callbacks_s']:.1f} s); received->authorized p50 {figures['auth_p50']:.0f} ms "
        f"p95 {figures['auth_p95']:.0f} ms; received->recorded p50 {figures['rec_p50']:.0f} ms "
        f"p95 {figures['rec_p95']:.0f} ms; CPU per order: web {figures['web_cpu_ms']:.1f} ms, "
        f"worker {figures['worker_cpu_ms']:.1f} ms; load {figures['load']}"
    )
    print(
        f"        remote calls per order during the run: {per_order}; "
        f"connections {figures['connections']}; token requests {calls.get('token', 0)}"
    )


def summary(
    results: list[dict[str, Any]],
    sizes: list[int],
    web_memory: support.MemoryWatch,
    worker_memory: support.MemoryWatch,
) -> None:
    print()
    if results:
        table(results, sizes)
    print(f"web (gunicorn master + 2 workers): {web_memory.describe()}")
    print(f"celery worker (main + 2 children): {worker_memory.describe()}")


def table(results: list[dict[str, Any]], sizes: list[int]) -> None:
    print("| figure | " + " | ".join(f"{s:,} orders in DB" for s in sizes) + " |")
    print("| --- | " + " | ".join("---" for _ in sizes) + " |")
    rows = [
        ("orders/s", "orders_per_s"),
        ("received -> authorized p50, ms", "auth_p50"),
        ("received -> authorized p95, ms", "auth_p95"),
        ("received -> recorded p50, ms", "rec_p50"),
        ("received -> recorded p95, ms", "rec_p95"),
        ("wall s per 1,000 orders", "per_1000"),
        ("worker CPU ms per order", "worker_cpu_ms"),
        ("web CPU ms per order", "web_cpu_ms"),
    ]
    for result in results:
        result["per_1000"] = result["span_s"] / result["orders"] * 1000
    for label, key in rows:
        cells = [support.spread([r[key] for r in results if r["size"] == s]) for s in sizes]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if len(sizes) >= 2:
        first, last = sizes[0], sizes[-1]
        for label, key in (("wall", "per_1000"), ("worker CPU", "worker_cpu_ms")):
            small = sorted(r[key] for r in results if r["size"] == first)
            large = sorted(r[key] for r in results if r["size"] == last)
            ratio = large[len(large) // 2] / small[len(small) // 2]
            print(f"per-order {label} cost at {last:,} / at {first:,}: {ratio:.2f}x (medians)")
    print()


if __name__ == "__main__":
    sys.exit(main())
