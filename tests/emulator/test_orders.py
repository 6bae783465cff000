"""Orders API: drafts, completion, orders and recorded operations."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

import pytest

from dintero_django.emulator import EmulatorControl

from .support import DRAFT_BODY, Api

JSON = dict[str, Any]


@pytest.fixture(autouse=True)
def _lenient(control: EmulatorControl) -> None:
    """This module also covers the undocumented [U] calls (whole-draft PUT, GET order,
    the cancellations list, single-operation reads), served only with ``lenient``;
    test_documented_calls.py checks that they are off by default."""
    control.config(lenient=True)


def _draft_body(**order: Any) -> JSON:
    body = copy.deepcopy(DRAFT_BODY)
    body["order"].update(order)
    return body


# --- drafts ----------------------------------------------------------------------------


def test_create_and_get_draft(api: Api) -> None:
    draft = api.create_draft()
    uuid.UUID(draft["id"], version=4)
    assert draft["options"] == {"generate_order_id": "ALPHANUMERIC_9"}
    assert draft["order"]["gross_amount"] == 89700
    assert draft["order"]["net_amount"] == 89700 - 7960 - 9980
    assert draft["created_by"] == "emulator-client"
    fetched = api.get(f"{api.shopping}/draft_orders/{draft['id']}").json()
    assert fetched == draft
    listing = api.get(f"{api.shopping}/draft_orders").json()
    assert [d["id"] for d in listing["draft_orders"]] == [draft["id"]]


def test_unknown_draft_is_404(api: Api) -> None:
    response = api.get(f"{api.shopping}/draft_orders/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["order"].pop("currency"), "order.currency"),
        (lambda b: b["order"].update(currency="nok"), "order.currency"),
        (lambda b: b["order"].update(currency="NOKK"), "order.currency"),
        (lambda b: b["order"].pop("items"), "order.items"),
        (lambda b: b["order"]["items"][1].update(line_id=1), "order.items[1].line_id"),
        (lambda b: b["order"]["items"][1].update(line_id="2"), "order.items[1].line_id"),
        (lambda b: b["order"]["items"][0].update(gross_amount=398.0), "order.items[0].gross_amount"),
        (lambda b: b["order"]["items"][0].update(gross_amount=True), "order.items[0].gross_amount"),
        (lambda b: b["order"]["items"][0].update(gross_amount=2**31), "order.items[0].gross_amount"),
        (lambda b: b["order"]["items"][0].pop("quantity"), "order.items[0].quantity"),
        (
            lambda b: b["order"]["items"][0]["tax_lines"][0].update(amount="7960"),
            "order.items[0].tax_lines[0].amount",
        ),
        (lambda b: b["options"].update(generate_order_id="NUMERIC_6"), "options.generate_order_id"),
        (lambda b: b.pop("order"), "order"),
        (
            lambda b: (b["order"].update(order_id="X1"), b["options"].update(split_draft=True)),
            "options.split_draft",
        ),
    ],
)
def test_draft_validation_names_the_field(api: Api, mutate: Any, field: str) -> None:
    body = copy.deepcopy(DRAFT_BODY)
    mutate(body)
    response = api.post(f"{api.shopping}/draft_orders", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"].startswith(f"{field}:")
    assert error["errors"][0]["field"] == field


def test_replace_whole_draft(api: Api) -> None:
    draft = api.create_draft()
    body = _draft_body(items=[DRAFT_BODY["order"]["items"][0]])
    response = api.put(f"{api.shopping}/draft_orders/{draft['id']}", json=body)
    assert response.status_code == 200
    assert response.json()["order"]["gross_amount"] == 39800
    assert len(response.json()["events"]) == 1


def test_draft_items_add_update_delete(api: Api) -> None:
    draft = api.create_draft()
    base = f"{api.shopping}/draft_orders/{draft['id']}/items"
    new_item = {"id": "lamp", "line_id": 3, "quantity": 1, "gross_amount": 9900}
    added = api.post(base, json=new_item)
    assert added.status_code == 200
    assert [i["line_id"] for i in added.json()["order"]["items"]] == [1, 2, 3]
    assert api.post(base, json=new_item).status_code == 400  # duplicate line_id
    updated = api.put(f"{base}/3", json={"id": "lamp", "quantity": 2, "gross_amount": 19800})
    assert updated.status_code == 200
    assert updated.json()["order"]["gross_amount"] == 89700 + 19800
    assert api.put(f"{base}/3", json={**new_item, "line_id": 4}).status_code == 400
    assert api.put(f"{base}/9", json={"quantity": 1, "gross_amount": 1}).status_code == 404
    assert api.put(f"{base}/x", json={"quantity": 1, "gross_amount": 1}).status_code == 400
    deleted = api.delete(f"{base}/1")
    assert [i["line_id"] for i in deleted.json()["order"]["items"]] == [2, 3]
    assert api.delete(f"{base}/1").status_code == 404


def test_complete_with_alphanumeric_9(api: Api) -> None:
    draft = api.create_draft()
    response = api.complete(draft["id"])
    assert response.status_code == 200
    [order] = response.json()["orders"]
    assert re.fullmatch(r"[A-Z0-9]{9}", order["order_id"])
    uuid.UUID(order["id"], version=4)
    assert order["status"] == "open"
    assert order["payment_status"] == "pending"
    assert order["currency"] == "NOK"
    assert order["merchant_reference"] == "shop-1"
    assert order["gross_amount"] == 89700
    for kind in ("authorizations", "captures", "refunds", "cancellations"):
        assert order[kind] == []


def test_complete_with_custom_order_id(api: Api) -> None:
    body = _draft_body(order_id="SHOP-42")
    body["options"] = {"split_draft": False}
    order = api.create_order(body)
    assert order["order_id"] == "SHOP-42"
    duplicate = api.complete(api.create_draft(body)["id"])
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["code"] == "DUPLICATE_ORDER_ID"


def test_order_id_defaults_to_id(api: Api) -> None:
    body = copy.deepcopy(DRAFT_BODY)
    body["options"] = {}
    order = api.create_order(body)
    assert order["order_id"] == order["id"]


def test_second_completion_is_400_or_returns_the_orders(api: Api, control: EmulatorControl) -> None:
    draft = api.create_draft()
    first = api.complete(draft["id"]).json()["orders"]
    again = api.complete(draft["id"])
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "DRAFT_COMPLETED"
    control.config(orders_recomplete="return_existing")
    again = api.complete(draft["id"])
    assert again.status_code == 200
    assert [o["id"] for o in again.json()["orders"]] == [o["id"] for o in first]
    assert len(control.state()["orders"]) == 1


@pytest.mark.parametrize("status", [400, 409])
def test_completed_draft_refuses_changes(api: Api, control: EmulatorControl, status: int) -> None:
    control.config(orders_completed_draft_status=status)
    draft = api.create_draft()
    api.complete(draft["id"])
    base = f"{api.shopping}/draft_orders/{draft['id']}"
    item = {"line_id": 9, "quantity": 1, "gross_amount": 1}
    assert api.put(base, json=DRAFT_BODY).status_code == status
    assert api.post(f"{base}/items", json=item).status_code == status
    assert api.put(f"{base}/items/1", json=item | {"line_id": 1}).status_code == status
    assert api.delete(f"{base}/items/1").status_code == status


def test_create_status_can_be_201(api: Api, control: EmulatorControl) -> None:
    control.config(orders_create_status=201)
    response = api.post(f"{api.shopping}/draft_orders", json=DRAFT_BODY)
    assert response.status_code == 201
    order = api.complete(response.json()["id"]).json()["orders"][0]
    assert api.order_op(order["order_id"], "authorizations", [(1, 39800)]).status_code == 201


# --- orders and operations ---------------------------------------------------------------


def test_get_order_by_order_id_and_by_id(api: Api) -> None:
    order = api.create_order()
    by_order_id = api.get(f"{api.shopping}/orders/{order['order_id']}")
    by_id = api.get(f"{api.shopping}/orders/{order['id']}")
    assert by_order_id.status_code == by_id.status_code == 200
    assert by_order_id.json() == by_id.json()
    assert "events" not in by_id.json()
    with_events = api.get(f"{api.shopping}/orders/{order['id']}", params={"include_events": "true"})
    assert with_events.json()["events"][0]["draft_id"] == order["draft_id"]
    assert api.get(f"{api.shopping}/orders/missing").status_code == 404


@pytest.mark.parametrize("kind", ["authorizations", "captures", "refunds", "cancellations"])
def test_operation_create_list_get(api: Api, control: EmulatorControl, kind: str) -> None:
    control.config(orders_strict=False)
    order = api.create_order()
    response = api.order_op(order["order_id"], kind, [(1, 39800)], metadata={"op": "mine-1"})
    assert response.status_code == 200
    op = response.json()
    uuid.UUID(op["id"])
    assert op["amount"] == 39800
    assert op["created_by"] == "emulator-client"
    assert op["metadata"] == {"op": "mine-1"}
    assert op["payment_details"] == {"payment_id": "T12345678.xyz"}
    assert op["success"] is True
    assert op["items"] == [{"line_id": 1, "amount": 39800}]
    listing = api.get(f"{api.shopping}/orders/{order['order_id']}/{kind}").json()
    assert listing == {kind: [op]}
    single = api.get(f"{api.shopping}/orders/{order['order_id']}/{kind}/{op['id']}")
    assert single.json() == op
    assert api.get(f"{api.shopping}/orders/{order['order_id']}/{kind}/nope").status_code == 404
    assert api.get(f"{api.shopping}/orders/{order['order_id']}").json()[kind] == [op]


def test_cancel_is_an_alias_of_cancellations(api: Api) -> None:
    order = api.create_order()
    response = api.post(f"{api.shopping}/orders/{order['order_id']}/cancel", json={})
    assert response.status_code == 200
    assert api.get(f"{api.shopping}/orders/{order['order_id']}/cancellations").json()["cancellations"] == [
        response.json()
    ]
    assert api.get(f"{api.shopping}/orders/{order['order_id']}/cancel").status_code == 404
    assert api.post(f"{api.shopping}/orders/{order['order_id']}/bogus", json={}).status_code == 404


def test_operations_are_not_deduplicated(api: Api) -> None:
    order = api.create_order()
    for _ in range(2):
        assert api.order_op(order["order_id"], "authorizations", [(1, 100)]).status_code == 200
    listing = api.get(f"{api.shopping}/orders/{order['order_id']}/authorizations").json()
    assert len(listing["authorizations"]) == 2


@pytest.mark.parametrize(
    ("setup", "kind", "items", "code"),
    [
        ([], "captures", [], "VALIDATION_ERROR"),  # items required
        ([], "refunds", [], "VALIDATION_ERROR"),
        ([], "authorizations", [(7, 100)], "VALIDATION_ERROR"),  # unknown line
        ([], "authorizations", [(1, 39801)], "AMOUNT_EXCEEDED"),  # more than the line
        ([("authorizations", [(1, 39800)])], "captures", [(1, 39801)], "AMOUNT_EXCEEDED"),
        ([("authorizations", [(1, 100)])], "captures", [(2, 1)], "AMOUNT_EXCEEDED"),
        (
            [("authorizations", [(1, 39800)]), ("captures", [(1, 100)])],
            "refunds",
            [(1, 101)],
            "AMOUNT_EXCEEDED",
        ),
        (
            [("authorizations", [(1, 39800), (2, 49900)]), ("captures", [(1, 39800), (2, 49900)])],
            "cancellations",
            [],
            "AMOUNT_EXCEEDED",
        ),
        (
            [("authorizations", [(1, 39800)]), ("cancellations", [(1, 39800)])],
            "captures",
            [(1, 1)],
            "AMOUNT_EXCEEDED",
        ),
    ],
)
def test_strict_amount_rules(
    api: Api,
    setup: list[tuple[str, list[tuple[int, int]]]],
    kind: str,
    items: list[tuple[int, int]],
    code: str,
) -> None:
    order = api.create_order()
    for setup_kind, setup_items in setup:
        assert api.order_op(order["order_id"], setup_kind, setup_items).status_code == 200
    before = api.get(f"{api.shopping}/orders/{order['order_id']}").json()
    response = api.order_op(order["order_id"], kind, items)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    after = api.get(f"{api.shopping}/orders/{order['order_id']}").json()
    assert after[kind] == before[kind]


def test_failed_operations_are_recorded_but_not_counted(api: Api) -> None:
    order = api.create_order()
    order_id = order["order_id"]
    assert api.order_op(order_id, "authorizations", [(1, 39800)], success=False).status_code == 200
    # The failed authorization does not allow a capture.
    assert api.order_op(order_id, "captures", [(1, 1)]).status_code == 400


def test_ledger_mode_records_anything(api: Api, control: EmulatorControl) -> None:
    control.config(orders_strict=False)
    order = api.create_order()
    assert api.order_op(order["order_id"], "captures", [(99, 10**6)]).status_code == 200
    body = {"payment_details": {"payment_id": "x"}}
    response = api.post(f"{api.shopping}/orders/{order['order_id']}/refunds", json=body)
    assert response.status_code == 200
    assert response.json()["amount"] == 0


def test_operation_body_types_are_checked(api: Api) -> None:
    order = api.create_order()
    base = f"{api.shopping}/orders/{order['order_id']}/authorizations"
    cases = [
        ({"items": [{"line_id": "1", "amount": 1}]}, "items[0].line_id"),
        ({"items": [{"line_id": 1, "amount": 1.5}]}, "items[0].amount"),
        ({"items": "all"}, "items"),
        ({"success": "yes"}, "success"),
        ({"metadata": []}, "metadata"),
    ]
    for body, field in cases:
        response = api.post(base, json=body)
        assert response.status_code == 400
        assert response.json()["error"]["message"].startswith(field)


def test_payment_status_follows_the_operations(api: Api) -> None:
    order = api.create_order()
    order_id = order["order_id"]

    def status() -> str:
        return str(api.get(f"{api.shopping}/orders/{order_id}").json()["payment_status"])

    steps = [
        ("authorizations", [(1, 39800)], "partially_authorized"),
        ("authorizations", [(2, 49900)], "authorized"),
        ("captures", [(1, 39800)], "partially_captured"),
        ("captures", [(2, 49900)], "captured"),
        ("refunds", [(1, 100)], "partially_refunded"),
        ("refunds", [(1, 39700), (2, 49900)], "refunded"),
    ]
    for kind, items, expected in steps:
        assert api.order_op(order_id, kind, items).status_code == 200
        assert status() == expected


def test_cancelled_payment_status_and_renamed_values(api: Api, control: EmulatorControl) -> None:
    control.config(orders_payment_status_names={"cancelled": "CANCELLED"})
    order = api.create_order()
    assert api.order_op(order["order_id"], "authorizations", [(1, 39800)]).status_code == 200
    assert api.order_op(order["order_id"], "cancellations", [(1, 39800)]).status_code == 200
    fetched = api.get(f"{api.shopping}/orders/{order['order_id']}").json()
    assert fetched["payment_status"] == "CANCELLED"


def test_negative_reversal_lines(api: Api) -> None:
    body = copy.deepcopy(DRAFT_BODY)
    body["order"]["items"].append({"id": "chair", "line_id": 3, "quantity": -1, "gross_amount": -19900})
    order = api.create_order(body)
    order_id = order["order_id"]
    assert api.order_op(order_id, "authorizations", [(3, -19900)]).status_code == 200
    assert api.order_op(order_id, "captures", [(3, -19900)]).status_code == 200
    assert api.order_op(order_id, "captures", [(3, -1)]).status_code == 400
    assert api.order_op(order_id, "authorizations", [(1, -5)]).status_code == 400
