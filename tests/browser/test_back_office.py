"""The back office in Chromium, in English and in Norwegian: overview, order list, timeline,
a refund typed in kroner, and pay by link. Each page is saved as a screenshot under
<artifacts>/screenshots/<language>/ (CI keeps the folder; docs/img/ has copies)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dintero_django import api
from dintero_django.models import Order, Payment, PaymentFlag
from tests.browser.conftest import ARTIFACTS, TIMEOUT_MS
from tests.helpers import start_and_pay

try:
    from playwright.sync_api import Browser, Page, expect

    from tests.browser.pages import log_into_admin, open_admin_order
except ImportError:  # the browser fixture says what is missing (and fails when CI is set)
    pass

if TYPE_CHECKING:
    from tests.conftest import Shop

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

HEADLAMP, SHIPPING = 49900, 6900
BROWSER_LOCALE = {"en": "en-GB", "nb": "nb-NO"}


@pytest.fixture(params=["en", "nb"])
def lang(request: pytest.FixtureRequest, settings: Any) -> str:
    """The admin in one language. The live server's middleware is built once per session, so
    the language is the site default (LANGUAGE_CODE) here, as for a shop in one language."""
    settings.LANGUAGE_CODE = request.param
    return str(request.param)


@pytest.fixture
def staff_page(browser: Browser, lang: str, admin_user: Any, demo_shop: Shop) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=BROWSER_LOCALE[lang])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log_into_admin(page, demo_shop.url, "admin", "password")
    yield page
    context.close()


@pytest.fixture
def shot(staff_page: Page, lang: str) -> Callable[[str], Path]:
    folder = ARTIFACTS / "screenshots" / lang
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = folder / f"{name}.png"
        staff_page.screenshot(path=path, full_page=True)
        return path

    return take


def paid_headlamp(shop: Shop) -> Payment:
    lines = [{"product_id": "headlamp", "description": "-", "quantity": 1, "unit_amount": 0}]
    _order, payment, _tx = start_and_pay(shop, "AUTHORIZED", lines=lines)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    return payment


def test_refund_typed_in_kroner_reaches_dintero_exactly(
    demo_shop: Shop, staff_page: Page, shot: Callable[[str], Path], lang: str
) -> None:
    page = staff_page
    payment = paid_headlamp(demo_shop)
    assert api.capture(payment.order).state == "succeeded"

    page.goto(demo_shop.url + "/admin/dintero_django/order/")
    row = page.locator("#result_list tbody tr", has_text=str(payment.order))
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "captured")
    expect(row).to_contain_text("568,00\u00a0kr" if lang == "nb" else "NOK\u00a0568.00")
    shot("01-order-list")

    open_admin_order(page, demo_shop.url, str(payment.order.public_id))
    page.get_by_test_id("money-refund").click()
    page.locator("#id_amount").fill("125,50")
    page.locator("#id_reason").fill("Scratched lens")
    shot("02-refund-form")
    page.get_by_test_id("review").click()
    words = "125,50 norske kroner" if lang == "nb" else "125.50 Norwegian kroner"
    expect(page.get_by_test_id("amount-words")).to_have_text(words)
    shot("03-refund-review")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("refunded")).to_have_attribute("data-minor", "12550")

    # Exactly 12550 øre at Dintero: the typed kroner, not 125 or 1255000.
    transaction = demo_shop.control.transaction(str(payment.transaction_id))
    refunds = [e["amount"] for e in transaction["events"] if e["event"] == "REFUND"]
    assert refunds == [12550]

    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator('[data-kind="operation-refund"] .dintero-amount')).to_have_attribute(
        "data-minor", "12550"
    )
    expect(page.get_by_test_id("backoffice-link")).to_have_attribute(
        "href", re.compile(rf"/payments/transactions/{re.escape(str(payment.transaction_id))}$")
    )
    page.get_by_test_id("timeline").scroll_into_view_if_needed()
    shot("04-order-timeline")

    # A bad amount is a form error, and nothing is sent.
    page.get_by_test_id("money-refund").click()
    page.locator("#id_amount").fill("12,345")
    page.locator("#id_reason").fill("typo")
    page.get_by_test_id("review").click()
    expect(page.locator(".errorlist")).to_contain_text("NOK")
    shot("05-refund-typo")
    transaction = demo_shop.control.transaction(str(payment.transaction_id))
    assert [e["amount"] for e in transaction["events"] if e["event"] == "REFUND"] == [12550]


def test_overview_links_to_the_lists(
    demo_shop: Shop, staff_page: Page, shot: Callable[[str], Path], lang: str
) -> None:
    page = staff_page
    paid_headlamp(demo_shop)
    waiting = paid_headlamp(demo_shop)
    Payment.objects.filter(pk=waiting.pk).update(needs_attention=True, attention_reason="amount differs")
    page.goto(demo_shop.url + "/admin/")
    page.locator('a[href$="/admin/dintero_django/paymentsoverview/"]').first.click()
    expect(page.get_by_test_id("count-capturable")).to_have_text("2")
    expect(page.locator('[data-testid="chart-NOK"] svg')).to_be_visible()
    shot("06-overview")
    page.get_by_test_id("count-needs_attention").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text(str(waiting.order))
    shot("07-needs-attention-list")


def test_pay_by_link(demo_shop: Shop, staff_page: Page, shot: Callable[[str], Path], lang: str) -> None:
    page = staff_page
    page.goto(demo_shop.url + "/admin/dintero_django/order/add/")
    page.locator("#id_email").fill("kari@example.com")
    page.locator("#id_shop_reference").fill(f"phone-{lang}")
    page.locator("#id_lines-0-line_id").fill("1")
    page.locator("#id_lines-0-description").fill("Guided tour")
    page.locator("#id_lines-0-type").select_option("service")
    page.locator("#id_lines-0-quantity").fill("2")
    page.locator("#id_lines-0-unit_amount").fill("1 250,50")
    shot("08-new-order")
    page.locator("input[name=_continue]").click()
    order = Order.objects.get(shop_reference=f"phone-{lang}")
    assert order.lines.get().unit_amount == 125050

    page.get_by_test_id("payment-link-button").click()
    page.locator("#id_hours").select_option("72")
    shot("09-payment-link")
    page.get_by_test_id("create-link").click()
    payment = Payment.objects.get(order=order, is_active=True)
    expect(page.locator("ul.messagelist")).to_contain_text(payment.session_url)
    expect(page.locator('[data-kind="payment_link"]')).to_be_visible()
    expect(page.locator('[data-kind="payment_link_sent"]')).to_contain_text("kari@example.com")
    shot("10-payment-link-sent")

    # The customer opens the link and pays; staff see it authorized.
    page.goto(payment.session_url)
    page.get_by_role("button", name="Authorize", exact=True).click()
    demo_shop.control.wait_callbacks()
    page.goto(demo_shop.url + f"/admin/dintero_django/order/{order.pk}/change/")
    expect(page.get_by_test_id("payment-state")).to_have_attribute("data-state", "authorized")
    expect(page.get_by_test_id("authorized")).to_have_attribute("data-minor", "250100")


def test_flag_review_and_clear(
    demo_shop: Shop, staff_page: Page, shot: Callable[[str], Path], lang: str
) -> None:
    """A flagged payment: buttons visible but disabled with the reason, then reviewed and cleared."""
    page = staff_page
    payment = paid_headlamp(demo_shop)
    reason = "amount at Dintero differs from the order"
    PaymentFlag.objects.create(payment=payment, reason=reason)
    Payment.objects.filter(pk=payment.pk).update(needs_attention=True, attention_reason=reason)

    open_admin_order(page, demo_shop.url, str(payment.order.public_id))
    expect(page.get_by_test_id("money-capture")).to_have_attribute("data-disabled", "true")
    expect(page.get_by_test_id("attention")).to_contain_text(reason)
    expect(page.locator('[data-kind="flag"]')).to_contain_text(reason)
    shot("11-flagged")

    page.get_by_test_id("review-flag").click()
    page.locator("#id_reason").fill("Checked in Dintero's Backoffice: the amounts agree.")
    shot("12-flag-review")
    page.locator("input[type=submit]").click()
    expect(page.locator('[data-kind="flag_cleared"]')).to_contain_text("Checked in Dintero")
    expect(page.locator('[data-kind="flag_cleared"] .dintero-actor')).to_have_text("admin")
    expect(page.get_by_test_id("money-capture")).not_to_have_attribute("data-disabled", "true")
    shot("13-flag-cleared")
    payment.refresh_from_db()
    assert not payment.needs_attention
