"""Fault injection on API operations: every action, selection and validation."""

from __future__ import annotations

import random
import time

import pytest
import requests

from dintero_django.emulator import EmulatorControl, EmulatorControlError

from .support import Api, Receiver

TOTAL = 49700


def _captured(api: Api, transaction_id: str) -> int:
    events = api.transaction(transaction_id)["events"]
    return sum(e["amount"] for e in events if e["event"] == "CAPTURE" and e["success"])


def _last_log(control: EmulatorControl, operation: str) -> dict[str, object]:
    return control.requests_log(operation=operation)[-1]


def test_latency(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("transaction_get", "latency", seconds=0.3, times=1)
    started = time.monotonic()
    assert api.get(f"/v1/transactions/{transaction_id}").status_code == 200
    assert time.monotonic() - started >= 0.3
    entry = _last_log(control, "transaction_get")
    assert entry["fault"] == "latency"
    assert entry["duration_ms"] >= 300  # type: ignore[operator]


@pytest.mark.parametrize("status", [500, 503])
def test_error_before_applies_nothing(api: Api, control: EmulatorControl, status: int) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", "error_before", status=status, times=1)
    response = api.capture(transaction_id, 1000)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "INJECTED_FAULT"
    assert _captured(api, transaction_id) == 0
    assert api.capture(transaction_id, 1000).status_code == 200  # times=1


def test_error_after_applies_the_change(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", "error_after", times=1)
    response = api.capture(transaction_id, 1000)
    assert response.status_code == 500
    assert "WAS applied" in response.json()["error"]["message"]
    assert _captured(api, transaction_id) == 1000


def test_timeout_after_commits_then_hangs(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", "timeout_after", hang=1.0, times=1)
    with pytest.raises(requests.ReadTimeout):
        api.capture(transaction_id, 1000, timeout=0.3)
    assert _captured(api, transaction_id) == 1000
    entry = _last_log(control, "capture")
    assert (entry["status"], entry["fault"]) == (None, "timeout_after")


def test_timeout_before_applies_nothing(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", "timeout_before", hang=1.0, times=1)
    with pytest.raises(requests.ReadTimeout):
        api.capture(transaction_id, 1000, timeout=0.3)
    assert _captured(api, transaction_id) == 0


def test_hung_connection_is_closed_without_a_response(api: Api, control: EmulatorControl) -> None:
    control.add_fault("transaction_list", "timeout_before", hang=0.2, times=1)
    with pytest.raises(requests.ConnectionError):
        api.get("/v1/transactions", timeout=5)


@pytest.mark.parametrize(("action", "applied"), [("reset_before", 0), ("reset_after", 1000)])
def test_connection_reset(api: Api, control: EmulatorControl, action: str, applied: int) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", action, times=1)
    with pytest.raises(requests.ConnectionError):
        api.capture(transaction_id, 1000)
    assert _captured(api, transaction_id) == applied
    assert _last_log(control, "capture")["status"] is None


def test_rate_limit(api: Api, control: EmulatorControl) -> None:
    control.add_fault("token", "rate_limit", retry_after=7, times=1)
    response = api.token_response()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert api.token_response().status_code == 200


def test_accept_202_then_complete_on_request(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    session_id = api.create_session(callback_url=f"{receiver.url}/cb?report_event=CAPTURE")
    transaction_id = str(control.pay(session_id)["transaction_id"])
    control.add_fault("capture", "accept_202", times=1)
    response = api.capture(transaction_id, 30000, capture_reference="cap-1")
    assert response.status_code == 202
    request_id = response.headers["event-request-id"]
    body = response.json()
    assert body["status"] == "AUTHORIZED"  # unchanged until the operation completes
    initiate = body["events"][-1]
    assert (initiate["event"], initiate["request_id"], initiate["amount"]) == (
        "INITIATE_CAPTURE",
        request_id,
        30000,
    )
    [pending] = control.pending()
    assert (pending["request_id"], pending["kind"], pending["due"]) == (request_id, "capture", None)
    # The accepted amount is reserved: this capture would exceed the authorization.
    assert api.capture(transaction_id, 20000).json()["error"]["code"] == "AMOUNT_EXCEEDED"
    [event] = control.complete_pending(request_id)
    assert event["correlation_request_id"] == request_id
    transaction = api.transaction(transaction_id)
    assert transaction["status"] == "PARTIALLY_CAPTURED"
    capture = transaction["events"][-1]
    assert (capture["event"], capture["amount"]) == ("CAPTURE", 30000)
    # Dintero promises the correlation id on the completing event, not the reference.
    assert capture["correlation_request_id"] == request_id
    assert "event_reference" not in capture
    assert control.pending() == []
    control.wait_callbacks()
    assert [r.arg("event") for r in receiver.log] == [None, "CAPTURE"]


def test_accept_202_completes_after_virtual_seconds(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid("CAPTURED")
    control.add_fault("refund", "accept_202", complete_after=30)
    assert api.refund(transaction_id, 1000).status_code == 202
    assert control.wait_callbacks()["pending_operations"] == 1
    control.advance_clock(30)
    assert control.wait_callbacks()["pending_operations"] == 0
    assert api.transaction(transaction_id)["status"] == "PARTIALLY_REFUNDED"


def test_accept_202_void_completes_immediately_with_zero_delay(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("void", "accept_202", complete_after=0)
    response = api.void(transaction_id)
    assert response.status_code == 202
    assert response.json()["events"][-1]["event"] == "INITIATE_VOID"
    control.wait_callbacks()
    assert api.transaction(transaction_id)["status"] == "AUTHORIZATION_VOIDED"


def test_accepted_operation_can_fail_on_completion(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("capture", "accept_202", times=1)
    request_id = api.capture(transaction_id, 1000).headers["event-request-id"]
    assert api.void(transaction_id).status_code == 200
    [event] = control.complete_pending()
    assert event["success"] is False
    assert event["correlation_request_id"] == request_id
    assert event["error"]["code"] == "INVALID_STATE"
    assert api.transaction(transaction_id)["status"] == "AUTHORIZATION_VOIDED"


def test_illegal_operation_is_refused_even_with_accept_202(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    control.add_fault("refund", "accept_202")
    assert api.refund(transaction_id, 1).status_code == 400
    assert control.pending() == []


def test_times_and_skip(api: Api, control: EmulatorControl) -> None:
    control.add_fault("transaction_list", "error_before", skip=1, times=2)
    statuses = [api.get("/v1/transactions").status_code for _ in range(5)]
    assert statuses == [200, 500, 500, 200, 200]
    [fault] = control.faults()
    assert (fault["seen"], fault["fired"]) == (5, 2)


def test_rate_is_deterministic_with_a_seed(api: Api, control: EmulatorControl) -> None:
    rng = random.Random(42)
    expected = [503 if rng.random() < 0.4 else 200 for _ in range(30)]
    assert 0 < expected.count(503) < 30
    for _ in range(2):
        control.clear_faults()
        control.add_fault("transaction_list", "error_before", status=503, rate=0.4, seed=42)
        assert [api.get("/v1/transactions").status_code for _ in range(30)] == expected


def test_wildcard_operation(api: Api, control: EmulatorControl) -> None:
    control.add_fault("*", "error_before", status=503, times=2)
    assert api.token_response().status_code == 503
    assert control.state()["tokens"] == 0  # the control API is never faulted
    assert api.http.get(f"{api.url}/v1/view/T12345678.x/", timeout=5).status_code == 503
    assert api.token_response().status_code == 200


def test_first_registered_fault_wins(api: Api, control: EmulatorControl) -> None:
    control.add_fault("transaction_list", "error_before", status=503, times=1)
    control.add_fault("transaction_list", "error_before", status=500, times=2)
    # ``times`` counts the calls a fault actually got: the second one still has two.
    statuses = [api.get("/v1/transactions").status_code for _ in range(4)]
    assert statuses == [503, 500, 500, 200]


def test_fault_listing_and_removal(api: Api, control: EmulatorControl) -> None:
    first = control.add_fault("token", "latency", seconds=0.01)
    control.add_fault("callback", "drop")
    assert [f["id"] for f in control.faults()] == [first["id"], first["id"] + 1]
    control.remove_fault(first["id"])
    assert [f["action"] for f in control.faults()] == ["drop"]
    with pytest.raises(EmulatorControlError) as info:
        control.remove_fault(first["id"])
    assert info.value.status == 404
    control.clear_faults()
    assert control.faults() == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"operation": "teleport", "action": "latency"}, "unknown operation"),
        ({"operation": "capture", "action": "explode"}, "unknown action"),
        ({"operation": "session_create", "action": "accept_202"}, "accept_202"),
        ({"operation": "capture", "action": "drop"}, "unknown action"),
        ({"operation": "callback", "action": "error_before"}, "callback faults"),
        ({"operation": "capture", "action": "error_before", "rate": 1.5}, "rate"),
        ({"operation": "capture", "action": "error_before", "times": -1}, "times"),
        ({"operation": "capture", "action": "error_before", "status": 200}, "status"),
        ({"operation": "capture", "action": "latency", "seconds": "1"}, "seconds"),
        ({"operation": "capture", "action": "latency", "colour": "red"}, "unknown fault fields"),
        ({"action": "latency"}, "operation"),
    ],
)
def test_fault_validation(control: EmulatorControl, spec: dict[str, object], message: str) -> None:
    with pytest.raises(EmulatorControlError, match=message) as info:
        control._call("POST", "/faults", dict(spec))
    assert info.value.status == 400
    assert info.value.body["error"]["code"] == "INVALID_FAULT"


def test_operations_are_listed(control: EmulatorControl) -> None:
    names = control.operations()
    for name in (
        "token",
        "draft_create",
        "draft_complete",
        "order_op_create",
        "session_create",
        "transaction_get",
        "transaction_list",
        "capture",
        "refund",
        "void",
        "callback",
    ):
        assert name in names


def test_faults_on_orders_operations(api: Api, control: EmulatorControl) -> None:
    order = api.create_order()
    control.add_fault("order_op_create", "error_after", times=1)
    response = api.order_op(order["order_id"], "authorizations", [(1, 100)])
    assert response.status_code == 500
    listing = api.get(f"{api.shopping}/orders/{order['order_id']}/authorizations").json()
    assert len(listing["authorizations"]) == 1
