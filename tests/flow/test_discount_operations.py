"""Partial captures and refunds of a discounted order: per line, exact, no drift.

A Hypothesis property, checked against the emulator's own arithmetic: after every
operation in any sequence, the per-line amounts we hold equal the per-line sums of
the emulator's transaction events and of its Orders-API records; a final capture
and refund of what is left lands every line exactly on its discounted amount.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dintero_django.client import CheckoutClient
from dintero_django.exceptions import PaymentError
from dintero_django.models import Payment
from dintero_django.services import money
from dintero_django.services.balances import line_balances, units_left
from tests.helpers import remote_records

pytestmark = pytest.mark.timeout(600)

LINE = st.fixed_dictionaries(
    {
        "quantity": st.integers(1, 4),
        "unit_amount": st.integers(100, 30000),
        "vat_percent": st.sampled_from(["25", "15", "12", "0"]),
        "discount_share": st.integers(0, 50),  # percent of the line, as an integer discount
    }
)
OPERATION = st.tuples(
    st.sampled_from(["capture", "refund"]),
    st.one_of(
        st.tuples(st.just("amount"), st.integers(1, 100)),  # percent of what is left
        st.tuples(st.just("units"), st.integers(0, 2), st.integers(1, 4)),  # line index, units
    ),
)


def _request_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(lines, start=1):
        gross = line["quantity"] * line["unit_amount"]
        discount = gross * line["discount_share"] // 100
        out.append(
            {
                "description": f"Line {number}",
                "quantity": line["quantity"],
                "unit_amount": line["unit_amount"],
                "vat_percent": line["vat_percent"],
                **({"discounts": [{"amount": discount, "discount_type": "customer"}]} if discount else {}),
            }
        )
    return out


def _by_line(events: list[dict[str, Any]]) -> dict[str, dict[int, int]]:
    moved: dict[str, dict[int, int]] = {"CAPTURE": defaultdict(int), "REFUND": defaultdict(int)}
    for event in events:
        if event.get("success") and event.get("event") in moved:
            for item in event.get("items") or []:
                moved[event["event"]][int(item["line_id"])] += int(item["amount"])
    return moved


def _records_by_line(order_id: str, collection: str) -> dict[int, int]:
    moved: dict[int, int] = defaultdict(int)
    for record in remote_records(order_id, collection):  # type: ignore[arg-type]
        for item in record.get("items") or []:
            moved[int(item["line_id"])] += int(item["amount"])
    return moved


def _assert_agree(payment: Payment, tx_id: str) -> None:
    payment.refresh_from_db()
    ours = line_balances(payment)
    tx = CheckoutClient().get_transaction(tx_id)
    theirs = _by_line(tx.get("events") or [])
    order_id = str(payment.order.dintero_order_id)
    captures, refunds = _records_by_line(order_id, "captures"), _records_by_line(order_id, "refunds")
    for balance in ours:
        number = balance.line.line_id
        assert 0 <= balance.refunded <= balance.captured <= balance.line.amount
        assert balance.captured == theirs["CAPTURE"][number] == captures[number]
        assert balance.refunded == theirs["REFUND"][number] == refunds[number]
    assert payment.captured_amount == sum(b.captured for b in ours) == tx.get("amount", 0) - _uncaptured(tx)
    assert payment.refunded_amount == sum(b.refunded for b in ours)


def _uncaptured(tx: dict[str, Any]) -> int:
    captured = sum(
        e["amount"] for e in tx.get("events") or [] if e.get("success") and e["event"] == "CAPTURE"
    )
    return int(tx["amount"]) - captured


def _run(payment: Payment, kind: str, how: tuple[Any, ...]) -> None:
    payment.refresh_from_db()
    room = payment.capturable if kind == "capture" else payment.refundable
    if room <= 0:
        return
    operate = money.capture if kind == "capture" else money.refund
    extra = {} if kind == "capture" else {"reason": "test"}
    if how[0] == "amount":
        operate(payment.pk, amount=max(1, room * how[1] // 100), **extra)
        return
    balances = line_balances(payment)
    balance = balances[how[1] % len(balances)]
    units = min(how[2], balance.line.quantity)
    left = units_left(balance, money.Kind.CAPTURE if kind == "capture" else money.Kind.REFUND)
    if units <= left:  # whole units still there are always worth what is left of them
        operate(payment.pk, quantities={balance.line.line_id: units}, **extra)
        return
    before = (payment.captured_amount, payment.refunded_amount)
    with pytest.raises(PaymentError, match="unit"):
        operate(payment.pk, quantities={balance.line.line_id: units}, **extra)
    payment.refresh_from_db()
    assert (payment.captured_amount, payment.refunded_amount) == before


@settings(
    max_examples=8,
    deadline=None,
    # Each example is a whole checkout over HTTP: no shrinking (minutes); the failing
    # example is printed as generated.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(
    lines=st.lists(LINE, min_size=1, max_size=3),
    summer=st.booleans(),
    operations=st.lists(OPERATION, max_size=6),
)
def test_partial_operations_split_per_line_exactly(
    coupon_shop: Any, lines: list[dict[str, Any]], summer: bool, operations: list[Any]
) -> None:
    body = _request_lines(lines)
    codes = ["SUMMER20"] if summer else []
    order = coupon_shop.create_order(body, discount_codes=codes)
    _, payment, tx = start_and_pay_existing(coupon_shop, order)
    for kind, how in operations:
        _run(payment, kind, how)
        _assert_agree(payment, tx)

    payment.refresh_from_db()
    if payment.capturable:
        money.capture(payment.pk)
    payment.refresh_from_db()
    if payment.refundable:
        money.refund(payment.pk, reason="all back")
    _assert_agree(payment, tx)
    for balance in line_balances(payment):
        assert balance.captured == balance.refunded == balance.line.amount
    assert payment.captured_amount == payment.refunded_amount == payment.amount == order["amount"]


def start_and_pay_existing(shop: Any, order: dict[str, Any]) -> tuple[dict[str, Any], Payment, str]:
    response = shop.checkout(order["id"])
    assert response.status_code == 200, response.text
    payment = Payment.objects.get(order__public_id=order["id"], is_active=True)
    paid = shop.control.pay(payment.session_id, "AUTHORIZED")
    shop.control.wait_callbacks()
    return order, payment, str(paid["transaction_id"])


@pytest.fixture
def coupon_shop(shop: Any, settings: Any) -> Any:
    settings.DINTERO = {**settings.DINTERO, "ADAPTER": "tests.adapters.CouponAdapter"}
    return shop
