"""Auto-capture per order, end to end: the adapter asks for it, Dintero (the emulator)
captures at authorization, and the app records each step exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dintero_django import signals
from dintero_django.client import CheckoutClient
from dintero_django.models import Payment
from dintero_django.services.sync import sync_payment
from tests.helpers import active_payment, remote_records, request_count, start_and_pay

pytestmark = pytest.mark.timeout(60)

DIGITAL = [
    {"product_id": "ebook", "description": "E-book", "type": "digital", "quantity": 1, "unit_amount": 14900},
    {"product_id": "course", "description": "Course", "type": "service", "quantity": 2, "unit_amount": 4950},
]


@pytest.fixture
def received() -> Iterator[dict[str, list[int]]]:
    seen: dict[str, list[int]] = {"authorized": [], "captured": []}

    def authorized(payment: Payment, amount: int, **_: Any) -> None:
        seen["authorized"].append(amount)

    def captured(payment: Payment, amount: int, **_: Any) -> None:
        seen["captured"].append(amount)

    signals.payment_authorized.connect(authorized, weak=False, dispatch_uid="h15-auth")
    signals.payment_captured.connect(captured, weak=False, dispatch_uid="h15-capt")
    yield seen
    signals.payment_authorized.disconnect(dispatch_uid="h15-auth")
    signals.payment_captured.disconnect(dispatch_uid="h15-capt")


@pytest.fixture
def auto_capture_shop(shop: Any, settings: Any) -> Any:
    settings.DINTERO = {**settings.DINTERO, "ADAPTER": "tests.adapters.DigitalAutoCaptureAdapter"}
    return shop


def test_digital_order_is_captured_once_and_recorded_once(
    auto_capture_shop: Any, received: dict[str, list[int]]
) -> None:
    shop = auto_capture_shop
    order, payment, tx = start_and_pay(shop, "AUTHORIZED", lines=DIGITAL)
    shop.control.wait_callbacks()

    session = CheckoutClient().get_session(payment.session_id)
    assert session["configuration"]["auto_capture"] is True
    payment.refresh_from_db()
    assert payment.status == "CAPTURED"
    assert payment.captured_amount == payment.authorized_amount == order["amount"] == 24800
    assert request_count(shop, "capture") == 0, "Dintero captured; the app sent no capture"
    order_id = payment.order.dintero_order_id
    [authorization] = remote_records(order_id, "authorizations")
    [capture] = remote_records(order_id, "captures")
    assert sum(item["amount"] for item in authorization["items"]) == order["amount"]
    assert sum(item["amount"] for item in capture["items"]) == order["amount"]
    assert received == {"authorized": [24800], "captured": [24800]}

    # Another callback or a reconcile pass reads the transaction again: nothing repeats.
    sync_payment(payment.pk, tx)
    shop.control.wait_callbacks()

    assert len(remote_records(order_id, "authorizations")) == 1
    assert len(remote_records(order_id, "captures")) == 1
    assert received == {"authorized": [24800], "captured": [24800]}


def test_order_with_something_to_ship_is_not_auto_captured(
    auto_capture_shop: Any, received: dict[str, list[int]]
) -> None:
    shop = auto_capture_shop
    order, payment, _ = start_and_pay(shop, "AUTHORIZED")  # chairs, a table and shipping
    shop.control.wait_callbacks()

    assert CheckoutClient().get_session(payment.session_id)["configuration"].get("auto_capture") is not True
    payment = active_payment(order["id"])
    assert payment.status == "AUTHORIZED" and payment.captured_amount == 0
    assert remote_records(payment.order.dintero_order_id, "captures") == []
    assert received == {"authorized": [order["amount"]], "captured": []}
