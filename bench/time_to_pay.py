"""Time to the payment page: Pay click -> ``checkout_url`` in hand, as the example shop does it.

    .venv/bin/python bench/time_to_pay.py [--orders 50] [--busy-orders 50] [--latency 0.15]

The storefront protocol of ``example_project/shop/static/shop/shop.js`` (see
bench/storefront.py): ``POST …/checkout/``, then while the answer has no
``checkout_url`` a ``GET`` of the order every 0.75 s. A real celery worker, gunicorn,
PostgreSQL, and the emulator's ``latency`` fault on every API call (150 ms: a Dintero
round trip from a Nordic host). Three scenarios, orders one at a time:

1. **draft pushed**: the order was created earlier and its draft is in the Orders API
   (the customer comes back to Pay, or the shop created the order on an earlier page);
   measured from ``POST …/checkout/``.
2. **Pay right after creation**: the example shop's Pay button, which creates the order
   and opens checkout at once; measured from ``POST /api/dintero/orders/`` (and, apart,
   from ``POST …/checkout/``).
3. **worker busy**: as 1, but just before Pay a burst of signed callbacks for 200 other
   paid orders is delivered, so ~200 syncs are queued ahead of any task.

Remote calls are counted in the emulator's request log for each scenario. The figures
are compared with one round trip (the latency): the floor is one ``session_create``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import storefront, support

COMMAND = ".venv/bin/python bench/time_to_pay.py"
BURST = 200


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=50, help="orders per scenario (1 and 2)")
    parser.add_argument("--busy-orders", type=int, default=50, help="orders in scenario 3")
    parser.add_argument("--latency", type=float, default=0.15, help="seconds added to every API call")
    parser.add_argument("--query", default="", help="appended to the checkout URL, e.g. ?wait=2")
    args = parser.parse_args()
    support.header(
        f"Time to payment page: {args.orders} orders per scenario, {args.latency * 1000:.0f} ms latency",
        COMMAND + " " + " ".join(sys.argv[1:]),
    )
    with storefront.running_stack("dintero_bench_pay", latency=args.latency) as stack:
        burst = prepare_burst(stack) if args.busy_orders else []
        storefront.add_latency(stack.emulator_url, args.latency)
        rows = []
        rows.append(draft_pushed(stack, args.orders, args.query))
        rows += right_after_creation(stack, args.orders, args.query)
        if args.busy_orders:
            rows.append(worker_busy(stack, args.busy_orders, burst, args.query))
    storefront.table(rows, args.latency)
    return 0


def calls_since(control: Any, seq: int) -> tuple[Counter[str], int]:
    log = control.requests_log(since=seq)
    last = max([int(e["seq"]) for e in log] or [seq])
    return Counter(str(e["operation"]) for e in log), last


def log_position(control: Any) -> int:
    return max([int(e["seq"]) for e in control.requests_log()] or [0])


def describe_calls(calls: Counter[str], orders: int) -> str:
    return "calls per order: " + ", ".join(f"{op} {n / orders:.2f}" for op, n in sorted(calls.items()))


def created_and_drafted(stack: storefront.Stack) -> tuple[storefront.Browser, str]:
    from dintero_django.models import Order

    browser = storefront.Browser(stack.site_url)
    public_id = browser.create_order()
    idle = Order.objects.filter(public_id=public_id, lease_until__isnull=True).exclude(dintero_draft_id="")
    support.wait_until(idle.exists, 120, "the draft pushed by the worker")
    return browser, public_id


def draft_pushed(stack: storefront.Stack, count: int, query: str) -> dict[str, Any]:
    from dintero_django.emulator.client import EmulatorControl

    control = EmulatorControl(stack.emulator_url)
    waits: list[float] = []
    polls = Counter[int]()
    calls: Counter[str] = Counter()
    for _ in range(count):
        browser, public_id = created_and_drafted(stack)
        seq = log_position(control)
        started = time.monotonic()
        _url, polled = browser.open_payment(public_id, query)
        waits.append(time.monotonic() - started)
        polls[polled] += 1
        settle(control)
        counted, _ = calls_since(control, seq)
        calls += counted
        browser.close()
    control.close()
    extra = f"polls {dict(sorted(polls.items()))}; {describe_calls(calls, count)}"
    return storefront.summarize("1. draft pushed (from POST checkout)", waits, extra)


def right_after_creation(stack: storefront.Stack, count: int, query: str) -> list[dict[str, Any]]:
    from dintero_django.emulator.client import EmulatorControl

    control = EmulatorControl(stack.emulator_url)
    whole: list[float] = []
    checkout: list[float] = []
    polls = Counter[int]()
    calls: Counter[str] = Counter()
    for _ in range(count):
        browser = storefront.Browser(stack.site_url)
        seq = log_position(control)
        started = time.monotonic()
        public_id = browser.create_order()
        created = time.monotonic()
        _url, polled = browser.open_payment(public_id, query)
        done = time.monotonic()
        whole.append(done - started)
        checkout.append(done - created)
        polls[polled] += 1
        settle(control)
        counted, _ = calls_since(control, seq)
        calls += counted
        browser.close()
    control.close()
    extra = f"polls {dict(sorted(polls.items()))}; {describe_calls(calls, count)}"
    return [
        storefront.summarize("2. Pay right after creation (from POST orders)", whole, extra),
        storefront.summarize("2b. the same, from POST checkout", checkout),
    ]


def settle(control: Any) -> None:
    """Let the order's own tasks finish (its push) so the next order starts on an idle worker."""
    from dintero_django.models import Order

    support.wait_until(
        lambda: not Order.objects.filter(lease_until__isnull=False).exists(), 60, "idle orders"
    )
    control.wait_callbacks(timeout=60)


