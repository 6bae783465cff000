"""Prefilled customer: phone in E.164, empty or invalid values left out, B2B, storefront 400."""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django.client import CheckoutClient
from dintero_django.customer import (
    Address,
    CustomerDetails,
    InvalidPhone,
    apply_customer,
    normalise_phone,
    order_address,
    session_customer,
)
from tests.helpers import active_payment

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("41234567", "+4741234567"),
        ("+47 412 34 567", "+4741234567"),
        ("0047 912 34 567", "+4791234567"),
        ("+46 70 123 45 67", "+46701234567"),
    ],
)
def test_phone_is_normalised_to_e164(raw: str, expected: str) -> None:
    assert normalise_phone(raw, "NO") == expected


@pytest.mark.parametrize("raw", ["12", "call me", "+4712345678", ""])
def test_invalid_phone_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw, "NO")


def test_empty_and_invalid_values_are_left_out() -> None:
    details = CustomerDetails(email="not-an-email", phone=" ", customer_id="")

    assert session_customer(details, "NO") == {}
    assert order_address(Address(first_name=" ", phone_number="x", country="Norway"), "NO") is None


def test_address_keeps_what_is_valid() -> None:
    address = Address(
        first_name="Kari",
        last_name="",
        address_line="Gaustadalleen 21",
        postal_code="0349",
        postal_place="Oslo",
        country="no",
        phone_number="412 34 567",
        email="kari@",
        business_name="Kari AS",
        organization_number="987654321",
    )

    assert order_address(address, "NO") == {
        "first_name": "Kari",
        "address_line": "Gaustadalleen 21",
        "postal_code": "0349",
        "postal_place": "Oslo",
        "country": "NO",
        "phone_number": "+4741234567",
        "business_name": "Kari AS",
        "organization_number": "987654321",
    }


def test_b2b_opens_the_checkout_as_a_business() -> None:
    body: dict[str, Any] = {"order": {}}

    apply_customer(body, CustomerDetails(email="a@b.no", customer_type="b2b"), "NO")

    assert body == {
        "order": {},
        "customer": {"email": "a@b.no"},
        "configuration": {"default_customer_type": "b2b"},
    }


# -- end to end: storefront -> session at the emulator ----------------------------------


def _session(public_id: str) -> dict[str, Any]:
    return CheckoutClient().get_session(active_payment(public_id).session_id)


def test_storefront_phone_reaches_the_session_in_e164(shop: Any) -> None:
    order = shop.create_order(email="kari@example.no", phone="412 34 567")
    assert order["phone"] == "+4741234567"

    assert shop.checkout(order["id"]).status_code == 200

    assert _session(order["id"])["customer"] == {"email": "kari@example.no", "phone_number": "+4741234567"}


def test_no_customer_means_no_customer_object(shop: Any) -> None:
    order = shop.create_order()

    assert shop.checkout(order["id"]).status_code == 200

    session = _session(order["id"])
    assert "customer" not in session
    assert "shipping_address" not in session["order"]


@pytest.mark.parametrize("phone", ["12", "call me", "+4712345678"])
def test_unparseable_phone_is_a_clear_400(shop: Any, phone: str) -> None:
    response = shop.api(
        "POST",
        "/api/dintero/orders/",
        json={
            "currency": "NOK",
            "phone": phone,
            "lines": [{"description": "x", "quantity": 1, "unit_amount": 100}],
        },
    )

    assert response.status_code == 400, response.text
    assert list(response.json()) == ["phone"]
    assert "valid phone number" in response.json()["phone"][0]


def test_adapter_addresses_and_b2b_reach_the_session(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "ADAPTER": "tests.adapters.PrefillingAdapter"}
    order = shop.create_order(email="ola@example.no")

    assert shop.checkout(order["id"]).status_code == 200

    session = _session(order["id"])
    assert session["customer"] == {
        "email": "ola@example.no",
        "phone_number": "+4791234567",
        "customer_id": "c-42",
    }
    assert session["order"]["shipping_address"] == {
        "first_name": "Ola",
        "last_name": "Nordmann",
        "address_line": "Storgata 1",
        "postal_code": "0155",
        "postal_place": "Oslo",
        "country": "NO",
    }
    assert session["order"]["billing_address"] == {
        "business_name": "Nordmann AS",
        "organization_number": "987654321",
        "organization_type": "AS",
        "country": "NO",
        "phone_number": "+4791234567",
    }
    assert session["configuration"]["default_customer_type"] == "b2b"
