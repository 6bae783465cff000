"""Discounts and gift cards: exact integer arithmetic, and the storefront end to end."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dintero_django.client import CheckoutClient
from dintero_django.discounts import spread, units_done, units_value
from dintero_django.models import Order, vat_of
from tests.helpers import active_payment, order_row, remote_records

pytestmark = pytest.mark.timeout(90)


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=12), st.data())
def test_spread_is_exact_and_never_exceeds_a_weight(weights: list[int], data: Any) -> None:
    amount = data.draw(st.integers(0, sum(weights)))

    shares = spread(amount, weights)

    assert sum(shares) == amount
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))


@given(st.integers(1, 10**7), st.integers(1, 50), st.data())
def test_any_sequence_of_partial_units_adds_up_to_the_line(amount: int, quantity: int, data: Any) -> None:
    amount = max(amount, quantity)  # at least one minor unit per unit (a line is never cheaper)
    moved = 0
    for _ in range(data.draw(st.integers(0, 12))):
        if moved == amount:
            break
        if data.draw(st.booleans()):
            value = units_value(amount, quantity, moved, data.draw(st.integers(1, quantity)))
        else:
            value = data.draw(st.integers(1, amount - moved))  # a partial operation by amount
        assert value >= 0
        moved += value
        assert moved <= amount
        assert units_done(amount, quantity, moved) < quantity or moved == amount

    moved += units_value(amount, quantity, moved, quantity - units_done(amount, quantity, moved))

    assert moved == amount
    assert units_value(amount, quantity, moved, 1) == 0


# -- end to end ------------------------------------------------------------------------


def _lines() -> list[dict[str, Any]]:
    return [
        {
            "product_id": "chair",
            "description": "Stacking chair",
            "quantity": 3,
            "unit_amount": 19900,
            "discounts": [{"amount": 5000, "description": "Bundle", "discount_type": "customer"}],
        },
        {
            "product_id": "lamp",
            "description": "Lamp",
            "quantity": 1,
            "unit_amount": 4999,
            "vat_percent": "15",
        },
        {"description": "Shipping", "type": "shipping", "quantity": 1, "unit_amount": 9900},
    ]


@pytest.fixture
def coupon_shop(shop: Any, settings: Any) -> Any:
    settings.DINTERO = {**settings.DINTERO, "ADAPTER": "tests.adapters.CouponAdapter"}
    return shop


def test_discounted_order_agrees_everywhere(coupon_shop: Any) -> None:
    shop = coupon_shop
    order = shop.create_order(_lines(), discount_codes=["SUMMER20", "GIFT"])
    gross = 3 * 19900 - 5000 + 4999 + 9900  # 69599 after the line discount
    assert order["amount"] == gross - gross * 20 // 100
    assert order["discount_lines"] == [
        {
            "amount": gross * 20 // 100,
            "discount_type": "periodic",
            "line_id": 1,
            "discount_id": "summer20",
            "description": "Summer sale",
            "percentage": 20,
        }
    ]
    row = order_row(order["id"])
    lines = list(row.lines.order_by("line_id"))
    assert sum(line.discount_amount for line in lines) == 5000 + gross * 20 // 100

    assert shop.checkout(order["id"]).status_code == 200

    payment = active_payment(order["id"])
    session = CheckoutClient().get_session(payment.session_id)["order"]
    assert (
        session["amount"] == payment.amount == order["amount"] == sum(i["amount"] for i in session["items"])
    )
    for item, line in zip(session["items"], lines, strict=True):
        assert item["amount"] == line.amount == line.quantity * line.unit_amount - line.discount_amount
        assert item["vat_amount"] == vat_of(line.amount, line.vat_percent)
        assert sum(d["amount"] for d in item["discount_lines"]) == line.discount_amount
    assert session["vat_amount"] == sum(i["vat_amount"] for i in session["items"])
    assert session["discount_codes"] == ["SUMMER20", "GIFT"]
    assert session["discount_lines"] == order["discount_lines"]
    assert session["gift_cards"] == [{"type": "dintero.wallets", "card_id": "card-1", "amount": 10000}]
    # What the emulator's Orders API holds (its control state; the app reads no order back).
    [draft] = [o for o in shop.control.state()["orders"] if o.get("order_id") == row.dintero_order_id]
    assert [i["gross_amount"] for i in draft["items"]] == [line.amount for line in lines]
    assert [i["tax_lines"][0]["amount"] for i in draft["items"]] == [
        i["vat_amount"] for i in session["items"]
    ]

    shop.control.pay(payment.session_id, "AUTHORIZED")
    shop.control.wait_callbacks()

    [authorization] = remote_records(row.dintero_order_id, "authorizations")
    assert [i["amount"] for i in authorization["items"]] == [line.amount for line in lines]


def _post(shop: Any, body: dict[str, Any]) -> Any:
    return shop.api("POST", "/api/dintero/orders/", json={"currency": "NOK", **body})


def test_discount_larger_than_its_line_is_400(shop: Any) -> None:
    line = {
        "description": "Cup",
        "quantity": 2,
        "unit_amount": 100,
        "discounts": [{"amount": 150}, {"amount": 51}],
    }

    response = _post(shop, {"lines": [line]})

    assert response.status_code == 400, response.text
    message = "The discounts (201) exceed the line's amount (200)."
    assert response.json() == {"lines": {"0": {"discounts": [message]}}}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("codes", "message"), [(["NOPE"], "Unknown discount code"), (["HUGE"], "exceeds the order's amount")]
)
def test_bad_discount_code_is_400(coupon_shop: Any, codes: list[str], message: str) -> None:
    response = _post(coupon_shop, {"lines": _lines(), "discount_codes": codes})

    assert response.status_code == 400, response.text
    assert message in response.json()["discount_codes"][0]
    assert not Order.objects.exists()


def test_gift_card_over_the_total_is_400(coupon_shop: Any) -> None:
    order = coupon_shop.create_order(_lines(), discount_codes=["GIFTBIG"])

    response = coupon_shop.checkout(order["id"])

    assert response.status_code == 400, response.text
    assert "exceeds the order total" in response.json()["gift_cards"][0]
    assert not order_row(order["id"]).payments.exists()
