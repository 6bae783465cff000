"""Focused regression tests for bugs the reliability battery found (one per fix)."""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django.models import Operation, Payment
from dintero_django.services import money, records
from tests.helpers import remote_records, start_and_pay

pytestmark = pytest.mark.timeout(90)

TOTAL = 2 * 19900 + 49900 + 9900  # tests.conftest.default_lines()


@pytest.mark.parametrize("how", ["auto_capture", "backoffice"])
def test_refund_by_amount_after_a_capture_without_items(shop: Any, how: str) -> None:
    """Found by the model test: auto-capture and Backoffice captures carry no items, so the
    per-line balances showed nothing captured and a refund by amount went out as amount 0."""
    _order, payment, tx = start_and_pay(shop, "CAPTURED" if how == "auto_capture" else "AUTHORIZED")
    shop.control.wait_callbacks()
    if how == "backoffice":
        shop.control.backoffice_capture(tx, amount=30000)
        shop.control.wait_callbacks()
    payment.refresh_from_db()
    captured = payment.captured_amount
    assert captured == (TOTAL if how == "auto_capture" else 30000)

    refund = money.refund(payment.pk, amount=captured - 1, reason="damaged")

    assert refund.state == Operation.State.SUCCEEDED, refund.error_message
    assert refund.amount == captured - 1
    assert sum(item["amount"] for item in refund.items) == captured - 1
    payment.refresh_from_db()
    assert payment.refunded_amount == captured - 1
    tx_events = shop.control.transaction(tx)["events"]
    [event] = [e for e in tx_events if e["event"] == "REFUND" and e["success"]]
    assert event["amount"] == captured - 1 and event["event_reference"] == refund.reference
    if how == "backoffice":  # the rest can still be captured by amount, line by line
        rest = money.capture(payment.pk)
        assert rest.state == Operation.State.SUCCEEDED and rest.amount == TOTAL - 30000
        payment.refresh_from_db()
        assert payment.captured_amount == TOTAL and payment.state == Payment.State.AUTHORIZED


@pytest.mark.parametrize("how", ["auto_capture", "backoffice"])
def test_captures_made_outside_are_recorded_so_refunds_can_be(shop: Any, how: str) -> None:
    """Found by the end-to-end run: captures made outside our operations (auto-capture,
    Dintero's Backoffice) were never recorded in the Orders API, so the Orders API refused
    the record of a later refund (refunded > captured) and it stayed unresolved."""
    _order, payment, tx = start_and_pay(shop, "CAPTURED" if how == "auto_capture" else "AUTHORIZED")
    shop.control.wait_callbacks()
    if how == "backoffice":
        shop.control.backoffice_capture(tx, amount=30000)
        shop.control.wait_callbacks()
    payment.refresh_from_db()
    order_id = payment.order.dintero_order_id
    [capture_record] = remote_records(order_id, "captures")
    assert sum(i["amount"] for i in capture_record["items"]) == payment.captured_amount

    refund = money.refund(payment.pk, amount=1000, reason="damaged")

    assert refund.state == Operation.State.SUCCEEDED
    assert refund.records.get().state == Operation.State.SUCCEEDED
    [record] = remote_records(order_id, "refunds")
    assert sum(i["amount"] for i in record["items"]) == 1000
    # Syncing again adopts nothing twice.
    from dintero_django.services.sync import sync_payment

    sync_payment(payment.pk)
    assert len(remote_records(order_id, "captures")) == 1
    assert Operation.objects.filter(payment=payment, kind="capture").count() == 1


def test_orders_api_records_wait_for_their_predecessors(shop: Any) -> None:
    """Found by the end-to-end run: the Orders API checks each record against the earlier
    ones, so a capture recorded before its authorization (or a refund before its capture)
    was refused and left open; they are now recorded in order."""
    shop.control.add_fault("order_op_create", "error_before", status=503, times=1)
    _order, payment, _tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    auth = Operation.objects.get(payment=payment, kind="record_authorization")
    assert auth.state == Operation.State.UNKNOWN, "the authorization record failed"
    # The three money operations' own event callbacks would start syncs in the server's
    # thread, racing this thread for the order's lease: a record that loses waits for the
    # reconciler (the battery covers that race). This test is about the order of records.
    shop.control.add_fault(operation="callback", action="drop", times=3)

    capture = money.capture(payment.pk, amount=20000)

    assert capture.records.get().state == Operation.State.SUCCEEDED
    auth.refresh_from_db()
    assert auth.state == Operation.State.SUCCEEDED
    order_id = payment.order.dintero_order_id
    assert len(remote_records(order_id, "authorizations")) == 1
    shop.control.add_fault("order_op_create", "error_before", status=503, times=1)
    second = money.capture(payment.pk, amount=10000)
    assert second.records.get().state == Operation.State.UNKNOWN, "its record failed"

    refund = money.refund(payment.pk, amount=25000, reason="broken")

    assert refund.records.get().state == Operation.State.SUCCEEDED
    assert second.records.get().state == Operation.State.SUCCEEDED
    assert len(remote_records(order_id, "captures")) == 2
    assert len(remote_records(order_id, "refunds")) == 1


@pytest.mark.postgres
def test_concurrent_records_of_one_operation_post_once(shop: Any) -> None:
    """Found by the concurrency battery: two record_in_orders of one operation at once
    (the admin's own and the reconciler's, or two syncs adopting one Backoffice capture)
    both read "not recorded yet" and both posted: a duplicate Orders-API record."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    _order, payment, _tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    shop.control.add_fault("order_op_create", "error_before", status=503, times=1)
    capture = money.capture(payment.pk, amount=10000)
    record = capture.records.get()
    assert record.state == Operation.State.UNKNOWN
    shop.control.add_fault("order_op_create", "latency", seconds=0.3)  # the posts overlap
    barrier = threading.Barrier(8)

    def again(_: int) -> str:
        try:
            barrier.wait(timeout=30)
            return str(records.record_in_orders(capture.pk).state)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(again, range(8)))
    records.record_in_orders(capture.pk)

    assert len(remote_records(payment.order.dintero_order_id, "captures")) == 1
    record.refresh_from_db()
    assert record.state == Operation.State.SUCCEEDED


def test_backoffice_refund_is_adopted_and_recorded_once(shop: Any) -> None:
    """Found by the model test (in the fix for external captures): recording an adopted
    Backoffice refund adopted again and recorded itself again, recursing without end."""
    _order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    shop.control.backoffice_capture(tx, amount=20000)
    shop.control.backoffice_refund(tx, amount=5000)
    shop.control.wait_callbacks()
    from dintero_django.services.sync import sync_payment

    sync_payment(payment.pk)
    payment.refresh_from_db()
    assert (payment.captured_amount, payment.refunded_amount) == (20000, 5000)
    order_id = payment.order.dintero_order_id
    assert [sum(i["amount"] for i in r["items"]) for r in remote_records(order_id, "captures")] == [20000]
    assert [sum(i["amount"] for i in r["items"]) for r in remote_records(order_id, "refunds")] == [5000]
    adopted = Operation.objects.filter(payment=payment, reference__startswith="dx-")
    assert sorted(adopted.values_list("kind", flat=True)) == ["capture", "refund"]
