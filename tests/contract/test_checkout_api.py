"""Contract: the Checkout API calls the app depends on, shape and effect ([V] spec).

Sessions are created from the app's own ``session_body``; capture and refund send lines
as the spec documents them (``line_id``, ``quantity``, ``amount``). The paid steps need
a payer: the emulator's control API, or a person with a test card (docs/contract.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from .support import TOTAL, Target, line_item, standard_line

pytestmark = pytest.mark.timeout(120)


def _events(transaction: dict[str, Any], name: str) -> list[dict[str, Any]]:
    events = transaction.get("events") or []
    assert isinstance(events, list)
    return [e for e in events if e.get("event") == name and e.get("success") is True]


def test_session_create_read_cancel(target: Target) -> None:
    contract, _order = target.placed_order()
    created = target.create_session(contract)  # POST /v1/sessions-profile
    session_id = str(created["id"])
    assert session_id.startswith(target.checkout.conf.ACCOUNT_ID + ".")
    assert str(created["url"]).startswith("http")

    session = target.checkout.get_session(session_id)  # GET /v1/sessions/{id}
    assert session["id"] == session_id
    assert session["order"]["amount"] == TOTAL
    assert session["order"]["merchant_reference"] == contract.order_id
    assert {item["line_id"] for item in session["order"]["items"]} == {"1", "2", "3"}
    assert not session.get("transaction_id")
    assert not session.get("cancelled_at")

    cancelled = target.checkout.cancel_session(session_id)  # POST /v1/sessions/{id}/cancel
    assert cancelled.get("cancelled_at")
    assert target.checkout.get_session(session_id).get("cancelled_at")


def test_transaction_read_capture_and_refund_with_lines(target: Target) -> None:
    order_id, transaction_id = target.paid("capture")
    chair, table = standard_line(1), standard_line(2)

    transaction = target.checkout.get_transaction(transaction_id)  # GET /v1/transactions/{id}
    assert transaction["id"] == transaction_id
    assert transaction["status"] == "AUTHORIZED"
    assert (transaction["amount"], transaction["currency"]) == (TOTAL, "NOK")
    assert transaction["merchant_reference"] == order_id
    assert {item["line_id"] for item in transaction["items"]} == {"1", "2", "3"}
    assert _events(transaction, "AUTHORIZE")
    listed = target.checkout.find_transactions(merchant_reference=order_id)  # GET /v1/transactions
    assert [t["id"] for t in listed] == [transaction_id]

    capture_items = [line_item(chair), line_item(table)]
    captured = target.checkout.capture(
        transaction_id,
        {"amount": 39800 + 49900, "capture_reference": f"{order_id}-c1", "items": capture_items},
    )
    assert captured.status == 200
    assert captured.data["status"] == "PARTIALLY_CAPTURED"
    [capture] = _events(captured.data, "CAPTURE")
    assert capture["amount"] == 39800 + 49900
    assert capture["event_reference"] == f"{order_id}-c1"
    assert {item["line_id"] for item in capture["items"]} == {"1", "2"}

    refund_items = [line_item(chair, 1)]
    refunded = target.checkout.refund(
        transaction_id,
        {"amount": 19900, "refund_reference": f"{order_id}-r1", "reason": "contract", "items": refund_items},
    )
    assert refunded.status == 200
    assert refunded.data["status"] == "PARTIALLY_CAPTURED_REFUNDED"
    [refund] = _events(refunded.data, "REFUND")
    assert (refund["amount"], refund["event_reference"]) == (19900, f"{order_id}-r1")
    read_back = target.checkout.get_transaction(transaction_id)
    assert read_back["status"] == "PARTIALLY_CAPTURED_REFUNDED"


def test_void_an_authorization(target: Target) -> None:
    _order_id, transaction_id = target.paid("void")
    voided = target.checkout.void(transaction_id)  # POST /v1/transactions/{id}/void
    assert voided.status == 200
    assert voided.data["status"] == "AUTHORIZATION_VOIDED"
    assert _events(voided.data, "VOID")
    assert target.checkout.get_transaction(transaction_id)["status"] == "AUTHORIZATION_VOIDED"
