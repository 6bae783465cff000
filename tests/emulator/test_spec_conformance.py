"""Every Checkout response the emulator serves validates against our contract of Dintero's API.

The contract (tests/contract/checkout-api.yaml) holds the facts of Dintero's Checkout
spec that the emulator serves and the app reads: properties, types, formats, enums and
required lists, as JSON Schema draft 4. It is in the repository, so these tests run on
every clone; tests/contract/test_spec_drift.py checks it against Dintero's own spec
file wherever that is at hand (``DINTERO_SPEC_PATH``; CI always).

The emulator may serve only properties the contract names (the spec has no
``additionalProperties: false`` to catch invented fields), so every field it serves has
been checked against the spec.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from dintero_django.emulator import EmulatorControl
from tests.contract.checkout import load_contract

from .support import SETUPS, Api, Receiver, bring_to

JSON = dict[str, Any]


@pytest.fixture(scope="module")
def contract() -> JSON:
    documents: JSON = load_contract()["documents"]
    return documents


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


@FORMATS.checks("iso4217-code")
def _currency(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[A-Z]{3}", value) is not None


def validator(contract: JSON, document: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(contract[document], format_checker=FORMATS)


def assert_known(data: JSON, properties: JSON, what: str) -> None:
    """No invented fields: the spec has no additionalProperties=false to catch them."""
    invented = set(data) - set(properties)
    assert not invented, f"{what}: properties the contract does not name: {sorted(invented)}"


def assert_valid(contract: JSON, document: str, data: Any, what: str) -> None:
    errors = sorted(validator(contract, document).iter_errors(data), key=str)
    assert not errors, f"{what}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )


def assert_transaction(contract: JSON, data: JSON, what: str) -> None:
    assert_valid(contract, "transaction", data, what)
    properties = contract["transaction"]["properties"]
    assert_known(data, properties, what)
    for event in data["events"]:
        assert_known(event, properties["events"]["items"]["properties"], f"{what} event")


def assert_session(contract: JSON, data: JSON, what: str) -> None:
    assert_valid(contract, "session", data, what)
    assert_known(data, contract["session"]["properties"], what)


def assert_error(contract: JSON, response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert_valid(contract, "error", response.json(), f"error {status}")


def test_token(contract: JSON, api: Api) -> None:
    assert_valid(contract, "access_token", api.token_response().json(), "token")


def test_session_created_and_read(contract: JSON, api: Api, control: EmulatorControl) -> None:
    body = api.session_body(
        callback_url="https://shop.example.com/cb?method=POST",
        customer={"email": "a@example.com", "phone_number": "+4799999999"},
        metadata={"ext_id": "1"},
        configuration={"auto_capture": False},
    )
    plain = api.post("/v1/sessions-profile", json=body).json()
    assert_valid(contract, "session_created", plain, "session created")
    full = api.post("/v1/sessions-profile", params={"include_session": "true"}, json=body).json()
    assert_valid(contract, "session_created", full, "session created with session")
    assert_session(contract, full["session"], "included session")
    session_id = full["id"]
    assert_session(contract, api.get(f"/v1/sessions/{session_id}").json(), "new session")
    api.http.get(f"{api.url}/v1/view/{session_id}/", timeout=5)
    control.pay(session_id)
    assert_session(contract, api.get(f"/v1/sessions/{session_id}").json(), "paid session")
    cancelled = api.post(f"/v1/sessions/{session_id}/cancel").json()
    assert_session(contract, cancelled, "cancelled session")


@pytest.mark.parametrize("status", list(SETUPS))
def test_transaction_in_every_status(contract: JSON, api: Api, status: str) -> None:
    transaction_id = bring_to(api, status)
    data = api.transaction(transaction_id)
    assert data["status"] == status
    assert_transaction(contract, data, status)


def test_transaction_with_session_and_list(contract: JSON, api: Api) -> None:
    transaction_id = bring_to(api, "PARTIALLY_CAPTURED")
    bring_to(api, "ON_HOLD")
    with_session = api.get(f"/v1/transactions/{transaction_id}", params={"includes": "session"}).json()
    assert_transaction(contract, with_session, "with session")
    listing = api.get("/v1/transactions").json()
    assert len(listing) == 2
    for item in listing:
        assert_transaction(contract, item, "list")


def test_operation_results(contract: JSON, api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    items = [{"line_id": "1", "amount": 19900, "quantity": 2}]
    captured = api.capture(transaction_id, 19900, items=items, capture_reference="c1")
    assert_transaction(contract, captured.json(), "capture")
    refunded = api.refund(transaction_id, 900, items=[{"line_id": "1", "amount": 900}], reason="r")
    assert_transaction(contract, refunded.json(), "refund")
    voided = api.void(api.paid())
    assert_transaction(contract, voided.json(), "void")
    control.add_fault("capture", "accept_202", times=1)
    accepted = api.capture(transaction_id, 100)
    assert accepted.status_code == 202
    assert_transaction(contract, accepted.json(), "202 accepted")
    control.complete_pending()
    assert_transaction(contract, api.transaction(transaction_id), "after completion")


def test_failed_completion_event(contract: JSON, api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", "accept_202", times=1)
    api.capture(transaction_id, 100)
    api.void(transaction_id)
    control.complete_pending()
    assert_transaction(contract, api.transaction(transaction_id), "failed completion")


def test_callback_body(contract: JSON, api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    session_id = api.create_session(callback_url=f"{receiver.url}/cb?method=POST&includes=session")
    control.pay(session_id, "CAPTURED")
    control.wait_callbacks()
    assert_transaction(contract, json.loads(receiver.next().body), "callback body")


def test_error_bodies(contract: JSON, api: Api, control: EmulatorControl) -> None:
    assert_error(contract, api.token_response(auth=("x", "y")), 401)
    assert_error(contract, api.token_response(body={}), 400)
    assert_error(contract, api.get("/v1/transactions", auth=False), 401)
    assert_error(contract, api.get("/v1/transactions/T12345678.none"), 404)
    assert_error(contract, api.get("/v1/sessions/T12345678.none"), 404)
    assert_error(contract, api.post("/v1/sessions-profile", json={}), 400)
    assert_error(contract, api.capture(api.paid("DECLINED"), 100), 400)
    control.add_fault("transaction_list", "rate_limit", times=1)
    assert_error(contract, api.get("/v1/transactions"), 429)
    control.add_fault("transaction_list", "error_before", status=503, times=1)
    assert_error(contract, api.get("/v1/transactions"), 503)
    control.add_fault("transaction_list", "error_after", times=1)
    assert_error(contract, api.get("/v1/transactions"), 500)


def test_the_validator_catches_mistakes(contract: JSON, api: Api) -> None:
    """A conformance test that cannot fail proves nothing: feed it broken documents."""
    good = api.transaction(api.paid())
    assert_transaction(contract, good, "good")
    broken_documents = [
        {**good, "status": "VOIDED"},
        {**good, "amount": "49700"},
        {**good, "currency": "nok"},
        {**good, "created_at": "yesterday"},
        {**good, "events": [{**good["events"][0], "event": "INITIATE"}]},
        {key: value for key, value in good.items() if key != "payment_product"},
    ]
    for broken in broken_documents:
        assert list(validator(contract, "transaction").iter_errors(broken)), broken
    with pytest.raises(AssertionError):
        assert_transaction(contract, {**good, "transaction_status": "AUTHORIZED"}, "invented field")
    assert list(validator(contract, "error").iter_errors({"error": {"code": "X"}}))
