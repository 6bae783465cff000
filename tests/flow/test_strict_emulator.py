"""The whole flow against the emulator in its strictest configuration.

Draft, a line change, complete, session, pay, signed callback, authorization recorded,
a partial capture of whole lines, a refund, and a void (of a second order's
authorization: a card payment cannot be voided after a partial capture). The emulator
runs every knob at its strict default and ``lenient`` off: nothing in our own flow may
need a behaviour Dintero does not document. The one non-default is
``callback_allow_http``: the test server speaks plain http (see the first assertion).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from dintero_django.emulator.config import EmulatorConfig
from dintero_django.models import CallbackDelivery, OrderLine, Payment
from tests.helpers import active_payment, order_row, remote_records, request_count

pytestmark = pytest.mark.timeout(120)

#: Knobs that are not Dintero behaviour: the test server's plain http, and the secret.
NOT_DINTERO = {"callback_allow_http", "signature_secret"}


def _assert_strictest(control: Any) -> None:
    config = control.config()
    defaults = {name: knob["default"] for name, knob in EmulatorConfig.describe().items()}
    assert config["lenient"] is False
    assert {k: v for k, v in config.items() if k not in NOT_DINTERO} == {
        k: v for k, v in defaults.items() if k not in NOT_DINTERO
    }
    assert config["callback_allow_http"] is True, "our test server is plain http (tests/conftest.py)"


def _staff(shop: Any, django_user_model: Any) -> requests.Session:
    django_user_model.objects.create_superuser("strict-ops", password="pw")
    http = requests.Session()
    http.auth = ("strict-ops", "pw")  # HTTP Basic: no CSRF for the staff API
    return http


def _staff_call(shop: Any, http: requests.Session, public_id: str, action: str, body: dict[str, Any]) -> Any:
    response = http.post(f"{shop.url}/api/dintero/staff/orders/{public_id}/{action}/", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _events(shop: Any, transaction_id: str, name: str) -> list[dict[str, Any]]:
    events = shop.control.transaction(transaction_id)["events"]
    return [e for e in events if e["event"] == name and e.get("success")]


def _pay_and_confirm(shop: Any, public_id: str) -> Payment:
    response = shop.checkout(public_id)
    assert response.status_code == 200, response.text
    payment = active_payment(public_id)
    paid = shop.control.pay(payment.session_id, "AUTHORIZED")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert payment.transaction_id == paid["transaction_id"]
    return payment


def test_the_whole_flow_needs_nothing_dintero_does_not_document(shop: Any, django_user_model: Any) -> None:
    _assert_strictest(shop.control)
    staff = _staff(shop, django_user_model)

    # Draft, then a line change in code (3 chairs instead of 2).
    order = shop.create_order()
    row = order_row(order["id"])
    line = OrderLine.objects.get(order=row, line_id=1)
    line.quantity = 3
    line.save()
    [draft] = [d for d in shop.control.state()["drafts"] if d["id"] == row.dintero_draft_id]
    chair = next(item for item in draft["order"]["items"] if item["line_id"] == 1)
    assert (chair["quantity"], chair["gross_amount"]) == (3, 59700)
    # Through the documented item calls, not the undocumented whole-draft PUT (issue 12 item 1).
    assert request_count(shop, "draft_update") == 0
    assert request_count(shop, "draft_item_update") == 1

    # Complete, session, pay, signed callback, authorization recorded.
    payment = _pay_and_confirm(shop, order["id"])
    total = 59700 + 49900 + 9900
    assert payment.amount == payment.authorized_amount == total
    [delivery] = [e for e in shop.control.callbacks_log() if e["transaction_id"] == payment.transaction_id]
    assert (delivery["outcome"], delivery["status"]) == ("delivered", 200)
    assert CallbackDelivery.objects.get(payment=payment).signature_valid is True
    [authorization] = remote_records(row.dintero_order_id, "authorizations")
    assert authorization["payment_details"]["payment_id"] == payment.transaction_id
    assert sum(item["amount"] for item in authorization["items"]) == total

    # A partial capture of one whole line, sent with its quantity (issue 12 item 2).
    captured = _staff_call(shop, staff, order["id"], "capture", {"quantities": {"1": 3}})
    assert captured["amount"] == 59700
    [capture] = _events(shop, payment.transaction_id, "CAPTURE")
    assert capture["items"] == [{"line_id": "1", "quantity": 3, "amount": 59700}]
    assert shop.control.transaction(payment.transaction_id)["status"] == "PARTIALLY_CAPTURED"
    [capture_record] = remote_records(row.dintero_order_id, "captures")
    assert [(i["line_id"], i["amount"]) for i in capture_record["items"]] == [(1, 59700)]

    # A refund of one of the three chairs.
    _staff_call(shop, staff, order["id"], "refund", {"quantities": {"1": 1}, "reason": "damaged"})
    [refund] = _events(shop, payment.transaction_id, "REFUND")
    assert refund["items"] == [{"line_id": "1", "quantity": 1, "amount": 19900}]
    [refund_record] = remote_records(row.dintero_order_id, "refunds")
    assert [(i["line_id"], i["amount"]) for i in refund_record["items"]] == [(1, 19900)]
    payment.refresh_from_db()
    assert (payment.captured_amount, payment.refunded_amount) == (59700, 19900)

    # A void: a second order's authorization, cancelled by staff.
    second = shop.create_order()
    voided_payment = _pay_and_confirm(shop, second["id"])
    _staff_call(shop, staff, second["id"], "cancel", {})
    voided_payment.refresh_from_db()
    assert voided_payment.state == Payment.State.VOIDED
    assert shop.control.transaction(voided_payment.transaction_id)["status"] == "AUTHORIZATION_VOIDED"
    [cancellation] = remote_records(order_row(second["id"]).dintero_order_id, "cancellations")
    assert sum(item["amount"] for item in cancellation["items"]) == 2 * 19900 + 49900 + 9900

    # Nothing on the way was refused, and nothing needed lenient.
    refused = [e for e in shop.control.requests_log() if (e["status"] or 0) >= 400]
    assert refused == []
