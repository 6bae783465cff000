"""The demo shop in a real browser: products → cart → checkout → Dintero's payment
page (the emulator) → back to the shop, which shows the payment authorized.

Run: ``.venv/bin/pytest tests/browser -m browser`` (Debian's chromium and the
playwright package; screenshots land in test-artifacts/browser/<test>/).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dintero_django.money_format import format_money

try:
    from playwright.sync_api import Page, expect

    from tests.browser.pages import log_into_admin, open_admin_order
except ImportError:  # the browser fixture says what is missing (and fails when CI is set)
    pass

if TYPE_CHECKING:
    from tests.conftest import Shop

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

HEADLAMP, SOCKS, SHIPPING = 49900, 19900, 6900
ORDER_PAGE = re.compile(r"/order/(?P<id>[0-9a-f-]{36})/(\?.*)?$")


def pay_on_payment_page(page: Page, shop: Shop, button: str) -> None:
    """On the emulator's hosted payment page, pick an outcome."""
    page.wait_for_url(f"{shop.emulator.url}/v1/view/**")
    expect(page.get_by_role("heading", name="Dintero emulator checkout")).to_be_visible()
    page.get_by_role("button", name=button, exact=True).click()


def test_guest_buys_and_sees_the_payment_authorized(
    demo_shop: Shop,
    admin_user: object,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    total = HEADLAMP + 2 * SOCKS + SHIPPING

    page.goto(demo_shop.url + "/")
    expect(page.get_by_test_id("product")).to_have_count(6)
    screenshot("01-products")

    page.get_by_test_id("add-headlamp").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    page.get_by_test_id("quantity-wool-socks").fill("2")
    page.get_by_test_id("add-wool-socks").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("3")

    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page.get_by_test_id("cart-total")).to_have_attribute("data-amount", str(total))
    screenshot("02-cart")

    page.get_by_test_id("checkout-link").click()
    page.get_by_test_id("checkout-email").fill("kari.nordmann@example.com")
    screenshot("03-checkout")
    page.get_by_test_id("pay-button").click()

    pay_on_payment_page(page, demo_shop, "Authorize")
    screenshot("04-payment-page")

    page.wait_for_url(ORDER_PAGE)
    state = page.get_by_test_id("payment-state")
    expect(state).to_have_attribute("data-state", "authorized")
    expect(page.get_by_test_id("order-total")).to_have_attribute("data-amount", str(total))
    expect(page.get_by_test_id("retry-button")).to_be_hidden()
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    screenshot("05-authorized")

    # The page's claim, checked at the source: the REST API (same guest session)
    # and what the emulator, as Dintero, holds.
    match = ORDER_PAGE.search(page.url)
    assert match is not None
    order_id = match["id"]
    order = page.request.get(f"{demo_shop.url}/api/dintero/orders/{order_id}/").json()
    payment = order["payment"]
    assert (payment["state"], payment["status"]) == ("authorized", "AUTHORIZED")
    assert payment["authorized_amount"] == payment["amount"] == order["amount"] == total
    assert order["email"] == "kari.nordmann@example.com"
    transaction = demo_shop.control.transaction(payment["transaction_id"])
    assert (transaction["status"], transaction["amount"]) == ("AUTHORIZED", total)
    assert [line["type"] for line in order["lines"]] == ["physical", "physical", "shipping"]

    # Staff capture part of it in the admin (the headlamp ships first), then refund part.
    log_into_admin(page, demo_shop.url, "admin", "password")
    open_admin_order(page, demo_shop.url, order_id)
    expect(page.locator("#payments-group")).to_contain_text("Authorized")
    expect(page.get_by_test_id("capturable")).to_have_attribute("data-minor", str(total))
    screenshot("06-admin-order")

    page.get_by_test_id("money-capture").click()
    expect(page.get_by_test_id("limit")).to_have_text(format_money(total, "NOK", "en"))
    page.locator("tr", has_text="Rechargeable headlamp").locator("input").fill("1")
    screenshot("07-capture-confirm")
    page.get_by_test_id("review").click()
    expect(page.get_by_test_id("review-amount")).to_have_text(format_money(HEADLAMP, "NOK", "en"))
    page.get_by_test_id("confirm").click()
    expect(page.locator("ul.messagelist .success")).to_contain_text("succeeded")
    expect(page.get_by_test_id("captured")).to_have_attribute("data-minor", str(HEADLAMP))
    expect(page.get_by_test_id("capturable")).to_have_attribute("data-minor", str(total - HEADLAMP))
    screenshot("08-captured")

    page.get_by_test_id("money-refund").click()
    expect(page.get_by_test_id("limit")).to_have_text(format_money(HEADLAMP, "NOK", "en"))
    page.locator("#id_amount").fill("100")  # kroner, as a clerk types them
    page.locator("#id_reason").fill("Scratched lens")
    page.get_by_test_id("review").click()
    expect(page.get_by_test_id("amount-words")).to_have_text("100.00 Norwegian kroner")
    screenshot("09-refund-confirm")
    page.get_by_test_id("confirm").click()
    expect(page.locator("ul.messagelist .success")).to_contain_text("succeeded")
    expect(page.get_by_test_id("refunded")).to_have_attribute("data-minor", "10000")
    screenshot("10-refunded")

    # What Dintero (the emulator) holds agrees with the page.
    transaction = demo_shop.control.transaction(payment["transaction_id"])
    moved = [(e["event"], e["amount"]) for e in transaction["events"] if e["event"] in ("CAPTURE", "REFUND")]
    assert moved == [("CAPTURE", HEADLAMP), ("REFUND", 10000)]
    assert transaction["status"] == "PARTIALLY_CAPTURED_REFUNDED"
    dintero_order = demo_shop.control.order(order["order_id"])
    assert [sum(i["amount"] for i in c["items"]) for c in dintero_order["captures"]] == [HEADLAMP]
    assert [sum(i["amount"] for i in r["items"]) for r in dintero_order["refunds"]] == [10000]


