"""The payments overview: figures that match the lists they link to, the age warning, the chart."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dintero_django.models import Operation, Payment
from tests.helpers import signed_callback, start_and_pay
from tests.test_admin_money import Staff, make_staff

pytestmark = pytest.mark.timeout(120)
NBSP = "\u00a0"
OVERVIEW = "/admin/dintero_django/order/overview/"


def _figure(page: str, key: str) -> tuple[int, str, str]:
    row = re.search(rf'data-testid="figure-{key}">(.*?)</tr>', page, flags=re.S)
    assert row, key
    count = re.search(rf'data-testid="count-{key}">(\d+)<', row.group(1))
    link = re.search(r'href="([^"]+)"', row.group(1))
    amount = re.search(rf'data-testid="sum-{key}">(.*?)</td>', row.group(1), flags=re.S)
    assert count and link
    return int(count.group(1)), html.unescape(link.group(1)), amount.group(1) if amount else ""


def test_overview_figures_link_to_the_lists_they_count(
    shop: Any, django_user_model: Any, settings: Any
) -> None:
    settings.DINTERO = {**settings.DINTERO, "AUTHORIZATION_WARN_DAYS": 5}
    _o, fresh, _tx = start_and_pay(shop, "AUTHORIZED")
    _o, old, _tx = start_and_pay(shop, "AUTHORIZED")
    _o, captured, _tx = start_and_pay(shop, "CAPTURED")
    waiting = shop.create_order()
    assert shop.checkout(waiting["id"]).status_code == 200
    shop.control.wait_callbacks()
    Payment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=6))
    Payment.objects.filter(pk=captured.pk).update(needs_attention=True, attention_reason="check")
    # Refused deliveries with a bad signature are not stored (unverified input); an unknown order is.
    unknown = signed_callback(shop, {"merchant_reference": "NOSUCHORDER"})
    assert unknown.status_code == 503

    stuck = Operation.objects.create(
        kind=Operation.Kind.CAPTURE, state=Operation.State.UNKNOWN, order=old.order, payment=old, amount=1
    )
    make_staff(django_user_model, "boss", superuser=True)
    staff = Staff(shop.url, "boss")
    index = staff.get("/admin/").text
    entry = re.search(r'href="(/admin/dintero_django/paymentsoverview/)"', index)
    assert entry and staff.get(entry.group(1)).url.endswith(OVERVIEW)
    page = staff.get(OVERVIEW)
    assert page.status_code == 200
    text = page.text

    count, link, amount = _figure(text, "capturable")
    assert count == 2 and amount == f"NOK{NBSP}1,992.00"
    listed = staff.get(link).text
    assert str(fresh.order) in listed and str(old.order) in listed and str(captured.order) not in listed

    count, link, _amount = _figure(text, "older_5")
    assert count == 1
    listed = staff.get(link).text
    assert str(old.order) in listed and str(fresh.order) not in listed
    assert 'data-testid="warning-older_5"' in text

    assert _figure(text, "awaiting")[0] == 1
    count, link, _amount = _figure(text, "needs_attention")
    assert count == 1 and str(captured.order) in staff.get(link).text

    count, link, _amount = _figure(text, "callbacks_failing")
    assert count == 1
    assert "NOSUCHORDER" in staff.get(link).text

    count, link, _amount = _figure(text, "operations_open")
    assert count == 1 and stuck.reference in staff.get(link).text

    chart = re.search(r'data-testid="chart-NOK">(<svg.*?</svg>)', text, flags=re.S)
    assert chart and chart.group(1).count("<rect") >= 14 * 3
    assert "<script" not in text.split('id="content-main"')[1]


def test_overview_needs_view_permission(shop: Any, django_user_model: Any) -> None:
    make_staff(django_user_model, "nobody")
    user = django_user_model.objects.get(username="nobody")
    user.user_permissions.clear()
    staff = Staff(shop.url, "nobody")
    assert staff.get(OVERVIEW).status_code == 403
