"""Remote calls the flow makes: none redundant, and fewer never at the cost of safety.

Counts come from the emulator's request log. The minimum per order and why each
call is needed are in docs/performance.md (bench/remote_calls.py measures 200 orders).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command

from dintero_django.models import Operation, Payment
from dintero_django.services import money, sync
from tests.helpers import remote_records, signed_callback, start_and_pay

pytestmark = pytest.mark.timeout(90)


def calls(shop: Any) -> Counter[str]:
    return Counter(str(entry["operation"]) for entry in shop.control.requests_log())


def test_checkout_and_authorization_make_only_needed_calls(shop: Any) -> None:
    _order, payment, _tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED

    assert calls(shop) == {
        "token": 1,
        "draft_create": 1,
        "draft_complete": 1,  # no read-back first: nothing was tried before
        "session_create": 1,
        "transaction_get": 1,
        "order_op_create": 1,  # no read before write: the first attempt cannot have landed
    }


def test_lost_authorization_record_is_read_back_not_sent_twice(shop: Any) -> None:
    shop.control.add_fault(operation="order_op_create", action="error_after", status=500, times=1)
    _order, payment, _tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    record = Operation.objects.get(payment=payment, kind=Operation.Kind.RECORD_AUTHORIZATION)
    assert record.state == Operation.State.UNKNOWN and record.attempts == 1

    call_command("dintero_reconcile", "--older-than", "0")

    record.refresh_from_db()
    assert record.state == Operation.State.SUCCEEDED
    made = calls(shop)
    assert made["order_op_list"] == 1, "read back once, after the unknown outcome"
    assert made["order_op_create"] == 1, "never sent twice"
    assert len(remote_records(str(payment.order.dintero_order_id), "authorizations")) == 1


def test_captures_and_refund_are_recorded_without_reading_first(shop: Any) -> None:
    _order, payment, _tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    before = calls(shop)

    for operation in (
        money.capture(payment.pk, quantities={1: 2}),
        money.capture(payment.pk),
        money.refund(payment.pk, amount=9900, reason="damaged"),
    ):
        assert operation.state == Operation.State.SUCCEEDED
        assert operation.records.get().state == Operation.State.SUCCEEDED
    shop.control.wait_callbacks()

    made = calls(shop) - before
    assert made["capture"] == 2 and made["refund"] == 1
    assert made["order_op_create"] == 3
    assert made["order_op_list"] == 0, "a first attempt needs no read before write"
    assert len(remote_records(str(payment.order.dintero_order_id), "captures")) == 2
    assert len(remote_records(str(payment.order.dintero_order_id), "refunds")) == 1


def test_event_callback_of_an_applied_event_reads_nothing(shop: Any) -> None:
    _order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    capture = money.capture(payment.pk, amount=10000)
    shop.control.wait_callbacks()  # its CAPTURE event callback (read or not: a race with our answer)
    read = calls(shop)["transaction_get"]

    # What the CAPTURE event callback's sync does once our own answer is applied:
    sync.sync_payment(payment.pk, event_id=capture.remote_id)
    assert calls(shop)["transaction_get"] == read

    # Once a callback announced another event (this sync then stands for it too), it reads.
    params = {
        "transaction_id": str(tx),
        "session_id": str(payment.session_id),
        "merchant_reference": str(payment.order.dintero_order_id),
        "event": "REFUND",
        "event_id": "another-event",
    }
    assert signed_callback(shop, params).status_code == 200
    read = calls(shop)["transaction_get"]
    sync.sync_payment(payment.pk, event_id=capture.remote_id)
    assert calls(shop)["transaction_get"] == read + 1


def test_checkout_queues_no_push_of_its_own(shop: Any, monkeypatch: Any) -> None:
    """Checkout completes the draft itself, under the order's lease: a push task queued
    by placing the order would only find the lease taken, retry, and hold it later."""
    from dintero_django import receivers

    order = shop.create_order()
    queued: list[int] = []
    monkeypatch.setattr(receivers, "schedule_push", queued.append)

    assert shop.checkout(order["id"]).status_code == 200

    assert queued == []
    assert calls(shop)["draft_complete"] == 1
