"""Security of the storefront and staff API, the example shop's cart, the emulator (issue 13).

Each attack an outsider found, as it was made (over HTTP, against the live server and the
emulator), plus a Hypothesis property over every public view: any query string, headers
and body get an answer below 500, and change nothing they have no authority to change.
(The callback header, the return view and the admin are in test_security.py.)
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.test import Client
from rest_framework.throttling import ScopedRateThrottle

from dintero_django.adapters import DefaultOrderAdapter, LineInput
from dintero_django.models import Order, Payment

from .harness.admin import make_user

pytestmark = [pytest.mark.sqlite_leg, pytest.mark.timeout(600)]

ORDERS = "/api/dintero/orders/"
CATALOGUE = "tests.adapters.CataloguePricedAdapter"


def _use_adapter(settings: Any, path: str, **extra: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "ADAPTER": path, **extra}


def _line(**fields: Any) -> dict[str, Any]:
    return {"product_id": "chair", "description": "Chair", "quantity": 1, "unit_amount": 19900, **fields}


# -- the currency belongs to the shop ------------------------------------------------------


@pytest.mark.parametrize("currency", ["IDR", "XXX", "ABC", "SEK"])
def test_the_customer_cannot_choose_the_currency(shop: Any, currency: str) -> None:
    """Attack: an order priced in NOK by the catalogue was created in IDR and paid as 56800 IDR."""
    response = shop.api("POST", ORDERS, json={"currency": currency, "lines": [_line()]})
    assert response.status_code == 400, response.text
    assert "NOK" in response.json()["currency"][0]
    assert Order.objects.count() == 0


def test_the_order_is_in_the_shops_currency(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "CURRENCY": "SEK"}
    assert shop.api("POST", ORDERS, json={"lines": [_line()]}).json()["currency"] == "SEK"
    assert shop.api("POST", ORDERS, json={"currency": "NOK", "lines": [_line()]}).status_code == 400


def test_a_shop_may_take_several_currencies(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "CURRENCIES": ["NOK", "SEK"]}
    assert shop.api("POST", ORDERS, json={"lines": [_line()]}).json()["currency"] == "NOK"
    assert shop.api("POST", ORDERS, json={"currency": "SEK", "lines": [_line()]}).json()["currency"] == "SEK"
    refused = shop.api("POST", ORDERS, json={"currency": "EUR", "lines": [_line()]})
    assert refused.status_code == 400 and "NOK, SEK" in refused.json()["currency"][0]


# -- bodies that broke the parser ------------------------------------------------------------


DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize(
    "body",
    [DEEP, '{"lines": ' + DEEP + "}", '{"currency": "NOK", "lines": [{"quantity": 1' + "0" * 5000 + "}]}"],
    ids=["deep", "deep-lines", "5000-digits"],
)
def test_hostile_json_is_a_400_on_every_api_view(shop: Any, django_user_model: Any, body: str) -> None:
    """Attack: JSON nested 1,000 deep was a RecursionError (500), on the storefront and staff API."""
    order = shop.create_order()
    headers = {"Content-Type": "application/json"}
    for path in (ORDERS, f"{ORDERS}{order['id']}/checkout/"):
        response = shop.api("POST", path, data=body, headers=headers)
        assert response.status_code == 400, (path, response.status_code, response.text[:300])
    staff = _logged_in(shop.url, make_user(django_user_model, "root", superuser=True))
    # A payment, so that the staff views read the body.
    Payment.objects.create(order=Order.objects.get(public_id=order["id"]), amount=1, currency="NOK")
    for kind in ("capture", "refund", "cancel"):
        path = f"/api/dintero/staff/orders/{order['id']}/{kind}/"
        response = staff.post(shop.url + path, data=body, headers=headers, timeout=30)
        assert response.status_code == 400, (path, response.status_code, response.text[:300])
    assert Order.objects.count() == 1


def _logged_in(base: str, user: Any) -> requests.Session:
    client = Client()
    client.force_login(user)
    http = requests.Session()
    http.trust_env = False
    http.cookies.set("sessionid", client.cookies["sessionid"].value)
    http.get(f"{base}/admin/login/", timeout=30)  # sets the CSRF cookie
    http.headers.update({"X-CSRFToken": http.cookies.get("csrftoken", ""), "Referer": base})
    return http


# -- orders that cannot be paid ----------------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        [{"description": "Shipping", "type": "shipping", "quantity": 1, "unit_amount": 9900}],
        [{"description": "Fee", "type": "surcharge", "quantity": 1, "unit_amount": 100}],
        [_line(unit_amount=0), {"description": "Post", "type": "shipping", "quantity": 1, "unit_amount": 99}],
    ],
    ids=["shipping-only", "surcharge-only", "free-product-and-shipping"],
)
def test_an_order_with_nothing_to_pay_for_is_refused(shop: Any, lines: list[dict[str, Any]]) -> None:
    """Attack: an order of one shipping line was accepted, then paid with 0 authorized."""
    response = shop.api("POST", ORDERS, json={"lines": lines})
    assert response.status_code == 400, response.text
    assert "product line" in response.json()["lines"][0]
    assert Order.objects.count() == 0


class FreeGiftAdapter(DefaultOrderAdapter):
    """A shop that gives things away: its hook lets a free order through."""

    def validate_lines(self, lines: list[LineInput], request: Any) -> None:
        return None


def test_the_adapter_may_allow_free_orders(shop: Any, settings: Any) -> None:
    _use_adapter(settings, f"{__name__}.FreeGiftAdapter")
    order = shop.create_order([_line(unit_amount=0)])
    assert order["amount"] == 0


def test_a_total_over_int32_after_pricing_is_refused(shop: Any, settings: Any) -> None:
    """Attack: 100 lines of 10,000 units, cheap as sent, re-priced by the catalogue above int32."""
    _use_adapter(settings, CATALOGUE)
    lines = [{"product_id": "table", "quantity": 10_000, "description": "x", "unit_amount": 1}] * 100
    response = shop.api("POST", ORDERS, json={"lines": lines})
    assert response.status_code == 400, response.text
    assert "exceeds 2147483647" in response.json()["lines"][0]
    assert Order.objects.count() == 0


# -- a catalogue-priced storefront: {product_id, quantity} is a whole line (issue 20) ----------


def test_a_catalogue_priced_line_needs_only_product_and_quantity(shop: Any, settings: Any) -> None:
    _use_adapter(settings, CATALOGUE)
    order = shop.create_order([{"product_id": "chair", "quantity": 2}])
    assert order["amount"] == 2 * 19900
    missing = shop.api("POST", ORDERS, json={"lines": [{"quantity": 2}, {"product_id": "", "quantity": 1}]})
    assert missing.status_code == 400
    errors = missing.json()["lines"]  # by line index: {"0": {...}, "1": {...}}
    assert [errors[i]["product_id"][0] for i in ("0", "1")] == [
        "Give the product_id: this shop prices each line from its catalogue."
    ] * 2


def test_the_schema_says_which_line_fields_the_adapter_needs(
    shop: Any, settings: Any, admin_user: Any
) -> None:
    client = Client()
    client.force_login(admin_user)

    def required() -> set[str]:
        schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
        line = schema["components"]["schemas"]["Line"]
        read_only = {name for name, field in line["properties"].items() if field.get("readOnly")}
        return set(line.get("required", [])) - read_only

    assert {"description", "quantity", "unit_amount"} <= required()
    _use_adapter(settings, CATALOGUE)
    assert required() == {"product_id", "quantity"}


# -- the throttle ------------------------------------------------------------------------------


@pytest.mark.parametrize("proxies", ["as-the-example-project", 1])
def test_the_throttle_counts_the_real_client_whatever_x_forwarded_for_says(
    shop: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, proxies: Any
) -> None:
    """Attack: a new X-Forwarded-For per request was a new client each time (130 orders, 130 drafts).

    First as the example project is configured (no proxy in front); then with one proxy in
    front, where the address the proxy appends counts, not what the client wrote.
    """
    import example_project.settings as example

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"dintero_orders": "3/hour"})
    if proxies != 1:
        proxies = example.REST_FRAMEWORK.get("NUM_PROXIES")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    statuses = []
    for n in range(6):
        spoofed = f"198.51.100.{n}" + (", 203.0.113.9" if proxies else "")  # the proxy adds the last one
        response = shop.api("POST", ORDERS, json={"lines": [_line()]}, headers={"X-Forwarded-For": spoofed})
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429, 429, 429]
    assert Order.objects.count() == 3


# -- the example shop's cart -------------------------------------------------------------------


@pytest.fixture
def cart(settings: Any, transactional_db: None) -> Client:
    from example_project.shop.catalog import seed_products

    settings.ROOT_URLCONF = "tests.browser.urls"
    seed_products()
    return Client()  # raise_request_exception: a 500 fails the test with its traceback


@pytest.mark.parametrize("quantity", ["²", "1" * 4300, "٣", "-1", "", "1e3"])
def test_the_cart_answers_a_bad_quantity_with_a_message(cart: Client, quantity: str) -> None:
    """Attack: the quantity "²" (isdigit, not int) or 4,300 digits (int's limit) was a 500."""
    from example_project.shop.models import Product

    socks = Product.objects.get(slug="wool-socks")
    added = cart.post("/cart/add/wool-socks/", {"quantity": quantity}, follow=True)
    assert added.status_code == 200
    assert "Quantity must be a whole number" in added.content.decode()
    cart.post("/cart/add/wool-socks/", {"quantity": "2"})
    updated = cart.post("/cart/update/", {f"quantity-{socks.pk}": quantity}, follow=True)
    assert "Quantity must be a whole number" in updated.content.decode()
    removed = cart.post("/cart/update/", {"remove": quantity}, follow=True)
    assert removed.status_code == 200
    assert cart.session["shop_cart"] == {str(socks.pk): 2}


# -- the emulator ------------------------------------------------------------------------------


def test_the_emulator_never_prints_its_client_secret() -> None:
    """Attack: the start-up banner showed the client secret (terminal scroll-back, CI logs)."""
    import signal

    from tests.emulator.test_server import _Cli

    secret = "s3cret-nobody-should-see-7f1c"
    cli = _Cli("--port", "0", DINTERO_EMULATOR_CLIENT_SECRET=secret)
    output = cli.finish(signal.SIGTERM)
    assert "listening on" in cli.banner
    assert "--client-secret or DINTERO_EMULATOR_CLIENT_SECRET" in cli.banner
    assert not re.search(re.escape(secret[:6]), output)


# -- a checkout that keeps failing -------------------------------------------------------------


@pytest.mark.parametrize(("action", "status"), [("error_before", 400), ("error_after", 500)])
def test_a_failing_checkout_does_not_add_a_payment_per_post(shop: Any, action: str, status: int) -> None:
    """Attack: a session Dintero refuses (a total over int32) made checkout answer 202 for good,
    and every POST added another Payment row. Now each POST retries the same payment."""
    order = shop.create_order()
    shop.control.add_fault(operation="session_create", action=action, status=status, times=5)
    for _ in range(5):
        response = shop.checkout(order["id"])
        assert response.status_code == 202, response.text
        assert response.json()["checkout_error"]
    assert Payment.objects.filter(order__public_id=order["id"]).count() == 1
    ready = shop.checkout(order["id"])
    assert ready.status_code == 200 and ready.json()["payment"]["checkout_url"]
    assert Payment.objects.filter(order__public_id=order["id"]).count() == 1
