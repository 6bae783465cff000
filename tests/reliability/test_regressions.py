"""Focused regression tests for bugs the reliability battery found (one per fix)."""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django.models import Operation, Payment
from dintero_django.services import money
from tests.helpers import start_and_pay

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
