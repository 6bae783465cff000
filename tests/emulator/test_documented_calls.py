"""The emulator serves what Dintero documents, and no more unless ``lenient`` is on.

Whole-draft PUT, GET of a single order, the cancellations list and single-operation reads
are not in Dintero's docs ([U]); the draft item calls and the order events list are.
Instabank and Collector take whole lines on capture and refund; the event that completes a
202 operation carries ``correlation_request_id``, not the merchant's reference.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dintero_django.emulator import EmulatorControl

from .support import DRAFT_BODY, SESSION_ORDER, Api

ITEM: dict[str, Any] = {
    "id": "lamp",
    "line_id": 3,
    "quantity": 1,
    "gross_amount": 12500,
    "tax_lines": [{"amount": 2500, "percentage": 25}],
    "description": "Lamp",
}


def test_whole_draft_put_is_405_unless_lenient(api: Api, control: EmulatorControl) -> None:
    draft = api.create_draft()
    path = f"{api.shopping}/draft_orders/{draft['id']}"
    response = api.put(path, json=copy.deepcopy(DRAFT_BODY))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    control.config(lenient=True)
    assert api.put(path, json=copy.deepcopy(DRAFT_BODY)).status_code == 200


def test_item_calls_change_the_draft_before_completion(api: Api) -> None:
    draft = api.create_draft()
    items = f"{api.shopping}/draft_orders/{draft['id']}/items"
    assert api.post(items, json=ITEM).status_code == 200
    changed = {**DRAFT_BODY["order"]["items"][0], "quantity": 1, "gross_amount": 19900}
    changed["tax_lines"] = [{"amount": 3980, "percentage": 25}]
    assert api.put(f"{items}/1", json=changed).status_code == 200
    assert api.delete(f"{items}/2").status_code == 200
    assert api.delete(f"{items}/2").status_code == 404  # already gone
    [order] = api.complete(draft["id"]).json()["orders"]
    assert [(i["line_id"], i["gross_amount"]) for i in order["items"]] == [(1, 19900), (3, 12500)]
    assert order["gross_amount"] == 32400


def test_undocumented_reads_are_404_unless_lenient(api: Api, control: EmulatorControl) -> None:
    order = api.create_order()
    base = f"{api.shopping}/orders/{order['order_id']}"
    assert api.order_op(order["order_id"], "authorizations", [(1, 39800)]).status_code == 200
    authorization_id = api.get(f"{base}/authorizations").json()["authorizations"][0]["id"]
    for path in ("", "/cancellations", f"/authorizations/{authorization_id}"):
        assert api.get(base + path).status_code == 404, path
    control.config(lenient=True)
    for path in ("", "/cancellations", f"/authorizations/{authorization_id}"):
        assert api.get(base + path).status_code == 200, path


def test_order_events_list_the_api_calls(api: Api) -> None:
    order = api.create_order()
    order_id = order["order_id"]
    assert api.order_op(order_id, "authorizations", [(1, 39800), (2, 49900)]).status_code == 200
    cancel = api.order_op(order_id, "cancel", [(2, 49900)], metadata={"ref": "c-1"})
    assert cancel.status_code == 200
    body = api.get(f"{api.shopping}/orders/{order_id}/events").json()
    assert body["state"] == "pending"  # no service events
    paths = [event["request"]["path"] for event in body["events"]]
    assert paths[-1].endswith(f"/orders/{order_id}/cancel")
    assert '"c-1"' in body["events"][-1]["request"]["body"]
    assert api.get(f"{api.shopping}/orders/NOPE/events").status_code == 404


def test_a_completed_202_carries_the_correlation_id_not_the_reference(
    api: Api, control: EmulatorControl
) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", "accept_202", times=1)
    response = api.capture(transaction_id, 1000, capture_reference="cap-9")
    assert response.status_code == 202
    control.complete_pending(response.headers["event-request-id"])
    event = api.transaction(transaction_id)["events"][-1]
    assert event["correlation_request_id"] == response.headers["event-request-id"]
    assert "event_reference" not in event


def _paid_with(api: Api, control: EmulatorControl, product: str) -> str:
    session_id = api.create_session()
    result = control.pay(session_id, "AUTHORIZED", payment_product_type=product)
    return str(result["transaction_id"])


CHAIRS = SESSION_ORDER["items"][0]  # line "1": quantity 2, amount 19900


@pytest.mark.parametrize("product", ["instabank.finance", "collector.invoice"])
@pytest.mark.parametrize(
    ("items", "amount", "code"),
    [
        (None, 19900, "ITEMS_REQUIRED"),
        ([{"line_id": "1", "amount": 19900}], 19900, "QUANTITY_REQUIRED"),
        ([{"line_id": "1", "amount": 9950, "quantity": 1}], 9950, "WHOLE_LINES_REQUIRED"),
        ([{"line_id": "1", "amount": 19900, "quantity": 1}], 19900, "WHOLE_LINES_REQUIRED"),
    ],
)
def test_whole_line_products_refuse_partial_lines(
    api: Api, control: EmulatorControl, product: str, items: Any, amount: int, code: str
) -> None:
    transaction_id = _paid_with(api, control, product)
    extra = {} if items is None else {"items": items}
    response = api.capture(transaction_id, amount, **extra)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert api.transaction(transaction_id)["status"] == "AUTHORIZED"


@pytest.mark.parametrize("product", ["instabank.finance", "collector.invoice"])
def test_whole_line_products_take_whole_lines(api: Api, control: EmulatorControl, product: str) -> None:
    transaction_id = _paid_with(api, control, product)
    line = [{"line_id": "1", "amount": 19900, "quantity": 2}]
    assert api.capture(transaction_id, 19900, items=line).status_code == 200
    part = [{"line_id": "1", "amount": 9950, "quantity": 1}]
    assert api.refund(transaction_id, 9950, items=part).json()["error"]["code"] == "WHOLE_LINES_REQUIRED"
    assert api.refund(transaction_id, 19900, items=line).status_code == 200
    # Backoffice "capture the rest" names the lines that are left itself.
    captured = control.backoffice_capture(transaction_id)
    assert captured["status"] == "PARTIALLY_REFUNDED"


def test_card_payments_may_take_part_of_a_line(api: Api, control: EmulatorControl) -> None:
    transaction_id = _paid_with(api, control, "dintero_psp.creditcard")
    assert api.capture(transaction_id, 5000).status_code == 200
    part = [{"line_id": "1", "amount": 9950, "quantity": 1}]
    assert api.capture(transaction_id, 9950, items=part).status_code == 200


def test_a_quantity_must_be_positive(api: Api) -> None:
    transaction_id = api.paid()
    response = api.capture(transaction_id, 100, items=[{"line_id": "1", "amount": 100, "quantity": 0}])
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("items[0].quantity")


def test_an_expired_session_cannot_be_paid(api: Api, control: EmulatorControl) -> None:
    session_id = api.create_session(expires_at="2026-01-01T00:00:00Z")
    session = api.get(f"/v1/sessions/{session_id}").json()
    assert session["expires_at"].startswith("2026-01-01T00:00:00")
    with pytest.raises(Exception, match="expired"):
        control.pay(session_id)
