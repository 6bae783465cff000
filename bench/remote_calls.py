"""Remote calls per order lifecycle, counted from the emulator's request log.

    .venv/bin/python bench/remote_calls.py [--orders 200] [--eager]

For each order, one step at a time: create it over the storefront API (draft),
start checkout (complete + session), pay on the emulator (the signed callback
reaches the app, whose sync reads the transaction and records the
authorization), two partial captures and one partial refund (as the admin and
the staff API run them: services.money, in this process). After every step the
emulator's callbacks and the payment's queued sync are awaited, so each call is
counted in the step that caused it.

Processes, as in production: the emulator (standing in for Dintero), gunicorn
(2 workers) for the storefront API and the callbacks, a ``celery worker``
(prefork, 2 children) over Redis for the tasks, PostgreSQL, the access token
shared through the Redis cache. ``--eager`` runs everything in this process
instead (a threaded live server, tasks in-process): there a sync triggered by
an event callback runs at once, before this process has applied the answer
of its own capture, so it cannot tell the event is its own and reads.

The figures are compared with the minimum the flow needs (docs/performance.md
explains each one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support

COMMAND = ".venv/bin/python bench/remote_calls.py"

#: The fewest calls each step needs, per order (the token is counted apart: one per process).
MINIMUM: dict[str, dict[str, int]] = {
    "create order": {"draft_create": 1},
    "checkout": {"draft_complete": 1, "session_create": 1},
    "pay -> callback -> sync": {"transaction_get": 1, "order_op_create": 1},
    "capture 1 (partial)": {"capture": 1, "order_op_create": 1},
    "capture 2 (partial)": {"capture": 1, "order_op_create": 1},
    "refund (partial)": {"refund": 1, "order_op_create": 1},
    "reconciler pass": {},
}
STEPS = list(MINIMUM)
LINES = [
    {"product_id": "chair", "description": "Stacking chair", "quantity": 2, "unit_amount": 19900},
    {"product_id": "table", "description": "Garden table", "quantity": 1, "unit_amount": 49900},
    {"description": "Shipping", "type": "shipping", "quantity": 1, "unit_amount": 9900},
]
TOTAL = 2 * 19900 + 49900 + 9900


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--eager", action="store_true", help="one process, tasks in-process")
    args = parser.parse_args()

    os.environ.setdefault("BENCH_DB", "dintero_bench_calls")
    eager = "1" if args.eager else "0"
    support.setup_django(BENCH_EAGER=eager, **({"CELERY_BROKER_URL": "memory://"} if args.eager else {}))
    mode = "one process, tasks in-process" if args.eager else "gunicorn + celery worker"
    support.header(f"Remote calls per order lifecycle ({args.orders} orders; {mode})", COMMAND)
    from django.conf import settings

    support.recreate_database(os.environ["BENCH_DB"])
    support.flush_redis(settings.CACHES["default"]["LOCATION"])
    if not args.eager:
        support.flush_redis(str(settings.CELERY_BROKER_URL))
    logdir = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    with ExitStack() as stack:
        emulator, emulator_url = support.start_emulator(logdir)
        stack.enter_context(support.stopping(emulator))
        remote = {"API_URL": emulator_url, "CHECKOUT_URL": emulator_url}
        if args.eager:
            server, site_url = start_live_server()
            stack.callback(server.shutdown)
            processes = "this one"
        else:
            env = support.bench_env(BENCH_DB=os.environ["BENCH_DB"], BENCH_DINTERO=json.dumps(remote))
            web, site_url = support.start_gunicorn(logdir, env)
            stack.enter_context(support.stopping(web))
            env["BENCH_DINTERO"] = json.dumps({**remote, "SITE_URL": site_url})
            worker = support.start_celery_worker(logdir, env)
            stack.enter_context(support.stopping(worker))
            processes = "this one (captures, refunds) and the worker's 2 children (tasks)"
        settings.DINTERO = {**settings.DINTERO, **remote, "SITE_URL": site_url}
        from dintero_django.client import reset

        reset()
        print(f"emulator {emulator_url}; shop {site_url}; logs in {logdir}")
        print(f"processes that call Dintero: {processes}")
        print()
        started = time.monotonic()
        per_step = run(args.orders, site_url, emulator_url)
        print(f"{args.orders} orders in {time.monotonic() - started:.0f} s (load {support.load()})")
        print()
    report(per_step, args.orders)
    return 0


def start_live_server() -> tuple[Any, str]:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def run(orders: int, site_url: str, emulator_url: str) -> dict[str, list[dict[str, Any]]]:
    import requests

    from dintero_django.emulator.client import EmulatorControl
    from dintero_django.models import Operation, Order, Payment
    from dintero_django.services import money

    control = EmulatorControl(emulator_url)
    per_step: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seq = 0

    def until(predicate: Any, what: str) -> None:
        support.wait_until(predicate, 60, what)

    def idle(payment_pk: int) -> bool:
        """No sync queued or running for the payment (the task clears sync_attempts last)."""
        return Payment.objects.filter(pk=payment_pk, sync_pending=False, sync_attempts=0).exists()

    def step(name: str, payment_pk: int | None = None) -> None:
        nonlocal seq
        control.wait_callbacks(timeout=60)
        if payment_pk is not None:
            until(lambda: idle(payment_pk), f"the syncs of payment {payment_pk}")
        entries = control.requests_log(since=seq)
        if entries:
            seq = max(int(entry["seq"]) for entry in entries)
        per_step[name] += entries

    for _ in range(orders):
        http = requests.Session()
        http.trust_env = False
        http.headers["Accept"] = "application/json"
        response = http.post(f"{site_url}/api/dintero/orders/", json={"currency": "NOK", "lines": LINES})
        assert response.status_code == 201, response.text
        public_id = response.json()["id"]
        drafted = Order.objects.filter(public_id=public_id).exclude(dintero_draft_id="")
        until(drafted.exists, "the draft")
        step("create order")

        response = http.post(f"{site_url}/api/dintero/orders/{public_id}/checkout/", json={})
        assert response.status_code in (200, 202), response.text
        active = Payment.objects.filter(order__public_id=public_id, is_active=True).exclude(session_url="")
        until(active.exists, "the checkout session")
        payment = active.get()
        step("checkout")

        control.pay(str(payment.session_id), "AUTHORIZED")
        recorded = Operation.objects.filter(payment=payment, kind="record_authorization", state="succeeded")
        until(recorded.exists, "the authorization record")
        step("pay -> callback -> sync", payment.pk)

        first = money.capture(payment.pk, quantities={1: 2})
        step("capture 1 (partial)", payment.pk)
        second = money.capture(payment.pk)
        step("capture 2 (partial)", payment.pk)
        refund = money.refund(payment.pk, amount=9900, reason="bench")
        step("refund (partial)", payment.pk)
        for operation in (first, second, refund):
            assert operation.state == Operation.State.SUCCEEDED, operation
        http.close()

    # Whatever a step left open (an Orders-API record that found the order's lease taken
    # defers to the reconciler) is finished by one reconciler pass, counted on its own.
    left = list(Operation.objects.exclude(state=Operation.State.SUCCEEDED).values_list("kind", "state"))
    print(f"left to the reconciler: {left or 'nothing'}")
    from dintero_django.services.reconcile import reconcile

    reconcile(older_than=0)
    step("reconciler pass")
    # Every order ends the same: all recorded in the Orders API, amounts as expected.
    payments = Payment.objects.filter(is_active=True)
    assert payments.count() == orders
    assert all(p.captured_amount == TOTAL and p.refunded_amount == 9900 for p in payments)
    not_done = Operation.objects.exclude(state=Operation.State.SUCCEEDED)
    assert not not_done.exists(), list(not_done.values_list("kind", "state"))
    control.close()
    return per_step


def report(per_step: dict[str, list[dict[str, Any]]], orders: int) -> None:
    print("| step | operation | calls | per order | minimum | redundant per order |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    total = minimum_total = 0
    tokens = 0
    connections: Counter[Any] = Counter()
    failures: Counter[str] = Counter()
    for name in STEPS:
        entries = per_step.get(name, [])
        counts = Counter(str(entry["operation"]) for entry in entries)
        tokens += counts.pop("token", 0)
        for entry in entries:
            connections[entry.get("connection", entry.get("connection_id"))] += 1
            if int(entry.get("status") or 0) >= 400:
                failures[f"{entry['operation']} {entry['status']}"] += 1
        wanted = MINIMUM[name]
        for operation in sorted(set(counts) | set(wanted)):
            calls = counts.get(operation, 0)
            least = wanted.get(operation, 0)
            total += calls
            minimum_total += least * orders
            extra = f"{calls / orders - least:+.2f}".replace("+0.00", "0")
            print(f"| {name} | {operation} | {calls} | {calls / orders:.2f} | {least} | {extra} |")
    print()
    print(f"per order: {total / orders:.2f} calls (minimum {minimum_total / orders:.0f}), plus tokens")
    print(f"token requests: {tokens} in all (the token is shared through the cache)")
    print(
        f"HTTP connections used: {len(connections)} "
        f"(requests per connection: {sorted(connections.values(), reverse=True)[:8]})"
    )
    print(f"answers >= 400: {dict(failures) or 'none'}")


if __name__ == "__main__":
    sys.exit(main())
