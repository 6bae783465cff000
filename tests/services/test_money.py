"""Capture, refund and cancel: Checkout first, then recorded in the Orders API;
no money moves twice, whatever the network does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from dintero_django import signals
from dintero_django.exceptions import PaymentError
from dintero_django.models import Operation, Order, Payment
from dintero_django.services import balances, money
from dintero_django.services.reconcile import reconcile
from tests.helpers import remote_records, start_and_pay

pytestmark = pytest.mark.timeout(90)

TOTAL = 2 * 19900 + 49900 + 9900  # default_lines()


@pytest.fixture
def paid(shop: Any) -> Payment:
    _order, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    return payment


def remote_events(shop: Any, payment: Payment, kind: str) -> list[dict[str, Any]]:
    tx = shop.control.transaction(payment.transaction_id)
    return [e for e in tx["events"] if e["event"] == kind and e.get("success")]


def test_full_capture(shop: Any, paid: Payment) -> None:
    received: list[dict[str, Any]] = []
    signals.payment_captured.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="cap")
    try:
        operation = money.capture(paid.pk)
    finally:
        signals.payment_captured.disconnect(dispatch_uid="cap")

    assert operation.state == Operation.State.SUCCEEDED
    paid.refresh_from_db()
    assert paid.captured_amount == paid.authorized_amount == TOTAL
    assert paid.status == "CAPTURED"
    [event] = remote_events(shop, paid, "CAPTURE")
    assert event["event_reference"] == operation.reference and event["amount"] == TOTAL
    [record] = remote_records(paid.order.dintero_order_id, "captures")
    assert record["payment_details"]["payment_id"] == paid.transaction_id
    assert sum(i["amount"] for i in record["items"]) == TOTAL
    assert all(isinstance(i["line_id"], int) for i in record["items"])
    assert operation.records.get().state == Operation.State.SUCCEEDED
    assert [r["amount"] for r in received] == [TOTAL]


def test_partial_captures_by_lines_and_amount(shop: Any, paid: Payment) -> None:
    first = money.capture(paid.pk, quantities={1: 1})  # one chair
    second = money.capture(paid.pk, amount=10000)
    third = money.capture(paid.pk)  # the rest

    assert [op.state for op in (first, second, third)] == [Operation.State.SUCCEEDED] * 3
    assert first.amount == 19900 and first.items == [{"line_id": 1, "amount": 19900, "quantity": 1}]
    assert second.amount == 10000
    assert third.amount == TOTAL - 29900
    paid.refresh_from_db()
    assert paid.captured_amount == TOTAL and paid.status == "CAPTURED"
    assert len(remote_events(shop, paid, "CAPTURE")) == 3
    assert len(remote_records(paid.order.dintero_order_id, "captures")) == 3
    captured = {b.line.line_id: b.captured for b in balances.line_balances(paid)}
    assert captured == {1: 39800, 2: 49900, 3: 9900}


def test_refund_after_partial_capture(shop: Any, paid: Payment) -> None:
    money.capture(paid.pk, amount=30000)
    refund = money.refund(paid.pk, amount=5000, reason="damaged")

    assert refund.state == Operation.State.SUCCEEDED
    paid.refresh_from_db()
    assert (paid.captured_amount, paid.refunded_amount) == (30000, 5000)
    assert paid.status == "PARTIALLY_CAPTURED_REFUNDED"
    [event] = remote_events(shop, paid, "REFUND")
    assert event["event_reference"] == refund.reference
    [record] = remote_records(paid.order.dintero_order_id, "refunds")
    assert sum(i["amount"] for i in record["items"]) == 5000


def test_cancel_voids_and_records_cancellation(shop: Any, paid: Payment) -> None:
    operation = money.cancel(paid.pk)

    assert operation.state == Operation.State.SUCCEEDED
    paid.refresh_from_db()
    assert paid.state == Payment.State.VOIDED and paid.status == "AUTHORIZATION_VOIDED"
    [record] = remote_records(paid.order.dintero_order_id, "cancellations")
    assert sum(i["amount"] for i in record["items"]) == TOTAL
    with pytest.raises(PaymentError):
        money.capture(paid.pk)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda pk: money.capture(pk, amount=TOTAL + 1), "only"),
        (lambda pk: money.capture(pk, amount=0), "positive"),
        (lambda pk: money.capture(pk, quantities={1: 3}), "exceeds"),
        (lambda pk: money.capture(pk, quantities={9: 1}), "no line 9"),
        (lambda pk: money.refund(pk, amount=1), "only 0"),
    ],
)
def test_over_capture_and_over_refund_refused(shop: Any, paid: Payment, call: Any, message: str) -> None:
    with pytest.raises(PaymentError, match=message):
        call(paid.pk)
    assert not Operation.objects.filter(payment=paid, kind__in=Operation.MONEY_KINDS).exists()
    assert remote_events(shop, paid, "CAPTURE") == []


def test_over_refund_after_capture_refused(shop: Any, paid: Payment) -> None:
    money.capture(paid.pk, amount=20000)
    with pytest.raises(PaymentError, match="only 20000"):
        money.refund(paid.pk, amount=20001)
    with pytest.raises(PaymentError, match=r"refund them instead"):
        money.cancel(paid.pk)


@pytest.mark.parametrize("action", ["timeout_after", "reset_after", "error_after"])
@pytest.mark.parametrize("kind", ["capture", "refund"])
def test_lost_response_after_commit_moves_money_once(
    shop: Any, paid: Payment, settings: Any, action: str, kind: str
) -> None:
    settings.DINTERO = {**settings.DINTERO, "READ_TIMEOUT": 0.5}
    if kind == "refund":
        money.capture(paid.pk)
    shop.control.add_fault(operation=kind, action=action, times=1, hang=2.0, status=500)

    operation = (
        money.capture(paid.pk, amount=10000) if kind == "capture" else money.refund(paid.pk, amount=7000)
    )

    assert operation.state == Operation.State.SUCCEEDED, operation.error_message
    assert operation.attempts == 1, "never sent twice"
    assert len(remote_events(shop, paid, kind.upper())) == 1, "exactly one at Dintero"
    paid.refresh_from_db()
    if kind == "capture":
        assert paid.captured_amount == 10000
    else:
        assert paid.refunded_amount == 7000


def test_error_before_apply_is_failed_and_can_be_retried(shop: Any, paid: Payment) -> None:
    shop.control.add_fault(operation="capture", action="error_before", status=503, times=1)
    first = money.capture(paid.pk, amount=10000)
    assert first.state == Operation.State.FAILED, "read back: never applied"
    assert remote_events(shop, paid, "CAPTURE") == []

    second = money.capture(paid.pk, amount=10000)

    assert second.state == Operation.State.SUCCEEDED
    assert len(remote_events(shop, paid, "CAPTURE")) == 1


def test_definite_refusal_is_failed(shop: Any, paid: Payment) -> None:
    shop.control.add_fault(operation="capture", action="error_before", status=400, times=1)
    operation = money.capture(paid.pk, amount=100)
    assert operation.state == Operation.State.FAILED and operation.http_status == 400
    paid.refresh_from_db()
    assert paid.captured_amount == 0


def test_accepted_202_is_completed_later(shop: Any, paid: Payment) -> None:
    shop.control.add_fault(operation="capture", action="accept_202", times=1, complete_after=3600)

    operation = money.capture(paid.pk, amount=15000)

    assert operation.state == Operation.State.ACCEPTED
    assert operation.request_id
    with pytest.raises(PaymentError, match="in progress"):
        money.capture(paid.pk, amount=100)
    paid.refresh_from_db()
    assert paid.captured_amount == 0
    shop.control.complete_pending()

    call_command("dintero_reconcile", "--older-than", "0")

    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED
    paid.refresh_from_db()
    assert paid.captured_amount == 15000
    assert len(remote_records(paid.order.dintero_order_id, "captures")) == 1


def test_failed_orders_record_is_retried_exactly_once(shop: Any, paid: Payment) -> None:
    shop.control.add_fault(operation="order_op_create", action="error_before", status=503, times=1)

    operation = money.capture(paid.pk, amount=12345)

    assert operation.state == Operation.State.SUCCEEDED
    record = operation.records.get()
    assert record.state == Operation.State.UNKNOWN
    assert remote_records(paid.order.dintero_order_id, "captures") == []

    call_command("dintero_reconcile", "--older-than", "0")
    call_command("dintero_reconcile", "--older-than", "0")

    record.refresh_from_db()
    assert record.state == Operation.State.SUCCEEDED
    assert len(remote_records(paid.order.dintero_order_id, "captures")) == 1


def test_orders_record_lost_after_commit_is_not_duplicated(shop: Any, paid: Payment) -> None:
    shop.control.add_fault(operation="order_op_create", action="error_after", status=500, times=1)
    operation = money.capture(paid.pk, amount=2000)
    assert operation.records.get().state == Operation.State.UNKNOWN

    call_command("dintero_reconcile", "--older-than", "0")

    assert operation.records.get().state == Operation.State.SUCCEEDED
    assert len(remote_records(paid.order.dintero_order_id, "captures")) == 1


def test_backoffice_operations_update_local_state(shop: Any, paid: Payment) -> None:
    received: list[int] = []
    signals.payment_captured.connect(
        lambda **kw: received.append(kw["amount"]), weak=False, dispatch_uid="bo"
    )
    try:
        shop.control.backoffice_capture(paid.transaction_id, amount=5000)
        shop.control.wait_callbacks()
    finally:
        signals.payment_captured.disconnect(dispatch_uid="bo")

    paid.refresh_from_db()
    assert paid.captured_amount == 5000
    assert received == [5000]


def test_a_record_whose_order_is_leased_waits_for_the_next_pass(shop: Any, paid: Payment) -> None:
    """A worker killed while holding the order's lease: the pass reports the record as
    busy, not synced, and the pass after the lease expired records it."""
    shop.control.add_fault(operation="order_op_create", action="error_before", status=503, times=1)
    operation = money.capture(paid.pk, amount=2500)
    Order.objects.filter(pk=paid.order_id).update(lease_until=timezone.now() + timedelta(seconds=60))

    counts = reconcile(older_than=0)

    assert counts.get("records_busy_or_pending") == 1 and "records_synced" not in counts
    assert operation.records.get().state == Operation.State.UNKNOWN
    Order.objects.filter(pk=paid.order_id).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert reconcile(older_than=0).get("records_synced") == 1
    assert len(remote_records(paid.order.dintero_order_id, "captures")) == 1


def test_the_record_task_writes_a_record_the_busy_order_held_up(
    shop: Any, paid: Payment, caplog: pytest.LogCaptureFixture
) -> None:
    """The task a worker runs when an inline record was left open (tests/worker has it
    queued by a real capture; eager mode queues nothing, its retries would be immediate).
    Busy: retry later, or leave it to the reconciler once out of retries; free: record."""
    from dintero_django.tasks import record_operation_task

    Order.objects.filter(pk=paid.order_id).update(lease_until=timezone.now() + timedelta(seconds=60))
    caplog.set_level("INFO", logger="dintero_django.tasks")
    capture = money.capture(paid.pk)
    assert capture.state == Operation.State.SUCCEEDED
    assert capture.records.get().is_open

    record_operation_task.apply(args=[capture.pk])
    assert "Not retrying dintero.record_operation in eager mode" in caplog.text
    record_operation_task.apply(args=[capture.pk], retries=8)
    assert "dintero.record_operation gives up after 8 retries" in caplog.text
    assert capture.records.get().is_open
    assert remote_records(paid.order.dintero_order_id, "captures") == []

    Order.objects.filter(pk=paid.order_id).update(lease_until=None)
    record_operation_task.apply(args=[capture.pk])

    assert capture.records.get().state == Operation.State.SUCCEEDED
    assert len(remote_records(paid.order.dintero_order_id, "captures")) == 1