def test_declined_payment_can_be_paid_again(
    demo_shop: Shop, page: Page, screenshot: Callable[[str], Path]
) -> None:
    page.goto(demo_shop.url + "/")
    page.get_by_test_id("add-trail-map").click()
    page.goto(demo_shop.url + "/checkout/")
    expect(page.get_by_test_id("shipping")).to_have_text("Free")  # digital only
    page.get_by_test_id("pay-button").click()

    pay_on_payment_page(page, demo_shop, "Decline")
    page.wait_for_url(ORDER_PAGE)
    expect(page.get_by_test_id("payment-state")).to_have_attribute("data-state", "failed")
    expect(page.get_by_test_id("cart-count")).to_have_text("1")  # the cart is kept
    screenshot("01-declined")

    page.get_by_test_id("retry-button").click()
    pay_on_payment_page(page, demo_shop, "Authorize")
    page.wait_for_url(ORDER_PAGE)
    expect(page.get_by_test_id("payment-state")).to_have_attribute("data-state", "authorized")
    expect(page.get_by_test_id("order-total")).to_have_attribute("data-amount", "9900")
    screenshot("02-authorized")


def test_bad_quantity_gets_a_message(demo_shop: Shop, page: Page) -> None:
    page.goto(demo_shop.url + "/")
    page.get_by_test_id("quantity-headlamp").evaluate("input => input.removeAttribute('min')")
    page.get_by_test_id("quantity-headlamp").fill("-3")
    page.get_by_test_id("add-headlamp").click()
    expect(page.get_by_test_id("messages")).to_contain_text("whole number between 1 and 99")
    expect(page.get_by_test_id("cart-count")).to_have_text("0")


def test_auto_captured_payment_does_not_promise_a_later_charge(
    demo_shop: Shop, page: Page, screenshot: Callable[[str], Path]
) -> None:
    page.goto(demo_shop.url + "/")
    page.get_by_test_id("add-trail-map").click()
    page.goto(demo_shop.url + "/checkout/")
    page.get_by_test_id("pay-button").click()
    pay_on_payment_page(page, demo_shop, "Authorize with auto-capture")
    page.wait_for_url(ORDER_PAGE)
    expect(page.get_by_test_id("payment-state")).to_have_attribute("data-state", "authorized")
    detail = page.get_by_test_id("payment-detail")
    expect(detail).to_contain_text("charged.")
    expect(detail).not_to_contain_text("charged when we ship")
    screenshot("01-auto-captured")
