"""The admin buttons, confirmation pages, bulk actions and staff REST endpoints,
over real HTTP, with the permission matrix."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Permission

from dintero_django.models import Operation, Order, Payment
from tests.helpers import start_and_pay

pytestmark = pytest.mark.timeout(120)

PERMS = {"capture": "capture_payment", "refund": "refund_payment", "cancel": "cancel_payment"}


class Staff:
    """A logged-in browser-like session on the admin."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.http = requests.Session()
        page = self.http.get(f"{base}/admin/login/", timeout=10)
        token = self._csrf(page.text)
        response = self.http.post(
            f"{base}/admin/login/",
            data={"username": username, "password": "pw", "csrfmiddlewaretoken": token, "next": "/admin/"},
            headers={"Referer": f"{base}/admin/login/"},
            timeout=10,
        )
        assert response.status_code == 200

    @staticmethod
    def _csrf(html: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=30)

    def submit(self, path: str, data: dict[str, Any]) -> requests.Response:
        page = self.get(path)
        token = self._csrf(page.text) if page.status_code == 200 else ""
        return self.http.post(
            self.base + path,
            data={"csrfmiddlewaretoken": token, **data},
            headers={"Referer": self.base + path},
            timeout=60,
        )

    def api(self, path: str, body: dict[str, Any]) -> requests.Response:
        token = self.http.cookies.get("csrftoken", "")
        return self.http.post(
            self.base + path, json=body, headers={"X-CSRFToken": token, "Referer": self.base}, timeout=60
        )


def make_staff(django_user_model: Any, name: str, *perms: str, superuser: bool = False) -> Any:
    if superuser:
        return django_user_model.objects.create_superuser(name, password="pw")
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order", *perms]))
    return user


@pytest.fixture
def paid(shop: Any) -> Payment:
    _order, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    return payment


def messages_of(html: str) -> list[str]:
    return re.findall(r'<li class="(?:success|error|warning|info)">(.*?)</li>', html, flags=re.S)


def test_capture_partial_then_refund_via_admin(shop: Any, paid: Payment, django_user_model: Any) -> None:
    make_staff(django_user_model, "ops", *PERMS.values())
    staff = Staff(shop.url, "ops")
    order = paid.order
    change = staff.get(f"/admin/dintero_django/order/{order.pk}/change/")
    assert 'data-testid="money-capture"' in change.text and 'data-testid="money-cancel"' in change.text

    confirm = staff.get(f"/admin/dintero_django/order/{order.pk}/capture/")
    assert confirm.status_code == 200 and 'data-testid="limit">NOK\u00a0996.00<' in confirm.text
    review = staff.submit(f"/admin/dintero_django/order/{order.pk}/capture/", {"qty_1": "1", "amount": ""})
    assert review.status_code == 200 and "199.00 Norwegian kroner" in review.text
    assert not Operation.objects.filter(payment=paid, kind="capture").exists()  # not before confirming
    done = staff.submit(
        f"/admin/dintero_django/order/{order.pk}/capture/", {"qty_1": "1", "amount": "", "confirmed": "1"}
    )

    assert done.url.endswith(f"/admin/dintero_django/order/{order.pk}/change/")
    assert any("succeeded" in m for m in messages_of(done.text))
    paid.refresh_from_db()
    assert paid.captured_amount == 19900
    capture = Operation.objects.get(payment=paid, kind="capture")
    assert capture.created_by is not None and capture.created_by.username == "ops"

    typed = {"amount": "50,25", "reason": "scratch"}
    review = staff.submit(f"/admin/dintero_django/order/{order.pk}/refund/", typed)
    assert 'data-testid="review-amount">NOK\u00a050.25<' in review.text
    assert "50.25 Norwegian kroner" in review.text
    refund = staff.submit(f"/admin/dintero_django/order/{order.pk}/refund/", {**typed, "confirmed": "1"})
    assert any("refund of NOK\u00a050.25 succeeded" in m for m in messages_of(refund.text))
    paid.refresh_from_db()
    assert paid.refunded_amount == 5025
    transaction = shop.control.transaction(paid.transaction_id)
    assert [e["amount"] for e in transaction["events"] if e["event"] == "REFUND"] == [5025]