# -- scenario 3: the worker busy -----------------------------------------------------


def prepare_burst(stack: storefront.Stack) -> list[Any]:
    """200 paid, authorized, recorded orders (before the latency fault): their callbacks,
    delivered again, each queue one sync (one transaction read)."""
    from dintero_django.emulator.client import EmulatorControl
    from dintero_django.models import Operation, Payment
    from dintero_django.services.checkout import start_checkout
    from dintero_django.services.orders import LineInput, create_order

    control = EmulatorControl(stack.emulator_url)
    payments = []
    for _ in range(BURST):
        lines = [
            LineInput(
                description=line["description"],
                quantity=line["quantity"],
                unit_amount=line["unit_amount"],
                product_id=line.get("product_id", ""),
            )
            for line in storefront.LINES
        ]
        order = create_order(lines, email="burst@example.com", shop_reference="bench-burst")
        payment = start_checkout(order.pk)
        control.pay(str(payment.session_id), "AUTHORIZED")
        payments.append(payment)
    pks = [p.pk for p in payments]
    recorded = Operation.objects.filter(payment_id__in=pks, kind="record_authorization", state="succeeded")
    support.wait_until(lambda: recorded.count() == BURST, 300, "the burst orders recorded")
    control.wait_callbacks(timeout=60)
    control.close()
    return list(Payment.objects.filter(pk__in=pks).select_related("order"))


def deliver_burst(stack: storefront.Stack, burst: list[Any]) -> int:
    """Send each burst order's callback again (a new delivery id); returns how many syncs
    this queued (an order whose sync is still queued is not queued twice)."""
    import uuid

    import requests

    queued = 0
    stamp = int(time.time())
    with requests.Session() as http:
        http.trust_env = False
        for payment in burst:
            target, signature = support.signed_callback(payment, stamp)
            headers = {"Dintero-Signature": signature, "event-delivery": str(uuid.uuid4())}
            response = http.get(f"{stack.site_url}{target}", headers=headers, timeout=30)
            assert response.status_code == 200, (response.status_code, response.text[:200])
            queued += 1
    return queued


def worker_busy(stack: storefront.Stack, count: int, burst: list[Any], query: str) -> dict[str, Any]:
    # The orders first, their drafts pushed on an idle worker (not measured): once the
    # bursts begin, a push would wait behind them.
    customers = [created_and_drafted(stack) for _ in range(count)]
    waits: list[float] = []
    depths: list[int] = []
    polls = Counter[int]()
    for browser, public_id in customers:
        deliver_burst(stack, burst)
        depths.append(storefront.queue_length())
        started = time.monotonic()
        _url, polled = browser.open_payment(public_id, query)
        waits.append(time.monotonic() - started)
        polls[polled] += 1
        browser.close()
    depths.sort()
    extra = (
        f"tasks queued at Pay: median {depths[len(depths) // 2]} (min {depths[0]}, max {depths[-1]}); "
        f"polls {dict(sorted(polls.items()))}"
    )
    return storefront.summarize("3. worker busy (from POST checkout)", waits, extra)


if __name__ == "__main__":
    sys.exit(main())
