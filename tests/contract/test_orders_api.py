"""Contract: the token and the Orders API calls the app depends on, shape and effect.

[V] / [U] refer to ../shared/dintero-orders-api.md. A [U] call is in the contract
precisely so that a shop learns, on its test account, whether Dintero serves it.
"""

from __future__ import annotations

import re
import secrets

import pytest

from dintero_django.client.base import BaseClient

from .support import TOTAL, Target, make_line, record_item, standard_line

pytestmark = pytest.mark.timeout(120)

ORDER_ID = re.compile(r"^[A-Z0-9]{9}$")


def _items(draft: dict[str, object]) -> dict[int, dict[str, object]]:
    order = draft["order"]
    assert isinstance(order, dict)
    return {int(item["line_id"]): item for item in order["items"]}


def test_token_answer(target: Target) -> None:
    """POST /v1/accounts/{aid}/auth/token with Basic client credentials ([V] spec)."""
    value, expires_in = BaseClient()._fetch_token()
    assert isinstance(value, str) and len(value) > 20
    assert isinstance(expires_in, int) and expires_in > 0


def test_draft_create_read_and_item_changes(target: Target) -> None:
    contract = target.new_order()
    draft = target.create_draft(contract)
    draft_id = str(draft["id"])
    assert set(_items(draft)) == {1, 2, 3}
    assert draft["order"]["gross_amount"] == TOTAL
    assert _items(target.orders.get_draft(draft_id))[1]["quantity"] == 2

    lamp = make_line(contract.order, 4, "Lamp", 1, 4900, "physical")
    added = target.add_item(draft_id, lamp)  # POST …/items [V]
    assert _items(added)[4]["gross_amount"] == 4900
    assert added["order"]["gross_amount"] == TOTAL + 4900

    chair = contract.line(1)
    chair.quantity, chair.amount = 3, 3 * chair.unit_amount
    updated = target.update_item(draft_id, chair)  # PUT …/items/{line_id} [V]
    assert (_items(updated)[1]["quantity"], _items(updated)[1]["gross_amount"]) == (3, 59700)

    removed = target.delete_item(draft_id, 4)  # DELETE …/items/{line_id} [V]
    read_back = target.orders.get_draft(draft_id)
    for answer in (removed, read_back):
        assert set(_items(answer)) == {1, 2, 3}
        assert _items(answer)[1]["quantity"] == 3


def test_complete_turns_the_draft_into_one_open_order(target: Target) -> None:
    contract = target.new_order()
    draft = target.create_draft(contract)
    orders = target.orders.complete_draft(str(draft["id"]))  # PUT …/complete [V]
    assert len(orders) == 1
    [order] = orders
    assert order["order_id"] == contract.order_id and ORDER_ID.match(order["order_id"])
    assert order["id"]
    assert order["status"] == "open"
    assert order["payment_status"] == "pending"
    assert {int(item["line_id"]) for item in order["items"]} == {1, 2, 3}


def test_records_and_read_back(target: Target) -> None:
    """Authorization, capture, refund and cancellation records, each read back.

    POST …/authorizations, …/captures, …/refunds and GET lists of the first three are
    [V]; POST …/cancellations, GET …/cancellations/{id} are [V] pages (the create
    path is [U]: the overview says /cancel). The cancellations list is [U], so the
    client reads our cancellations back from the order's (documented) events, as the
    app does; GET …/orders/{order_id} is [U] and the app does not use it.
    """
    _contract, order = target.placed_order()
    order_id = str(order["order_id"])
    payment_id = f"contract-{secrets.token_hex(8)}"  # the Orders API only records facts
    chair, table, shipping = (standard_line(n) for n in (1, 2, 3))
    everything = [record_item(line) for line in (chair, table, shipping)]
    steps = [
        ("authorizations", everything, TOTAL),
        ("captures", [record_item(chair)], 39800),
        ("refunds", [record_item(chair, 1)], 19900),
        ("cancellations", [record_item(table), record_item(shipping)], 49900 + 9900),
    ]
    for collection, items, amount in steps:
        answer = target.record(order_id, collection, items, payment_id)
        assert 200 <= answer.status < 300
        record = answer.data
        assert record["id"] and record["success"] is True
        assert record["amount"] == amount
        assert [(i["line_id"], i["amount"]) for i in record["items"]] == [
            (i["line_id"], i["amount"]) for i in items
        ]
        assert record["payment_details"]["payment_id"] == payment_id
        listed = target.orders.list_operations(order_id, collection)  # type: ignore[arg-type]
        assert [r["payment_details"]["payment_id"] for r in listed] == [payment_id]
        assert [r["metadata"] for r in listed] == [record["metadata"]]
        if collection != "cancellations":
            assert [r["id"] for r in listed] == [record["id"]]
        else:
            one = target.orders.get(f"{target.orders._root}/orders/{order_id}/cancellations/{record['id']}")
            assert one.data["id"] == record["id"]
    assert target.orders.order_exists(order_id)