def test_admin_refuses_bad_input_with_a_message(shop: Any, paid: Payment, django_user_model: Any) -> None:
    make_staff(django_user_model, "ops", *PERMS.values())
    staff = Staff(shop.url, "ops")
    path = f"/admin/dintero_django/order/{paid.order.pk}/capture/"
    too_much = staff.submit(path, {"amount": "996,01", "confirmed": "1"})
    assert too_much.status_code == 400 and "At most NOK\u00a0996.00 is left." in too_much.text
    nothing = staff.submit(path, {"amount": "", "confirmed": "1"})
    assert nothing.status_code == 400 and "Choose line quantities or give an amount" in nothing.text
    no_reason = staff.submit(f"/admin/dintero_django/order/{paid.order.pk}/refund/", {"amount": "1"})
    assert no_reason.status_code == 400 and "This field is required" in no_reason.text
    assert not Operation.objects.filter(payment=paid, kind__in=["capture", "refund"]).exists()


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("12,345", "NOK has 2 decimals"),
        ("-5", "positive"),
        ("1e3", "such as 125.50"),
        ("0", "above zero"),
        ("0,00", "above zero"),
        ("99999999999999999999999", "At most"),
        ("1" * 5000, "At most"),
    ],
)
def test_admin_amount_typos_are_form_errors_never_an_amount(
    shop: Any, paid: Payment, django_user_model: Any, typed: str, says: str
) -> None:
    make_staff(django_user_model, "ops", *PERMS.values())
    staff = Staff(shop.url, "ops")
    page = staff.submit(
        f"/admin/dintero_django/order/{paid.order.pk}/capture/", {"amount": typed, "confirmed": "1"}
    )
    assert page.status_code == 400 and says in page.text
    assert not Operation.objects.filter(payment=paid, kind="capture").exists()


def test_bulk_capture_one_message_per_order_and_rerun_moves_nothing(
    shop: Any, django_user_model: Any
) -> None:
    payments = []
    for _ in range(3):
        _o, payment, _tx = start_and_pay(shop, "AUTHORIZED")
        payments.append(payment)
    _o, unpaid, _tx = start_and_pay(shop, "DECLINED")
    shop.control.wait_callbacks()
    make_staff(django_user_model, "ops", "capture_payment")
    staff = Staff(shop.url, "ops")
    ids = [str(p.order.pk) for p in [*payments, unpaid]]

    def run() -> list[str]:
        page = staff.submit(
            "/admin/dintero_django/order/",
            {"action": "capture_remaining", "_selected_action": ids, "index": "0"},
        )
        return messages_of(page.text)

    first = run()
    assert sum("succeeded" in m for m in first) == 3
    assert sum("no authorized payment" in m for m in first) == 1
    second = run()
    assert sum("nothing left to capture" in m for m in second) == 3
    assert Operation.objects.filter(kind="capture", state="succeeded").count() == 3


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("nobody", set()),
        ("capture_payment", {"capture"}),
        ("refund_payment", {"refund"}),
        ("cancel_payment", {"cancel"}),
        ("superuser", {"capture", "refund", "cancel"}),
    ],
)
def test_permission_matrix(
    shop: Any, paid: Payment, django_user_model: Any, who: str, allowed: set[str]
) -> None:
    perms = [] if who in ("nobody", "superuser") else [who]
    make_staff(django_user_model, "u", *perms, superuser=who == "superuser")
    staff = Staff(shop.url, "u")
    order: Order = paid.order
    change = staff.get(f"/admin/dintero_django/order/{order.pk}/change/").text
    for kind in ("capture", "refund", "cancel"):
        page = staff.get(f"/admin/dintero_django/order/{order.pk}/{kind}/")
        api = staff.api(f"/api/dintero/staff/orders/{order.public_id}/{kind}/", {"amount": 1, "reason": "x"})
        if kind in allowed:
            assert page.status_code == 200
            assert api.status_code != 403
        else:
            assert page.status_code == 403
            assert api.status_code == 403
        button = f'data-testid="money-{kind}"' in change
        # Refund shows only once something is captured; capture/cancel show for an authorization.
        assert button == (kind in allowed and kind != "refund")


def test_customers_cannot_reach_staff_endpoints(shop: Any, paid: Payment) -> None:
    for kind in ("capture", "refund", "cancel"):
        response = shop.api("POST", f"/api/dintero/staff/orders/{paid.order.public_id}/{kind}/", json={})
        assert response.status_code == 403
    paid.refresh_from_db()
    assert paid.captured_amount == 0


def test_staff_api_capture_and_errors(shop: Any, paid: Payment, django_user_model: Any) -> None:
    make_staff(django_user_model, "ops", *PERMS.values())
    staff = Staff(shop.url, "ops")
    base = f"/api/dintero/staff/orders/{paid.order.public_id}"

    bad = staff.api(f"{base}/capture/", {"amount": 10.5})
    assert bad.status_code == 400 and "amount" in bad.json()
    over = staff.api(f"{base}/capture/", {"amount": paid.authorized_amount + 1})
    assert over.status_code == 400 and "only" in over.json()["detail"]
    ok = staff.api(f"{base}/capture/", {"quantities": {"2": 1}})
    assert ok.status_code == 200 and ok.json()["amount"] == 49900
    no_reason = staff.api(f"{base}/refund/", {"amount": 100})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    refund = staff.api(f"{base}/refund/", {"amount": 100, "reason": "goodwill"})
    assert refund.status_code == 200 and refund.json()["state"] == "succeeded"
    paid.refresh_from_db()
    assert (paid.captured_amount, paid.refunded_amount) == (49900, 100)


