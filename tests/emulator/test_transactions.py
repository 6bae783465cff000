"""Transactions: reads, listing, and every legal and illegal state transition."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from dintero_django.emulator import EmulatorControl

from .support import SESSION_TOTAL, SETUPS, Api, bring_to
from .support import operate as _operate

TOTAL = SESSION_TOTAL

# (status, operation) -> status afterwards; absent means the operation is illegal.
LEGAL = {
    ("AUTHORIZED", "capture"): "PARTIALLY_CAPTURED",
    ("PARTIALLY_CAPTURED", "capture"): "PARTIALLY_CAPTURED",
    ("PARTIALLY_CAPTURED_REFUNDED", "capture"): "PARTIALLY_CAPTURED_REFUNDED",
    ("CAPTURED", "refund"): "PARTIALLY_REFUNDED",
    ("PARTIALLY_CAPTURED", "refund"): "PARTIALLY_CAPTURED_REFUNDED",
    ("PARTIALLY_CAPTURED_REFUNDED", "refund"): "PARTIALLY_CAPTURED_REFUNDED",
    ("PARTIALLY_REFUNDED", "refund"): "PARTIALLY_REFUNDED",
    ("INITIATED", "void"): "AUTHORIZATION_VOIDED",
    ("AUTHORIZED", "void"): "AUTHORIZATION_VOIDED",
}


@pytest.mark.parametrize("operation", ["capture", "refund", "void"])
@pytest.mark.parametrize("status", list(SETUPS))
def test_transition_table(api: Api, status: str, operation: str) -> None:
    transaction_id = bring_to(api, status)
    before = api.transaction(transaction_id)
    response = _operate(api, transaction_id, operation, 1000)
    expected = LEGAL.get((status, operation))
    if expected is None:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "INVALID_STATE"
        assert status in response.json()["error"]["message"]
        assert api.transaction(transaction_id) == before  # nothing changed
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == expected
        assert response.json()["events"][-1]["event"] == operation.upper()
        assert api.transaction(transaction_id)["status"] == expected


@pytest.mark.parametrize(
    ("status", "operation", "amount", "expected"),
    [
        ("PARTIALLY_CAPTURED", "capture", TOTAL - 10000, "CAPTURED"),
        ("PARTIALLY_CAPTURED_REFUNDED", "capture", TOTAL - 10000, "PARTIALLY_REFUNDED"),
        ("PARTIALLY_CAPTURED_REFUNDED", "refund", 6000, "PARTIALLY_CAPTURED_REFUNDED"),
        ("PARTIALLY_REFUNDED", "refund", TOTAL - 4000, "REFUNDED"),
        ("CAPTURED", "refund", TOTAL, "REFUNDED"),
        ("AUTHORIZED", "capture", TOTAL, "CAPTURED"),
    ],
)
def test_transitions_to_final_amounts(
    api: Api, status: str, operation: str, amount: int, expected: str
) -> None:
    transaction_id = bring_to(api, status)
    response = _operate(api, transaction_id, operation, amount)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == expected


@pytest.mark.parametrize(
    ("status", "operation", "amount", "left"),
    [
        ("AUTHORIZED", "capture", TOTAL + 1, TOTAL),
        ("PARTIALLY_CAPTURED", "capture", TOTAL - 10000 + 1, TOTAL - 10000),
        ("CAPTURED", "refund", TOTAL + 1, TOTAL),
        ("PARTIALLY_CAPTURED", "refund", 10001, 10000),
        ("PARTIALLY_REFUNDED", "refund", TOTAL - 4000 + 1, TOTAL - 4000),
    ],
)
def test_amount_limits(api: Api, status: str, operation: str, amount: int, left: int) -> None:
    transaction_id = bring_to(api, status)
    before = api.transaction(transaction_id)
    response = _operate(api, transaction_id, operation, amount)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "AMOUNT_EXCEEDED"
    assert f"exceeds the {left}" in error["message"]
    assert api.transaction(transaction_id) == before


def test_illegal_status_can_be_409(api: Api, control: EmulatorControl) -> None:
    control.config(illegal_transition_status=409)
    transaction_id = bring_to(api, "AUTHORIZED")
    assert api.refund(transaction_id, 1).status_code == 409
    assert api.capture(transaction_id, TOTAL + 1).status_code == 409


def test_void_after_partial_capture_is_configurable(api: Api, control: EmulatorControl) -> None:
    transaction_id = bring_to(api, "PARTIALLY_CAPTURED")
    response = api.void(transaction_id)
    assert response.status_code == 400
    assert "only supported for some product types" in response.json()["error"]["message"]
    control.config(void_after_partial_capture=True)
    response = api.void(transaction_id)
    assert response.status_code == 200
    assert response.json()["status"] == "CAPTURED"
    event = response.json()["events"][-1]
    assert (event["event"], event["amount"]) == ("VOID", TOTAL - 10000)
    # Nothing is left to capture; what was captured can still be refunded.
    assert api.capture(transaction_id, 1).status_code == 400
    assert api.refund(transaction_id, 10000).json()["status"] == "REFUNDED"


@pytest.mark.parametrize(("product", "status"), [("payex.creditcard", 200), ("dintero_psp.creditcard", 400)])
def test_void_on_part_capture_follows_the_documented_product_types(
    api: Api, control: EmulatorControl, product: str, status: int
) -> None:
    # spec /transactions/{id}/void: "Void on part capture is only supported on" payex.*, vipps, klarna.*
    session_id = api.create_session()
    transaction_id = control.pay(session_id, "AUTHORIZED", payment_product_type=product)["transaction_id"]
    assert api.capture(transaction_id, 10000).status_code == 200
    response = api.void(transaction_id)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["status"] == "CAPTURED"


def test_status_after_void_of_remainder_is_configurable(api: Api, control: EmulatorControl) -> None:
    control.config(void_after_partial_capture=True, void_after_partial_capture_status="AUTHORIZATION_VOIDED")
    transaction_id = bring_to(api, "PARTIALLY_CAPTURED")
    assert api.void(transaction_id).json()["status"] == "AUTHORIZATION_VOIDED"


def test_capture_with_items_and_reference(api: Api) -> None:
    transaction_id = bring_to(api, "AUTHORIZED")
    items = [{"line_id": "1", "amount": 19900, "quantity": 2}, {"line_id": "ship", "amount": 9900}]
    response = api.capture(
        transaction_id, 29800, items=items, capture_reference="cap-1", metadata={"ext_x": "1"}
    )
    assert response.status_code == 200
    event = response.json()["events"][-1]
    assert event["event"] == "CAPTURE"
    assert event["transaction_status"] == "PARTIALLY_CAPTURED"
    assert event["amount"] == 29800
    assert event["items"] == items
    assert event["success"] is True
    assert event["event_reference"] == "cap-1"
    assert event["metadata"] == {"ext_x": "1"}
    assert event["created_by"] == "emulator-client"
    uuid.UUID(event["request_id"])
    refund = api.refund(transaction_id, 100, refund_reference="ref-1", reason="broken")
    assert refund.json()["events"][-1]["event_reference"] == "ref-1"


@pytest.mark.parametrize(
    ("items", "amount", "code"),
    [
        ([{"line_id": "9", "amount": 100}], 100, "UNKNOWN_LINE_ID"),
        ([{"line_id": "1", "amount": 100}], 200, "ITEMS_AMOUNT_MISMATCH"),
        ([{"line_id": "1", "amount": 19901}], 19901, "AMOUNT_EXCEEDED"),
    ],
)
def test_capture_items_are_checked(api: Api, items: list[dict[str, Any]], amount: int, code: str) -> None:
    transaction_id = bring_to(api, "AUTHORIZED")
    response = api.capture(transaction_id, amount, items=items)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_a_line_cannot_be_captured_twice(api: Api) -> None:
    transaction_id = bring_to(api, "AUTHORIZED")
    line = [{"line_id": "2", "amount": 19900}]
    assert api.capture(transaction_id, 19900, items=line).status_code == 200
    assert api.capture(transaction_id, 19900, items=line).json()["error"]["code"] == "AMOUNT_EXCEEDED"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 2**31}, "amount"),
        ({"amount": 1, "items": [{"line_id": 1, "amount": 1}]}, "items[0].line_id"),
        ({"amount": 1, "items": [{"line_id": "1", "amount": "1"}]}, "items[0].amount"),
        ({"amount": 1, "capture_reference": 5}, "capture_reference"),
        ({"amount": 1, "metadata": {"ext_a": 1}}, "metadata.ext_a"),
    ],
)
def test_capture_body_validation(api: Api, body: dict[str, Any], field: str) -> None:
    transaction_id = bring_to(api, "AUTHORIZED")
    response = api.post(f"/v1/transactions/{transaction_id}/capture", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")


def test_unknown_transaction_is_404(api: Api) -> None:
    assert api.get("/v1/transactions/T12345678.nope").status_code == 404
    assert api.capture("T12345678.nope", 1).status_code == 404
    assert api.void("T12345678.nope").status_code == 404


def test_transaction_shape(api: Api) -> None:
    session_id = api.create_session(
        callback_url="https://shop.example.com/cb", customer={"email": "k@example.com"}
    )
    transaction_id = api.emulator.control.pay(session_id, "AUTHORIZED")["transaction_id"]
    transaction = api.transaction(str(transaction_id))
    assert transaction["session_id"] == session_id
    assert transaction["amount"] == TOTAL
    assert transaction["currency"] == "NOK"
    assert transaction["merchant_reference"] == "order-1"
    assert transaction["payment_product"] == "dintero_psp"
    assert transaction["payment_product_type"] == "dintero_psp.creditcard"
    assert [item["line_id"] for item in transaction["items"]] == ["1", "2", "ship"]
    assert transaction["items"][-1]["type"] == "shipping"
    assert transaction["customer"] == {"email": "k@example.com"}
    assert transaction["url"]["callback_url"] == "https://shop.example.com/cb"
    assert transaction["url"]["redirect_url"].startswith("https://shop.example.com/return?lang=nb&")
    assert [e["event"] for e in transaction["events"]] == ["INITIALIZE", "AUTHORIZE"]
    assert [e["id"] for e in transaction["events"]] == ["1", "2"]
    assert transaction["metadata"]["session:profile_id"] == "default"
    assert "session" not in transaction
    with_session = api.get(f"/v1/transactions/{transaction_id}", params={"includes": "session"})
    assert with_session.json()["session"]["id"] == session_id


def test_system_headers_are_sent_back(api: Api) -> None:
    session_id = api.create_session(headers={"Dintero-System-Name": "shop", "Dintero-System-Version": "9"})
    transaction_id = api.emulator.control.pay(session_id)["transaction_id"]
    headers = api.transaction(str(transaction_id))["initiating_system_request_headers"]
    assert headers["dintero-system-name"] == "shop"
    assert headers["dintero-system-version"] == "9"


def test_list_transactions(api: Api) -> None:
    first = api.paid()
    second_session = api.create_session(
        order={**api.session_body()["order"], "merchant_reference": "order-2"}
    )
    second = api.emulator.control.pay(second_session)["transaction_id"]
    third = api.paid()

    def ids(**params: Any) -> list[str]:
        response = api.get("/v1/transactions", params=params)
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        return [t["id"] for t in response.json()]

    assert ids() == [third, second, first]
    assert ids(merchant_reference="order-1") == [third, first]
    assert ids(session_id=second_session) == [second]
    assert ids(limit=2) == [third, second]
    assert ids(starting_after=second) == [first]
    assert ids(id=[first, third]) == [third, first]
    assert ids(status="AUTHORIZED", merchant_reference="nope") == []
    for bad in ("0", "101", "x"):
        assert api.get("/v1/transactions", params={"limit": bad}).status_code == 400


def test_parallel_captures_never_exceed_the_authorization(api: Api) -> None:
    transaction_id = bring_to(api, "AUTHORIZED")
    token = api.token()
    workers, amount = 24, 5000
    barrier = threading.Barrier(workers)

    def capture(_: int) -> int:
        with requests.Session() as http:
            http.trust_env = False
            barrier.wait(10)
            response = http.post(
                f"{api.url}/v1/transactions/{transaction_id}/capture",
                json={"amount": amount},
                headers={"Authorization": f"Bearer {token}"},
                timeout=20,
            )
            return response.status_code

    with ThreadPoolExecutor(workers) as pool:
        statuses = list(pool.map(capture, range(workers)))
    succeeded = statuses.count(200)
    assert succeeded == TOTAL // amount  # 9 of 24 fit into 49 700
    assert statuses.count(400) == workers - succeeded
    transaction = api.transaction(transaction_id)
    captures = [e["amount"] for e in transaction["events"] if e["event"] == "CAPTURE"]
    assert sum(captures) == succeeded * amount <= TOTAL
    assert transaction["status"] == "PARTIALLY_CAPTURED"


def test_parallel_mixed_operations_keep_the_ledger_consistent(api: Api) -> None:
    transaction_id = bring_to(api, "CAPTURED")
    token = api.token()
    barrier = threading.Barrier(16)
    calls: list[Callable[[requests.Session], requests.Response]] = [
        lambda http: http.post(
            f"{api.url}/v1/transactions/{transaction_id}/refund",
            json={"amount": 7000},
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        )
    ] * 16

    def run(call: Callable[[requests.Session], requests.Response]) -> int:
        with requests.Session() as http:
            http.trust_env = False
            barrier.wait(10)
            return call(http).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(run, calls))
    assert statuses.count(200) == TOTAL // 7000
    refunds = [e["amount"] for e in api.transaction(transaction_id)["events"] if e["event"] == "REFUND"]
    assert sum(refunds) <= TOTAL
