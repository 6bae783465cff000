"""The checkout flow end to end over real HTTP: REST → draft → complete → session
→ pay on the emulator → signed callback → sync → authorization recorded."""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django import signals
from dintero_django.models import CallbackDelivery, Operation, Order, Payment
from tests.helpers import (
    active_payment,
    operations,
    order_row,
    remote_records,
    request_count,
    start_and_pay,
)

pytestmark = pytest.mark.timeout(60)


def test_order_becomes_draft_then_completed_order(shop: Any) -> None:
    order = shop.create_order()
    row = order_row(order["id"])
    assert row.dintero_draft_id, "saving a new order creates the Dintero draft"
    assert row.status == Order.Status.DRAFT and not row.completed
    assert order["amount"] == 2 * 19900 + 49900 + 9900

    response = shop.checkout(order["id"])

    assert response.status_code == 200, response.text
    row.refresh_from_db()
    assert row.completed and row.status == Order.Status.OPEN
    assert len(row.dintero_order_id) == 9 and row.dintero_order_id.isalnum()
    remote = shop.control.state()
    orders = remote["orders"] if isinstance(remote, dict) else []
    assert any(o.get("order_id") == row.dintero_order_id for o in orders)
    assert request_count(shop, "draft_create") == 1
    assert request_count(shop, "draft_complete") == 1
    payment = response.json()["payment"]
    assert payment["state"] == "awaiting"
    assert payment["checkout_url"].startswith(shop.emulator.url)


def test_authorized_payment_is_recorded_once(shop: Any) -> None:
    received: list[dict[str, Any]] = []

    def on_authorized(**kwargs: Any) -> None:
        received.append(kwargs)

    signals.payment_authorized.connect(on_authorized, weak=False)
    try:
        order, payment, tx = start_and_pay(shop, "AUTHORIZED")
        shop.control.wait_callbacks()
    finally:
        signals.payment_authorized.disconnect(on_authorized)

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert payment.status == "AUTHORIZED"
    assert payment.transaction_id == tx
    assert payment.authorized_amount == payment.amount == order["amount"]
    assert payment.captured_amount == 0
    records = remote_records(payment.order.dintero_order_id, "authorizations")
    assert len(records) == 1
    assert records[0]["payment_details"]["payment_id"] == tx
    assert sorted(item["line_id"] for item in records[0]["items"]) == [1, 2, 3]
    assert sum(item["amount"] for item in records[0]["items"]) == order["amount"]
    [op] = operations(order["id"], Operation.Kind.RECORD_AUTHORIZATION)
    assert op.state == Operation.State.SUCCEEDED
    assert len(received) == 1 and received[0]["payment"].pk == payment.pk
    delivery = CallbackDelivery.objects.get(payment=payment)
    assert delivery.signature_valid is True and delivery.transaction_id == tx
    assert shop.order(order["id"])["payment"]["state"] == "authorized"


def test_auto_capture_is_authorized_and_captured(shop: Any) -> None:
    order, payment, _ = start_and_pay(shop, "CAPTURED")
    shop.control.wait_callbacks()

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert payment.status == "CAPTURED"
    assert payment.captured_amount == payment.authorized_amount == order["amount"]
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1


@pytest.mark.parametrize(("outcome", "failure"), [("DECLINED", "authorization"), ("FAILED", "failed")])
def test_declined_or_failed_payment_is_marked_failed(shop: Any, outcome: str, failure: str) -> None:
    received: list[Any] = []
    signals.payment_failed.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        order, payment, _ = start_and_pay(shop, outcome)
        shop.control.wait_callbacks()
    finally:
        signals.payment_failed.disconnect(dispatch_uid="t")

    payment.refresh_from_db()
    assert payment.state == Payment.State.FAILED
    assert payment.failure == failure
    assert payment.authorized_amount == 0
    assert remote_records(payment.order.dintero_order_id, "authorizations") == []
    assert len(received) == 1


def test_cancelled_session_then_new_checkout(shop: Any) -> None:
    order, payment, tx = start_and_pay(shop, "CANCELLED")
    shop.control.wait_callbacks()
    assert tx is None
    payment.refresh_from_db()
    assert payment.state == Payment.State.CANCELLED

    again = shop.checkout(order["id"])

    assert again.status_code == 200, again.text
    second = active_payment(order["id"])
    assert second.pk != payment.pk and second.session_id != payment.session_id
    shop.control.pay(second.session_id, "AUTHORIZED")
    shop.control.wait_callbacks()
    second.refresh_from_db()
    assert second.state == Payment.State.AUTHORIZED


def test_on_hold_then_resolved(shop: Any) -> None:
    order, payment, tx = start_and_pay(shop, "ON_HOLD")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.PENDING
    assert payment.status == "ON_HOLD"
    assert remote_records(payment.order.dintero_order_id, "authorizations") == []

    shop.control.resolve(tx, "AUTHORIZED")
    shop.control.wait_callbacks()

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1


def test_restart_cancels_previous_session(shop: Any) -> None:
    order = shop.create_order()
    first = shop.checkout(order["id"]).json()["payment"]["checkout_url"]
    same = shop.checkout(order["id"]).json()["payment"]["checkout_url"]
    assert same == first, "asking again reuses the open session"

    restarted = shop.checkout(order["id"], restart=True)

    assert restarted.status_code == 200
    assert restarted.json()["payment"]["checkout_url"] != first
    old = Payment.objects.get(order__public_id=order["id"], is_active=False)
    assert old.state == Payment.State.SUPERSEDED
    assert shop.control.session(old.session_id)["cancelled_at"]
    assert request_count(shop, "session_cancel") == 1


def test_paid_order_cannot_start_another_checkout(shop: Any) -> None:
    order, payment, _ = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()

    response = shop.checkout(order["id"], restart=True)

    assert response.status_code == 409
    assert Payment.objects.filter(order__public_id=order["id"]).count() == 1
