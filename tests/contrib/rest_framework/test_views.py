"""Storefront REST API: validation, ownership, read-only payment fields, schema."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from dintero_django.models import Operation, Order
from tests.conftest import default_lines

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"description": "x", "quantity": 1, "unit_amount": 10.5}]}, "unit_amount"),
        ({"lines": [{"description": "x", "quantity": 1, "unit_amount": "100"}]}, "unit_amount"),
        ({"lines": [{"description": "x", "quantity": 0, "unit_amount": 100}]}, "quantity"),
        ({"lines": [{"description": "x", "quantity": 1, "unit_amount": -1}]}, "unit_amount"),
        ({"lines": [{"quantity": 1, "unit_amount": 100}]}, "description"),
        (
            {"lines": [{"description": "x", "quantity": 1, "unit_amount": 100, "vat_percent": "101"}]},
            "vat_percent",
        ),
        ({"currency": "nok", "lines": default_lines()}, "currency"),
        ({"lines": [{"description": "x", "quantity": 10000, "unit_amount": 2_000_000}]}, "lines"),
    ],
)
def test_bad_input_gets_field_errors(shop: Any, body: dict[str, Any], field: str) -> None:
    response = shop.api("POST", "/api/dintero/orders/", json={"currency": "NOK", **body})
    assert response.status_code == 400, response.text
    assert field in response.text
    assert Order.objects.count() == 0, "nothing half-written"


def test_payment_fields_are_read_only(shop: Any) -> None:
    order = shop.create_order(status="open", payment={"state": "authorized"}, order_id="HACKED123")
    assert order["status"] == "draft"
    assert order["payment"] is None
    assert order["order_id"] is None


def test_customers_only_see_their_own_orders(shop: Any) -> None:
    mine = shop.create_order()
    stranger = requests.Session()
    for method, path in [
        ("GET", f"/api/dintero/orders/{mine['id']}/"),
        ("POST", f"/api/dintero/orders/{mine['id']}/checkout/"),
    ]:
        response = stranger.request(method, shop.url + path, timeout=10)
        assert response.status_code == 404
    listing = stranger.get(shop.url + "/api/dintero/orders/", timeout=10)
    assert listing.status_code == 200 and listing.json() == []
    assert [o["id"] for o in shop.api("GET", "/api/dintero/orders/").json()] == [mine["id"]]


def test_logged_in_customer_owns_orders(shop: Any, django_user_model: Any) -> None:
    django_user_model.objects.create_user("alice", password="pw")
    django_user_model.objects.create_user("bob", password="pw")
    alice, bob = requests.Session(), requests.Session()
    for session, name in ((alice, "alice"), (bob, "bob")):
        page = session.get(shop.url + "/admin/login/", timeout=10)
        token = page.cookies.get("csrftoken") or session.cookies.get("csrftoken")
        session.post(
            shop.url + "/admin/login/",
            data={"username": name, "password": "pw", "csrfmiddlewaretoken": token},
            headers={"Referer": shop.url + "/admin/login/"},
            timeout=10,
        )
        session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
    created = alice.post(
        shop.url + "/api/dintero/orders/",
        json={"currency": "NOK", "lines": default_lines()},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert bob.get(shop.url + f"/api/dintero/orders/{created.json()['id']}/", timeout=10).status_code == 404
    assert alice.get(shop.url + f"/api/dintero/orders/{created.json()['id']}/", timeout=10).status_code == 200


def test_guessed_ids_are_404(shop: Any) -> None:
    import uuid

    shop.create_order()
    for _ in range(20):
        assert shop.api("GET", f"/api/dintero/orders/{uuid.uuid4()}/").status_code == 404
    assert shop.api("GET", "/api/dintero/orders/not-a-uuid/").status_code == 404


def test_openapi_schema_is_served(shop: Any, admin_user: Any, client: Any) -> None:
    client.force_login(admin_user)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/dintero/orders/{public_id}/checkout/" in schema["paths"]
    order_schema = schema["components"]["schemas"]["Order"]
    assert "payment" in order_schema["properties"]


def test_adapter_prices_lines_from_the_catalogue(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "ADAPTER": "tests.adapters.CataloguePricedAdapter"}
    cheat = [{"product_id": "chair", "description": "Chair", "quantity": 2, "unit_amount": 1}]
    order = shop.create_order(cheat)
    assert order["amount"] == 2 * 19900
    assert order["lines"][0]["unit_amount"] == 19900

    unknown = shop.api(
        "POST",
        "/api/dintero/orders/",
        json={
            "currency": "NOK",
            "lines": [{"product_id": "yacht", "description": "x", "quantity": 1, "unit_amount": 1}],
        },
    )
    assert unknown.status_code == 400
    assert "yacht" in unknown.json()["lines"][0]


def test_checkout_error_is_reported(shop: Any) -> None:
    order = shop.create_order()
    shop.control.add_fault(operation="session_create", action="error_before", status=400, times=1)

    response = shop.checkout(order["id"])

    assert response.status_code == 202
    assert "Checkout session" in response.json()["checkout_error"]
    again = shop.checkout(order["id"])
    assert again.status_code == 200 and again.json()["checkout_error"] is None


def test_a_lost_session_creation_is_settled_when_checkout_gets_its_session(shop: Any) -> None:
    order = shop.create_order()
    shop.control.add_fault(operation="session_create", action="error_after", status=500, times=1)
    assert shop.checkout(order["id"]).status_code == 202
    [lost] = Operation.objects.filter(order__public_id=order["id"], kind="create_session")
    assert lost.state == Operation.State.UNKNOWN

    again = shop.checkout(order["id"])

    assert again.status_code == 200 and again.json()["payment"]["checkout_url"]
    lost.refresh_from_db()
    assert lost.state == Operation.State.SETTLED
    states = Operation.objects.filter(order__public_id=order["id"], kind="create_session").values_list(
        "state", flat=True
    )
    assert sorted(states) == ["settled", "succeeded"]
