"""Pay by link: staff create an order in the admin, then an expiring link, e-mailed (real HTTP)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dintero_django.models import Order, OrderLine, Payment
from tests.test_admin_money import Staff, make_staff

pytestmark = pytest.mark.timeout(120)
ADD = "/admin/dintero_django/order/add/"


def hidden_inputs(html: str) -> dict[str, str]:
    """The management forms of every inline, as the browser would post them."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: value for name, value in found if name != "csrfmiddlewaretoken"}


def create_order_in_admin(staff: Staff, price: str, currency: str = "NOK") -> Any:
    page = staff.get(ADD)
    data = {
        **hidden_inputs(page.text),
        "currency": currency,
        "email": "kari@example.com",
        "shop_reference": "phone-1",
        "lines-TOTAL_FORMS": "1",
        "lines-0-line_id": "1",
        "lines-0-description": "Consulting, hours",
        "lines-0-type": "service",
        "lines-0-quantity": "2",
        "lines-0-unit_amount": price,
        "lines-0-vat_percent": "25",
    }
    return staff.submit(ADD, data)


def test_staff_create_an_order_in_kroner_and_send_an_expiring_link(
    shop: Any, django_user_model: Any, mailoutbox: list[Any]
) -> None:
    make_staff(django_user_model, "sales", superuser=True)
    staff = Staff(shop.url, "sales")
    created = create_order_in_admin(staff, "1 250,50")
    assert created.status_code == 200, created.text[:500]
    order = Order.objects.get(shop_reference="phone-1")
    assert OrderLine.objects.get(order=order).unit_amount == 125050  # typed in kroner, stored in øre
    change = staff.get(f"/admin/dintero_django/order/{order.pk}/change/").text
    assert 'data-testid="payment-link-button"' in change

    link_page = f"/admin/dintero_django/order/{order.pk}/payment-link/"
    assert "NOK\u00a02,501.00" in staff.get(link_page).text
    done = staff.submit(link_page, {"hours": "72", "email": "kari@example.com"})
    assert done.status_code == 200
    payment = Payment.objects.get(order=order, is_active=True)
    assert payment.session_url and payment.session_url in done.text
    assert payment.expires_at is not None
    remaining = payment.expires_at - timezone.now()
    assert timedelta(hours=71) < remaining <= timedelta(hours=72)

    session = shop.control.session(payment.session_id)
    assert parse_datetime(session["expires_at"]) == payment.expires_at
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["kari@example.com"]
    assert payment.session_url in mailoutbox[0].body and "NOK\u00a02,501.00" in mailoutbox[0].body

    timeline = staff.get(f"/admin/dintero_django/order/{order.pk}/change/").text
    assert 'data-kind="payment_link"' in timeline and 'data-kind="payment_link_sent"' in timeline
    payment.refresh_from_db()
    assert payment.link_created_by is not None and payment.link_created_by.username == "sales"
    assert "kari@example.com" in timeline

    shop.control.pay(payment.session_id, "AUTHORIZED")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert (payment.state, payment.authorized_amount) == ("authorized", 250100)
    after = staff.get(f"/admin/dintero_django/order/{order.pk}/change/").text
    assert 'data-testid="payment-link-button"' not in after  # paid: no new link


@pytest.mark.parametrize(("price", "says"), [("12,345", "NOK has 2 decimals"), ("-5", "positive")])
def test_a_price_typo_is_a_form_error(shop: Any, django_user_model: Any, price: str, says: str) -> None:
    make_staff(django_user_model, "sales", superuser=True)
    staff = Staff(shop.url, "sales")
    page = create_order_in_admin(staff, price)
    assert page.status_code == 200 and says in page.text
    assert not Order.objects.exists()


def test_link_needs_its_permission(shop: Any, django_user_model: Any) -> None:
    make_staff(django_user_model, "viewer")
    order = Order.objects.create(currency="NOK")
    staff = Staff(shop.url, "viewer")
    assert staff.get(f"/admin/dintero_django/order/{order.pk}/payment-link/").status_code == 403
