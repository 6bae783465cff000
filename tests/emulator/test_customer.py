"""The session's prefilled customer: what the spec states is refused with a 400."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .support import SESSION_ORDER, Api


def _order(**extra: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SESSION_ORDER), **extra}


def test_customer_and_addresses_are_stored(api: Api) -> None:
    address = {"first_name": "Kari", "country": "NO", "phone_number": "+4741234567", "postal_code": "0349"}
    session_id = api.create_session(
        customer={"email": "kari@example.no", "phone_number": "+4741234567"},
        order=_order(shipping_address=address, billing_address=address),
        configuration={"default_customer_type": "b2b"},
    )

    session = api.get(f"/v1/sessions/{session_id}").json()

    assert session["customer"] == {"email": "kari@example.no", "phone_number": "+4741234567"}
    assert session["order"]["shipping_address"] == address
    assert session["configuration"]["default_customer_type"] == "b2b"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"order": _order(shipping_address={"phone_number": ""})}, "order.shipping_address.phone_number"),
        (
            {"order": _order(billing_address={"phone_number": "call me"})},
            "order.billing_address.phone_number",
        ),
        ({"order": _order(shipping_address={"country": "Norway"})}, "order.shipping_address.country"),
        ({"order": _order(shipping_address={"postal_code": 349})}, "order.shipping_address.postal_code"),
        ({"order": _order(shipping_address="Oslo")}, "order.shipping_address"),
        ({"customer": {"phone_number": 4741234567}}, "customer.phone_number"),
        ({"configuration": {"default_customer_type": "b2x"}}, "configuration.default_customer_type"),
    ],
)
def test_malformed_customer_is_400(api: Api, extra: dict[str, Any], field: str) -> None:
    response = api.post("/v1/sessions-profile", json=api.session_body(**extra))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(f"{field}:")