def _button(html: str, kind: str) -> str:
    match = re.search(rf'<a [^>]*data-testid="money-{kind}"[^>]*>', html)
    return match.group(0) if match else ""


@pytest.mark.parametrize("outcome", ["accepted", "unknown"])
def test_buttons_stay_but_are_disabled_with_the_reason_while_an_operation_is_open(
    shop: Any, paid: Payment, django_user_model: Any, outcome: str
) -> None:
    make_staff(django_user_model, "ops", *PERMS.values())
    staff = Staff(shop.url, "ops")
    order = paid.order
    if outcome == "accepted":
        shop.control.add_fault(operation="capture", action="accept_202", times=1, complete_after=3600)
    else:  # applied at Dintero, answer lost, and the read-back fails too
        shop.control.add_fault(operation="capture", action="error_after", status=503, times=1)
        shop.control.add_fault(operation="transaction_get", action="error_before", status=503, times=100)
    staff.submit(f"/admin/dintero_django/order/{order.pk}/capture/", {"amount": "10", "confirmed": "1"})
    shop.control.clear_faults()
    operation = Operation.objects.get(payment=paid, kind=Operation.Kind.CAPTURE)
    assert operation.state == outcome

    html = staff.get(f"/admin/dintero_django/order/{order.pk}/change/").text

    for kind in ("capture", "cancel"):
        tag = _button(html, kind)
        assert tag, f"the {kind} button must stay visible"
        assert 'aria-disabled="true"' in tag and "href=" not in tag, tag
        assert operation.reference in tag, "the button says why"
    assert operation.reference in html.split('data-testid="money-blocked"', 1)[1][:400]
    refused = staff.submit(
        f"/admin/dintero_django/order/{order.pk}/capture/", {"amount": "10", "confirmed": "1"}
    )
    assert "in progress" in " ".join(messages_of(refused.text)), "a forced click is still refused"
    assert Operation.objects.filter(payment=paid, kind=Operation.Kind.CAPTURE).count() == 1


def test_a_flag_is_reviewed_and_cleared_with_a_reason_and_audited(
    shop: Any, paid: Payment, django_user_model: Any
) -> None:
    from dintero_django.models import PaymentFlag
    from dintero_django.services.sync import flag

    flag(paid, "amount 1 differs from the expected 2")
    make_staff(django_user_model, "viewer", *PERMS.values())
    clerk = make_staff(
        django_user_model, "clerk", *PERMS.values(), "clear_flag", "view_payment", "view_paymentflag"
    )
    viewer, staff = Staff(shop.url, "viewer"), Staff(shop.url, "clerk")
    change = f"/admin/dintero_django/order/{paid.order.pk}/change/"
    review = f"/admin/dintero_django/payment/{paid.pk}/clear-flag/"

    html = viewer.get(change).text
    assert "needs attention" in _button(html, "capture") and 'aria-disabled="true"' in _button(
        html, "capture"
    )
    assert 'data-testid="review-flag"' not in html and viewer.get(review).status_code == 403
    assert 'data-testid="review-flag"' in staff.get(change).text
    assert staff.submit(review, {"reason": "short"}).status_code == 400, "a reason is required"
    paid.refresh_from_db()
    assert paid.needs_attention

    done = staff.submit(review, {"reason": "Checked in Dintero's Backoffice: the amount is right."})

    assert done.status_code == 200 and "cleared" in " ".join(messages_of(done.text))
    paid.refresh_from_db()
    assert not paid.needs_attention and paid.attention_reason == ""
    audit = PaymentFlag.objects.get(payment=paid)
    assert (audit.cleared_by, audit.clear_reason) == (
        clerk,
        "Checked in Dintero's Backoffice: the amount is right.",
    )
    assert audit.reason == "amount 1 differs from the expected 2" and audit.cleared_at is not None
    shown = staff.get(f"/admin/dintero_django/payment/{paid.pk}/change/").text
    assert "Checked in Dintero" in shown and "clerk" in shown, "the clearing is visible in the admin"
    assert 'aria-disabled="true"' not in _button(staff.get(change).text, "capture")


def test_lists_and_record_pages_show_major_units(shop: Any, paid: Payment, django_user_model: Any) -> None:
    make_staff(django_user_model, "boss", superuser=True)
    staff = Staff(shop.url, "boss")
    shown = "NOK\u00a0996.00"
    for path in (
        f"/admin/dintero_django/order/{paid.order.pk}/change/",
        "/admin/dintero_django/payment/",
        f"/admin/dintero_django/payment/{paid.pk}/change/",
    ):
        page = staff.get(path)
        assert page.status_code == 200, path
        assert shown in page.text, path
        assert ">99600<" not in page.text, path
