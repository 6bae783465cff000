"""End-to-end fault injection: orders through the storefront, the emulator as a faulty
Dintero, staff money operations, then ONE reconciler pass and the audit's zeros.

Faults (seeded, see harness/faults.py): 20 % of every API call faulted (timeout before
and after the change is applied, 5xx before and after, connection reset before and
after), 1 % 429, 20 % of captures and refunds answered 202 (completed 0.5 s later);
callbacks 30 % duplicated, 30 % reordered, 10 % dropped, 5 % delayed.

Timings are compressed: HTTP read timeout 0.25 s (a timeout fault hangs 0.5 s), client
retries of safe calls after 10-50 ms, emulator callback retries after 10-200 ms. The
criteria hold relative to those settings: "settled" means the emulator's scheduler is
idle after its clock was advanced past every delay, and the task queue is empty.

CI tier: 150 orders on PostgreSQL, tasks eager in-process (the callback view runs the
sync inside the request, as the demo does). Nightly: also 1,000 orders with a real
``celery worker`` over Redis.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from .harness import e2e, faults, invariants, report
from .harness.config import rng, size
from .harness.workers import worker_running

TIMINGS = {
    "CONNECT_TIMEOUT": 0.5,
    "READ_TIMEOUT": 0.25,
    "MAX_RETRIES": 3,
    "RETRY_BACKOFF": 0.01,
    "RETRY_BACKOFF_MAX": 0.05,
    "POLL_INTERVAL": 0.1,
    "RECONCILE_AFTER": 0,
    "UNKNOWN_GRACE": 0,
    # A pool process killed while holding an order's lease blocks that order this long.
    "LEASE_SECONDS": 15,
}


def compress(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, **TIMINGS}
    shop.control.config(callback_retry_initial=0.01, callback_retry_max=0.2, callback_timeout=5.0)


def run(
    shop: Any, orders: int, scenario: str, drain: Any, threads: int, repost_after: float = 0
) -> dict[str, Any]:
    started = time.monotonic()
    rnd = rng(scenario)
    faults.install(shop.control, scenario)
    tally = e2e.customers(shop, orders, rnd, threads=threads, deadline_s=120, repost_after=repost_after)
    e2e.staff(rnd, tally, threads=threads)
    fired = faults.fired(shop.control)
    e2e.settle(shop.control, drain)
    before = invariants.audit(shop.control.state())
    reconciled = e2e.reconcile_once()
    shop.control.wait_callbacks(timeout=60)
    drain()
    audit = invariants.audit(shop.control.state())
    requests = len(shop.control.requests_log())
    api_faults = sum(v for k, v in fired.items() if not k.startswith("callback"))
    figures = {
        "orders": orders,
        "api_calls": requests,
        "faults_fired": api_faults,
        "faulted_share": round(
            sum(v for k, v in fired.items() if not k.startswith("callback")) / max(requests, 1), 3
        ),
        "fired": fired,
        "outcomes": dict(tally.outcomes),
        "staff": dict(tally.staff),
        "checkout_polls": tally.checkout_attempts,
        "storefront_errors": len(tally.errors),
        "unsettled_before_reconcile": invariants.nonzero(before),
        "reconciler": reconciled,
        "paid": audit.get("remote_paid", 0),
        "flagged_for_staff": audit.get("paid_but_flagged_for_staff", 0),
        "duplicate_drafts": audit.get("duplicate_drafts", 0),
        "ledger_unknown_nonmoney": audit.get("ledger_unknown_nonmoney", 0),
        "seconds": round(time.monotonic() - started, 1),
        **{name: audit[name] for name in invariants.ZEROS},
    }
    report.record(scenario, **figures)
    assert tally.errors == [], tally.errors[:5]
    assert invariants.nonzero(audit) == {}, audit["examples"]
    assert audit.get("remote_paid", 0) > orders // 2, "most orders should have been paid"
    assert figures["faults_fired"] > 0 and tally.staff, "no faults fired or no staff operation ran"
    return figures


@pytest.mark.postgres
@pytest.mark.timeout(size(900, 900))
def test_end_to_end_faults_eager(shop: Any, settings: Any) -> None:
    compress(shop, settings)
    run(shop, size(150, 150), "e2e-eager", drain=lambda: None, threads=4)


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.timeout(size(900, 3600))
def test_end_to_end_faults_real_worker(shop: Any, settings: Any, tmp_path: Any) -> None:
    compress(shop, settings)
    with worker_running(shop, settings, "e2e-worker") as worker:
        orders = size(300, 1000, "DINTERO_E2E_ORDERS")
        run(shop, orders, "e2e-worker", drain=worker.drain, threads=6, repost_after=5)
