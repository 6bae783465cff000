"""admin.py and what it shows: merchant states, the list columns, the timeline (over real HTTP)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Permission

from dintero_django.models import Operation, Payment, ReturnVisit
from tests.helpers import start_and_pay
from tests.test_admin_money import Staff, make_staff

pytestmark = pytest.mark.timeout(120)
NBSP = "\u00a0"


def _row(html: str, order: Any) -> str:
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    return next(r for r in rows if str(order) in r)


def test_order_list_shows_payment_state_amount_and_method(shop: Any, django_user_model: Any) -> None:
    _o, captured, _tx = start_and_pay(shop, "CAPTURED")  # auto-capture
    _o, declined, _tx = start_and_pay(shop, "DECLINED")
    shop.control.wait_callbacks()
    make_staff(django_user_model, "boss", superuser=True)
    staff = Staff(shop.url, "boss")
    page = staff.get("/admin/dintero_django/order/").text
    for payment in (captured, declined):
        payment.refresh_from_db()
    captured_row, declined_row = _row(page, captured.order), _row(page, declined.order)
    assert 'data-state="captured"' in captured_row and f"NOK{NBSP}996.00" in captured_row
    assert "Card" in captured_row  # dintero_psp.creditcard
    assert 'data-state="declined"' in declined_row
    assert "Open (order_id assigned)" not in captured_row + declined_row
    # The filters: by merchant state and by payment method.
    only_captured = staff.get("/admin/dintero_django/order/?payment=captured").text
    assert str(captured.order) in only_captured and str(declined.order) not in only_captured
    by_method = staff.get("/admin/dintero_django/order/?method=dintero_psp.creditcard").text
    assert str(captured.order) in by_method


def test_voided_payment_has_nothing_left_to_capture(shop: Any, django_user_model: Any) -> None:
    _o, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    make_staff(django_user_model, "boss", superuser=True)
    staff = Staff(shop.url, "boss")
    staff.submit(f"/admin/dintero_django/order/{payment.order.pk}/cancel/", {})
    payment.refresh_from_db()
    assert payment.state == Payment.State.VOIDED
    page = staff.get(f"/admin/dintero_django/order/{payment.order.pk}/change/").text
    assert 'data-state="voided"' in page
    assert 'data-testid="capturable"' not in page  # was "capturable: 99600" next to "voided"
    # The payment panel comes before the technical fields, which are collapsed.
    assert page.index('id="dintero-payment-summary"') < page.index("guest_key")
    assert re.search(r'<fieldset class="module aligned collapse', page)


def timeline_of(page: str) -> str:
    """The timeline's list (Django 6's admin has an <ol> of its own before it: breadcrumbs)."""
    start = page.index('data-testid="timeline"')
    return page[start : page.index("</ol>", start)]


def test_attention_false_is_blank_not_a_red_cross(shop: Any, django_user_model: Any) -> None:
    _o, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    make_staff(django_user_model, "boss", superuser=True)
    staff = Staff(shop.url, "boss")
    page = staff.get("/admin/dintero_django/payment/").text
    assert "icon-no.svg" not in page
    Payment.objects.filter(pk=payment.pk).update(needs_attention=True, attention_reason="amount differs")
    page = staff.get("/admin/dintero_django/payment/").text
    assert "⚠" in page and "amount differs" in page


def test_timeline_tells_the_story_in_order(shop: Any, django_user_model: Any) -> None:
    _o, declined, _tx = start_and_pay(shop, "DECLINED")
    order = declined.order
    retry = shop.checkout(str(order.public_id), restart=True)
    assert retry.status_code == 200, retry.text
    payment = Payment.objects.get(order=order, is_active=True)
    shop.control.pay(payment.session_id, "AUTHORIZED")
    shop.control.wait_callbacks()
    make_staff(django_user_model, "ops", superuser=True)
    staff = Staff(shop.url, "ops")
    staff.submit(f"/admin/dintero_django/order/{order.pk}/capture/", {"amount": "100", "confirmed": "1"})
    page = staff.get(f"/admin/dintero_django/order/{order.pk}/change/").text

    timeline = timeline_of(page)
    kinds = re.findall(r'data-kind="([\w-]+)"', timeline)
    assert kinds[0] == "order_created"
    expected = ["operation-create_draft", "operation-complete_order", "operation-create_session", "attempt"]
    expected += ["event", "callback", "operation-record_authorization", "operation-capture"]
    assert set(expected) <= set(kinds), set(expected) - set(kinds)
    times = re.findall(r'<time datetime="([^"]+)"', timeline)
    assert times == sorted(times)
    capture = Operation.objects.get(order=order, kind="capture")
    assert f'href="/admin/dintero_django/operation/{capture.pk}/change/"' in timeline
    assert f"NOK{NBSP}100.00" in timeline and ">ops<" in timeline  # amount and who did it
    # Cancelling the declined attempt's session is housekeeping, not a fault.
    assert "Not needed: the earlier attempt had already ended" in timeline
    assert "Failed (refused" not in page and "(failed)" not in page
    payment.refresh_from_db()
    account = payment.transaction_id.split(".")[0]
    assert (
        f'href="https://backoffice.dintero.com/{account}/payments/transactions/{payment.transaction_id}"'
        in page
    )


def test_timeline_shows_a_backoffice_capture_as_adopted(shop: Any, django_user_model: Any) -> None:
    _o, payment, tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    shop.control.backoffice_capture(tx, amount=30000)
    shop.control.wait_callbacks()
    from dintero_django.services.sync import sync_payment

    sync_payment(payment.pk)  # the event callback may still be on its way: read it now
    make_staff(django_user_model, "boss", superuser=True)
    staff = Staff(shop.url, "boss")
    page = staff.get(f"/admin/dintero_django/order/{payment.order.pk}/change/").text
    timeline = timeline_of(page)
    entry = re.search(r'data-kind="operation-capture".*?</li>', timeline, flags=re.S)
    assert entry, "no capture on the timeline"
    assert "made in Dintero&#x27;s Backoffice, adopted" in entry.group(0)
    assert f"NOK{NBSP}300.00" in entry.group(0)


def test_resync_reads_dintero_again_and_needs_change_permission(shop: Any, django_user_model: Any) -> None:
    _o, payment, tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    shop.control.add_fault("callback", "drop", times=1)
    shop.control.backoffice_capture(tx, amount=30000)  # its callback is lost
    payment.refresh_from_db()
    assert payment.captured_amount == 0
    path = f"/admin/dintero_django/order/{payment.order.pk}/resync/"

    viewer_user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer_user.user_permissions.add(Permission.objects.get(codename="view_order"))
    viewer = Staff(shop.url, "viewer")
    assert (
        'data-testid="resync"'
        not in viewer.get(f"/admin/dintero_django/order/{payment.order.pk}/change/").text
    )
    assert post(viewer, path).status_code == 403

    make_staff(django_user_model, "ops", superuser=True)
    staff = Staff(shop.url, "ops")
    page = staff.get(f"/admin/dintero_django/order/{payment.order.pk}/change/").text
    assert 'data-testid="resync"' in page and 'id="dintero-resync"' in page
    done = post(staff, path)
    assert done.status_code == 200 and "Read from Dintero: Partially captured." in done.text
    payment.refresh_from_db()
    assert payment.captured_amount == 30000
    assert staff.get(path).status_code == 405  # a read is asked for by POST only


def post(staff: Staff, path: str) -> Any:
    """A POST with the session's CSRF token, as the button in the order page sends it."""
    token = staff.http.cookies.get("csrftoken", "")
    return staff.http.post(
        staff.base + path,
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": staff.base + path},
        timeout=60,
    )


