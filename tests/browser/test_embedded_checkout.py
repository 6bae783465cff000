"""The embedded checkout: the customer pays inside the shop's page, in the SDK's iframe."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dintero_django.models import Payment

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.conftest import Shop

pytestmark = pytest.mark.timeout(120)

ORDER_PAGE = re.compile(r"/order/[0-9a-f-]{36}/")
PAY_PAGE = re.compile(r"/pay/[0-9a-f-]{36}/$")


@pytest.fixture
def embedded_shop(demo_shop: Shop, settings: Any) -> Shop:
    settings.SHOP_CHECKOUT_MODE = "embedded"
    return demo_shop


def test_customer_pays_in_the_embedded_frame(
    embedded_shop: Shop, page: Page, screenshot: Callable[[str], Path]
) -> None:
    from playwright.sync_api import expect

    page.goto(embedded_shop.url + "/")
    page.get_by_test_id("add-trail-map").click()
    page.goto(embedded_shop.url + "/checkout/")
    page.get_by_test_id("pay-button").click()

    page.wait_for_url(PAY_PAGE)
    frame = page.frame_locator("[data-testid=dintero-checkout] iframe")
    expect(frame.get_by_role("button", name="Authorize", exact=True)).to_be_visible()
    height = page.locator("[data-testid=dintero-checkout] iframe").evaluate("f => f.style.height")
    assert height not in ("", "0px"), "the SDK applied the page's HeightChanged"
    screenshot("01-embedded-payment")

    frame.get_by_role("button", name="Authorize", exact=True).click()

    page.wait_for_url(ORDER_PAGE)
    expect(page.get_by_test_id("payment-state")).to_have_attribute("data-state", "authorized")
    screenshot("02-authorized")
    payment = Payment.objects.get(is_active=True, order__public_id=page.url.rstrip("/").rsplit("/", 1)[-1])
    assert payment.state == Payment.State.AUTHORIZED and payment.amount == 9900


def test_a_forged_event_never_marks_the_order_paid(
    embedded_shop: Shop, page: Page, screenshot: Callable[[str], Path]
) -> None:
    """A message from another window (not the SDK's iframe) is ignored by the SDK, and
    an href outside our return URL would only lead to the result page."""
    from playwright.sync_api import expect

    page.goto(embedded_shop.url + "/")
    page.get_by_test_id("add-trail-map").click()
    page.goto(embedded_shop.url + "/checkout/")
    page.get_by_test_id("pay-button").click()
    page.wait_for_url(PAY_PAGE)
    frame = page.frame_locator("[data-testid=dintero-checkout] iframe")
    expect(frame.get_by_role("button", name="Authorize", exact=True)).to_be_visible()
    sid = page.get_by_test_id("dintero-checkout").get_attribute("data-dintero-sid")

    page.evaluate(
        """sid => window.postMessage({type: "SessionPaymentAuthorized", sid: sid,
        transaction_id: "T12345678.forged", merchant_reference: "x", href: "https://evil.example/"}, "*")""",
        sid,
    )

    expect(frame.get_by_role("button", name="Authorize", exact=True)).to_be_visible()
    assert PAY_PAGE.search(page.url)
    payment = Payment.objects.get(session_id=sid)
    assert payment.state == Payment.State.AWAITING


def test_customer_pays_in_the_pop_out_window(
    demo_shop: Shop, settings: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    from playwright.sync_api import expect

    settings.SHOP_CHECKOUT_MODE = "popout"
    page.goto(demo_shop.url + "/")
    page.get_by_test_id("add-trail-map").click()
    page.goto(demo_shop.url + "/checkout/")
    page.get_by_test_id("pay-button").click()
    page.wait_for_url(PAY_PAGE)
    launch = page.locator("#dintero-checkout-sdk-launch-pop-out")
    expect(launch).to_have_text("Pay in a pop-out window")
    screenshot("01-pop-out-button")

    with page.expect_popup() as opened:
        launch.click()
    window = opened.value
    window.get_by_role("button", name="Authorize", exact=True).click()

    page.wait_for_url(ORDER_PAGE)
    expect(page.get_by_test_id("payment-state")).to_have_attribute("data-state", "authorized")
    screenshot("02-authorized")
