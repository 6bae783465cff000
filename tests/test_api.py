"""dintero_django.api, the shop's own entry point: the admin's guarantees, over real HTTP."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.db import transaction

from dintero_django import api
from dintero_django.models import Operation, Payment
from example_project.shop.management.commands.mark_shipped import Command as MarkShipped
from tests.helpers import start_and_pay

pytestmark = pytest.mark.timeout(120)
TOTAL = 99600


@pytest.fixture
def paid(shop: Any) -> Payment:
    _order, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    return payment


def test_marking_shipped_captures_once(shop: Any, paid: Payment) -> None:
    """The example shop's charge-on-dispatch: shipping twice moves the money once."""
    out = StringIO()
    MarkShipped(stdout=out).run_from_argv(["manage.py", "mark_shipped", str(paid.order.public_id)])
    assert "succeeded" in out.getvalue()
    paid.refresh_from_db()
    assert paid.captured_amount == TOTAL
    with pytest.raises(api.PaymentError):
        api.capture(paid.order)  # nothing left: refused, nothing sent
    transaction_ = shop.control.transaction(paid.transaction_id)
    assert [e["amount"] for e in transaction_["events"] if e["event"] == "CAPTURE"] == [TOTAL]


def test_capture_refund_by_reference_and_lines(shop: Any, paid: Payment) -> None:
    order = paid.order
    first = api.capture(str(order.dintero_order_id), quantities={1: 1})
    assert first.state == Operation.State.SUCCEEDED and first.amount == 19900
    refund = api.refund(order.public_id, amount=500, reason="scratch")
    assert refund.state == Operation.State.SUCCEEDED and refund.amount == 500
    paid.refresh_from_db()
    assert (paid.captured_amount, paid.refunded_amount) == (19900, 500)
    with pytest.raises(api.PaymentError, match="reason"):
        api.refund(order, amount=1, reason=" ")
    with pytest.raises(api.PaymentError):
        api.refund(order, amount=19901, reason="too much")


def test_cancel_then_nothing_to_capture(shop: Any, paid: Payment) -> None:
    assert api.cancel(paid.order).state == Operation.State.SUCCEEDED
    with pytest.raises(api.PaymentError, match="no authorized payment"):
        api.capture(paid.order)


def test_refuses_inside_a_transaction_and_unknown_orders(shop: Any, paid: Payment) -> None:
    with transaction.atomic(), pytest.raises(RuntimeError, match="after your transaction commits"):
        api.capture(paid.order)
    assert not Operation.objects.filter(kind="capture").exists()
    with pytest.raises(api.PaymentError, match="No Dintero order"):
        api.capture("no-such-order")