def test_timeline_shows_a_flag_raised_and_cleared_with_who_and_why(shop: Any, django_user_model: Any) -> None:
    from dintero_django.admin_review import clear_flag
    from dintero_django.services.sync import flag

    _o, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    flag(payment, "amount 1 differs from the expected 2")
    boss = make_staff(django_user_model, "boss", superuser=True)
    staff = Staff(shop.url, "boss")
    change = f"/admin/dintero_django/order/{payment.order.pk}/change/"
    timeline = staff.get(change).text.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]
    raised = re.search(r'data-kind="flag".*?</li>', timeline, flags=re.S)
    assert raised and "amount 1 differs from the expected 2" in raised.group(0)

    assert clear_flag(payment.pk, boss, "Checked in the Backoffice: right amount.")
    timeline = staff.get(change).text.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]
    cleared = re.search(r'data-kind="flag_cleared".*?</li>', timeline, flags=re.S)
    assert cleared, "the clearing is on the timeline"
    assert ">boss<" in cleared.group(0) and "Checked in the Backoffice: right amount." in cleared.group(0)


def test_timeline_shows_the_customer_returning_unverified_and_bounded(
    shop: Any, django_user_model: Any
) -> None:
    order_json = shop.create_order()
    assert shop.checkout(order_json["id"]).status_code == 200
    payment = Payment.objects.get(order__public_id=order_json["id"], is_active=True)
    reference = str(payment.order.dintero_order_id)
    url = f"{shop.url}/dintero/return/"
    first = requests.get(url, params={"merchant_reference": reference, "error": "cancelled"}, timeout=10,
                         allow_redirects=False)  # fmt: skip
    assert first.status_code == 302
    for _ in range(ReturnVisit.MAX_PER_ORDER + 3):  # anyone can open it: the log stays bounded
        requests.get(url, params={"merchant_reference": reference, "error": "x" * 99}, timeout=10,
                     allow_redirects=False)  # fmt: skip
    visits = list(ReturnVisit.objects.filter(order=payment.order))
    assert len(visits) == ReturnVisit.MAX_PER_ORDER
    assert [v.error for v in visits] == ["cancelled"] + [""] * (ReturnVisit.MAX_PER_ORDER - 1)
    after = Payment.objects.get(pk=payment.pk)
    assert (after.state, after.needs_attention, after.raw) == (payment.state, False, payment.raw)

    make_staff(django_user_model, "ops2", superuser=True)
    page = Staff(shop.url, "ops2").get(f"/admin/dintero_django/order/{payment.order.pk}/change/").text
    timeline = timeline_of(page)
    assert (
        re.findall(r'data-kind="([\w-]+)"', timeline).count("customer_returned") == ReturnVisit.MAX_PER_ORDER
    )
    assert "reported: cancelled" in timeline and "(unverified)" in timeline
