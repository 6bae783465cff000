"""Time to "paid": the customer's return to ``return_url`` -> a page that shows ``authorized``.

    .venv/bin/python bench/time_to_paid.py [--orders 50] [--latency 0.15]

Per order, one at a time (see bench/storefront.py for the processes and the browser):
the order is created and its payment page opened as the example shop does, then paid
on the emulator (``AUTHORIZED``; Dintero sends its callback at once). The clock starts
when the browser follows the ``redirect_url`` Dintero gives it (the app's return view,
which redirects to the result page) and stops at the first page that shows the payment
``authorized``: the result page itself, or the shop's order page, which ``GET``s the
order at once and then every 1.5 s (shop.js ``POLL_MS``). The emulator's ``latency``
fault (150 ms) is on every API call, so a transaction read costs one round trip.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import storefront, support

COMMAND = ".venv/bin/python bench/time_to_paid.py"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.15, help="seconds added to every API call")
    args = parser.parse_args()
    support.header(
        f"Time to paid: {args.orders} orders, {args.latency * 1000:.0f} ms latency",
        COMMAND + " " + " ".join(sys.argv[1:]),
    )
    with storefront.running_stack("dintero_bench_paid", latency=args.latency) as stack:
        storefront.add_latency(stack.emulator_url, args.latency)
        row = measure(stack, args.orders)
    storefront.table([row], args.latency)
    return 0


def measure(stack: storefront.Stack, count: int) -> dict[str, object]:
    from dintero_django.emulator.client import EmulatorControl
    from dintero_django.models import Operation

    control = EmulatorControl(stack.emulator_url)
    waits: list[float] = []
    seen = Counter[str]()
    polls = Counter[int]()
    reads = 0
    for _ in range(count):
        browser = storefront.Browser(stack.site_url)
        public_id = browser.create_order()
        browser.open_payment(public_id)
        seq = max([int(e["seq"]) for e in control.requests_log()] or [0])
        paid = control.pay(storefront.session_of(public_id), "AUTHORIZED")
        assert paid["redirect_url"], paid
        started = time.monotonic()
        where, polled = browser.back_from_dintero(paid["redirect_url"], public_id)
        waits.append(time.monotonic() - started)
        seen[where] += 1
        polls[polled] += 1
        recorded = Operation.objects.filter(
            payment__order__public_id=public_id, kind="record_authorization", state="succeeded"
        )
        support.wait_until(recorded.exists, 60, "the authorization recorded")
        control.wait_callbacks(timeout=60)
        log = control.requests_log(since=seq)
        reads += sum(1 for e in log if e["operation"] == "transaction_get")
        browser.close()
    control.close()
    extra = (
        f"authorized first seen on: {dict(seen)}; order polls {dict(sorted(polls.items()))}; "
        f"transaction reads per order {reads / count:.2f}"
    )
    return storefront.summarize("return_url -> authorized shown", waits, extra)


if __name__ == "__main__":
    sys.exit(main())
