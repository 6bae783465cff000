"""Pause past the lease (issue 19): a worker stopped with SIGSTOP while it holds an
order's lease, in a step that writes to Dintero, resumed after another worker took
the order over.

A real ``celery worker`` runs with pause points (harness/pause_hooks.py). The test arms
one, makes the worker reach it, waits until the stopped process's lease has expired
(read from the database), lets another worker take the order (this process: the
reconciler, or the storefront's checkout), then sends SIGCONT. The resumed process
still believes it holds the order. Afterwards "one Orders-API record per fact" and
"one draft per order" must hold, as must the audit's zeros.

Pause points:
* ``record`` - between reading the Orders API (absent) and posting a capture's record;
* ``draft`` - while pushing an order: before creating its Dintero draft (nightly).

Before fencing, the resumed worker posted its stale write: a second capture record
(``duplicate_order_records`` 1) and a second draft whose id replaced the completed one.

Captures, refunds and voids are not under the order lease: they run in the web process
(staff) and are guarded by their ledger row. Their pause is a thread stopped inside the
capture call, before or after it is sent, while the reconciler resolves the operation:
* stopped before sending, the reconciler reads the transaction, finds nothing and (grace
  passed) marks the capture failed, which staff see; the resumed thread sent its capture
  anyway, and the failed capture came back as succeeded (staff who had captured again
  would have moved the money twice for one intent);
* stopped after sending, the reconciler finds the capture and settles it; the resumed
  thread settled it again and told the shop twice (``payment_captured`` sent twice).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db.models.functions import Now

from dintero_django import signals
from dintero_django.client import CheckoutClient
from dintero_django.models import Operation, Order, Payment
from dintero_django.services import money
from tests.celery_worker import wait_until

from .harness import e2e, invariants, report
from .harness.config import SEED, rng, size
from .harness.shopping import new_order, open_checkout, paid_payment
from .harness.workers import Worker, redis_client, worker_running
from .test_e2e import compress

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.timeout(size(600, 1200))]

PAUSE_KEY = f"dintero:pause:{SEED}"
LEASE_SECONDS = 3  # short, so the test waits little for a lease to expire
STAFF_THREAD = "staff-capture"


@contextmanager
def paused_at(worker: Worker, point: str) -> Iterator[dict[str, Any]]:
    """Arm ``point``; the block makes the worker reach it. On leaving the block, the
    stopped process is known (its pid in ``info``) and stopped (state T)."""
    client = redis_client()
    for what in ("paused", "done"):
        client.delete(f"{PAUSE_KEY}:{what}:{point}")
    client.set(f"{PAUSE_KEY}:arm:{point}", "1")
    info: dict[str, Any] = {}
    yield info
    info["pid"] = int(
        wait_until(lambda: client.get(f"{PAUSE_KEY}:paused:{point}"), 120, f"a pause at {point}")
    )
    wait_until(lambda: _stopped(info["pid"]), 60, f"process {info['pid']} to stop")
    assert info["pid"] in worker.pool_pids()


def _stopped(pid: int) -> bool:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0] == "T"


def lease_expired(order_pk: int) -> None:
    """Wait (by the database's clock) until the stopped holder's lease has run out."""
    wait_until(
        lambda: Order.objects.filter(pk=order_pk, lease_until__lt=Now()).exists(),
        LEASE_SECONDS + 60,
        "the paused worker's lease to expire",
    )


def resume(pid: int, point: str) -> None:
    os.kill(pid, signal.SIGCONT)
    client = redis_client()
    wait_until(lambda: client.get(f"{PAUSE_KEY}:done:{point}"), 120, f"the resumed call at {point} to end")


def records_of(state: dict[str, Any], order_id: str, collection: str, reference: str) -> int:
    order = next(o for o in state["orders"] if o["order_id"] == order_id)
    return sum(
        1
        for r in order.get(collection) or []
        if (r.get("metadata") or {}).get("dintero_django_reference") == reference
    )


def pause_while_recording(shop: Any, worker: Worker, payment: Any) -> dict[str, Any]:
    """A capture's record is left to the worker (its first post failed before Dintero
    applied it); the worker reads (absent), is stopped before posting; the reconciler
    takes the order over and records it; the worker resumes."""
    with paused_at(worker, "record") as pause:
        shop.control.add_fault("order_op_create", "error_before", status=500, times=1)
        operation = money.capture(payment.pk, amount=payment.authorized_amount // 2)
    assert operation.state == Operation.State.SUCCEEDED, operation.error_message
    lease_expired(payment.order_id)
    reconciled = e2e.reconcile_once()  # another worker takes the order and records it
    resume(pause["pid"], "record")
    worker.drain(timeout=30)
    e2e.leases_expired()
    order_id = str(payment.order.dintero_order_id)
    return {
        "reconciler": reconciled,
        "capture_records": records_of(shop.control.state(), order_id, "captures", operation.reference),
    }


def pause_while_pushing(shop: Any, worker: Worker, rnd: Any) -> dict[str, Any]:
    """An order's push is stopped before creating the draft; the customer's checkout
    takes the order over (draft, completion, session); the push resumes."""
    with paused_at(worker, "draft") as pause:
        order = new_order(rnd)  # its push is queued on commit
    lease_expired(order.pk)
    payment = open_checkout(order)  # the checkout pushes the order itself, under the lease
    resume(pause["pid"], "draft")
    worker.drain(timeout=30)
    order.refresh_from_db()
    state = shop.control.state()
    drafts = [d for d in state["drafts"] if (d.get("order") or {}).get("order_id") == order.dintero_order_id]
    remote = next(o for o in state["orders"] if o["order_id"] == order.dintero_order_id)
    return {
        "drafts": len(drafts),
        "draft_id_is_the_completed_one": order.dintero_draft_id == remote["draft_id"],
        "session": bool(payment.session_id),
    }


def test_pause_past_the_lease(shop: Any, settings: Any) -> None:
    compress(shop, settings)
    settings.DINTERO = {**settings.DINTERO, "LEASE_SECONDS": LEASE_SECONDS}
    rnd = rng("pause")
    payment, _ = paid_payment(rnd, shop.control)  # eager: authorized and its record written
    assert payment.state == payment.State.AUTHORIZED
    figures: dict[str, Any] = {}
    with worker_running(shop, settings, "pause", extra_env={"DINTERO_PAUSE_KEY": PAUSE_KEY}) as worker:
        figures["record"] = pause_while_recording(shop, worker, payment)
        if size(0, 1, "DINTERO_PAUSE_DRAFT"):
            figures["draft"] = pause_while_pushing(shop, worker, rnd)
        e2e.settle(shop.control, lambda: worker.drain(timeout=8))
        e2e.reconcile_once()
        audit = invariants.audit(shop.control.state())
    report.record(
        "pause_past_lease",
        lease_seconds=LEASE_SECONDS,
        capture_records=figures["record"]["capture_records"],
        drafts=figures.get("draft", {}).get("drafts"),
        **{name: audit[name] for name in invariants.ZEROS},
    )
    assert figures["record"]["capture_records"] == 1, figures
    if "draft" in figures:
        assert figures["draft"] == {"drafts": 1, "draft_id_is_the_completed_one": True, "session": True}
    assert invariants.nonzero(audit) == {}, audit["examples"]


class StoppedCall:
    """``CheckoutClient.<name>``, called from the ``staff-capture`` thread, stops it before
    (or after) the request until :meth:`resume`: a paused staff request in the web process."""

    def __init__(self, monkeypatch: Any, name: str, *, after: bool) -> None:
        self.paused, self.resumed = threading.Event(), threading.Event()
        original: Callable[..., Any] = getattr(CheckoutClient, name)

        def stopped(client: CheckoutClient, *args: Any, **kwargs: Any) -> Any:
            ours = threading.current_thread().name == STAFF_THREAD
            if ours and not after:
                self.stop()
            try:
                return original(client, *args, **kwargs)
            finally:
                if ours and after:
                    self.stop()

        monkeypatch.setattr(CheckoutClient, name, stopped)

    def stop(self) -> None:
        self.paused.set()
        assert self.resumed.wait(120), "never resumed"

    def resume(self) -> None:
        self.resumed.set()


def capture_in_thread(payment: Payment, amount: int) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        from django.db import connection

        try:
            out["operation"] = money.capture(payment.pk, amount=amount)
        except Exception as error:  # reported by the test
            out["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=STAFF_THREAD, daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("when", ["before_send", "after_send"])
def test_pause_in_a_capture_past_its_resolution(
    shop: Any, settings: Any, monkeypatch: Any, when: str
) -> None:
    compress(shop, settings)
    payment, _ = paid_payment(rng(f"pause-capture-{when}"), shop.control)
    half = payment.authorized_amount // 2
    told: list[int] = []
    signals.payment_captured.connect(lambda **kw: told.append(kw["amount"]), weak=False, dispatch_uid="h19")
    try:
        call = StoppedCall(monkeypatch, "capture", after=when == "after_send")
        thread, out = capture_in_thread(payment, half)
        assert call.paused.wait(60), out
        reconciled = e2e.reconcile_once()  # UNKNOWN_GRACE is 0: the pending capture is resolved now
        monkeypatch.undo()
        call.resume()
        thread.join(timeout=120)
    finally:
        signals.payment_captured.disconnect(dispatch_uid="h19")
    assert not thread.is_alive() and "error" not in out, out
    first = Operation.objects.get(
        kind=Operation.Kind.CAPTURE, payment=payment, reference=out["operation"].reference
    )
    events = [
        e
        for e in shop.control.transaction(payment.transaction_id)["events"]
        if e["event"] == "CAPTURE" and e.get("success")
    ]
    payment.refresh_from_db()
    audit = invariants.audit(shop.control.state())
    report.record(
        f"pause_capture_{when}",
        reconciler=reconciled,
        first_state=first.state,
        captures_at_dintero=len(events),
        captured=payment.captured_amount,
        signals=len(told),
        **{name: audit[name] for name in invariants.ZEROS},
    )
    if when == "before_send":  # staff were told it failed, and may act on that
        assert first.state == Operation.State.FAILED, "the failed capture came back as succeeded"
        assert events == [], "the capture was sent after it was resolved as failed"
        assert payment.captured_amount == 0 and told == []
    else:
        assert first.state == Operation.State.SUCCEEDED
        assert [e["event_reference"] for e in events] == [first.reference]
        assert told == [half], "the shop was told more than once"
    assert invariants.nonzero(audit) == {}, audit["examples"]
