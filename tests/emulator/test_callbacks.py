"""Callbacks: parameters, options, retries, signatures and callback faults, end to end."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime

import pytest

from dintero_django.emulator import Emulator, EmulatorControl
from dintero_django.signature import InvalidSignature, verify_signature

from .support import HANG, Api, Receiver

pytestmark = pytest.mark.usefixtures("fast_callbacks")


def _pay(api: Api, callback_url: str, outcome: str = "AUTHORIZED", **extra: object) -> tuple[str, str | None]:
    session_id = api.create_session(callback_url=callback_url, **extra)
    return session_id, api.emulator.control.pay(session_id, outcome)["transaction_id"]


def _verify(emu: Emulator, secret: str | list[str], request: object, now: float | None = None) -> None:
    verify_signature(
        request.headers.get("dintero-signature"),  # type: ignore[attr-defined]
        secrets=secret,
        account_id=emu.account_id,
        method=request.method,  # type: ignore[attr-defined]
        url=request.url,  # type: ignore[attr-defined]
        now=now,
    )


def test_get_callback_after_authorization(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    session_id, transaction_id = _pay(api, f"{receiver.url}/cb?shop=1")
    control.wait_callbacks()
    hit = receiver.next()
    assert hit.method == "GET"
    assert hit.path == "/cb"
    assert hit.arg("shop") == "1"
    assert hit.arg("transaction_id") == transaction_id
    assert hit.arg("session_id") == session_id
    assert hit.arg("merchant_reference") == "order-1"
    transaction = api.transaction(str(transaction_id))
    assert hit.arg("time") == transaction["created_at"]
    datetime.fromisoformat(str(hit.arg("time")).replace("Z", "+00:00"))
    assert hit.arg("error") is None
    assert hit.body == b""
    assert hit.headers["event-delivery"]
    [entry] = control.callbacks_log()
    assert entry["attempt"] == 1
    assert entry["outcome"] == "delivered"
    assert entry["status"] == 200
    assert entry["url"] == hit.url
    assert entry["headers"]["event-delivery"] == hit.headers["event-delivery"]
    assert entry["transaction_id"] == transaction_id
    assert receiver.count() == 1


def test_no_callback_url_no_callback(api: Api, control: EmulatorControl) -> None:
    api.paid()
    control.wait_callbacks()
    assert control.callbacks_log() == []


def test_sid_parameter_name(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    session_id, _ = _pay(api, f"{receiver.url}/cb?sid_parameter_name=sid")
    control.wait_callbacks()
    hit = receiver.next()
    assert hit.arg("sid") == session_id
    assert hit.arg("session_id") is None
    assert hit.arg("sid_parameter_name") == "sid"


def test_method_post_sends_the_transaction(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    _, transaction_id = _pay(api, f"{receiver.url}/cb?method=POST", "CAPTURED")
    control.wait_callbacks()
    hit = receiver.next()
    assert hit.method == "POST"
    assert hit.headers["content-type"] == "application/json"
    body = json.loads(hit.body)
    assert body["id"] == transaction_id
    assert body["status"] == "CAPTURED"
    assert "session" not in body


def test_method_post_with_includes_session(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    session_id, _ = _pay(api, f"{receiver.url}/cb?method=POST&includes=session")
    control.wait_callbacks()
    assert json.loads(receiver.next().body)["session"]["id"] == session_id


@pytest.mark.parametrize(
    ("outcome", "error"), [("DECLINED", "authorization"), ("FAILED", "failed"), ("CANCELLED", "cancelled")]
)
def test_errors_are_only_reported_with_report_error(
    api: Api, control: EmulatorControl, receiver: Receiver, outcome: str, error: str
) -> None:
    _pay(api, f"{receiver.url}/silent", outcome)
    session_id, transaction_id = _pay(api, f"{receiver.url}/loud?report_error=true", outcome)
    control.wait_callbacks()
    hit = receiver.next()
    assert hit.path == "/loud"
    assert hit.arg("error") == error
    assert hit.arg("session_id") == session_id
    assert hit.arg("transaction_id") == transaction_id  # None for CANCELLED
    assert receiver.count() == 1


@pytest.mark.parametrize("operation", ["CAPTURE", "REFUND", "VOID"])
def test_report_event(api: Api, control: EmulatorControl, receiver: Receiver, operation: str) -> None:
    url = f"{receiver.url}/cb?report_event={operation}"
    _, transaction_id = _pay(api, url, "CAPTURED" if operation == "REFUND" else "AUTHORIZED")
    control.wait_callbacks()
    receiver.next()  # the payment callback
    tid = str(transaction_id)
    response = {
        "CAPTURE": lambda: api.capture(tid, 1000),
        "REFUND": lambda: api.refund(tid, 1000),
        "VOID": lambda: api.void(tid),
    }[operation]()
    assert response.status_code == 200
    control.wait_callbacks()
    hit = receiver.next()
    event = response.json()["events"][-1]
    assert hit.arg("event") == operation
    assert hit.arg("event_id") == event["id"]
    assert hit.arg("transaction_id") == transaction_id
    assert receiver.count() == 2


def test_report_event_only_for_the_listed_events(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    _, transaction_id = _pay(api, f"{receiver.url}/cb?report_event=REFUND&report_event=VOID")
    tid = str(transaction_id)
    assert api.capture(tid, 1000).status_code == 200
    control.wait_callbacks()
    assert receiver.count() == 1  # payment only, no CAPTURE event
    assert api.refund(tid, 500).status_code == 200
    control.wait_callbacks()
    assert [r.arg("event") for r in receiver.log] == [None, "REFUND"]


def test_backoffice_operations_report_events(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    _, transaction_id = _pay(api, f"{receiver.url}/cb?report_event=CAPTURE&report_event=REFUND")
    tid = str(transaction_id)
    assert control.backoffice_capture(tid, 2000)["status"] == "PARTIALLY_CAPTURED"
    assert control.backoffice_refund(tid)["status"] == "PARTIALLY_CAPTURED_REFUNDED"
    control.wait_callbacks()
    assert [r.arg("event") for r in receiver.log] == [None, "CAPTURE", "REFUND"]
    transaction = api.transaction(tid)
    assert transaction["events"][-1]["created_by"] == "backoffice"
    assert transaction["events"][-1]["amount"] == 2000


def test_delay_callback_uses_the_virtual_clock(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    _pay(api, f"{receiver.url}/cb?delay_callback=30")
    waited = control.wait_callbacks(timeout=5)
    assert waited["idle"] is True
    assert waited["scheduled"] == 1
    assert receiver.count() == 0
    control.advance_clock(29)
    assert control.wait_callbacks()["scheduled"] == 1
    control.advance_clock(1)
    assert control.wait_callbacks()["scheduled"] == 0
    assert receiver.next().arg("delay_callback") == "30"


def test_delay_callback_is_capped_at_60_seconds(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    _pay(api, f"{receiver.url}/cb?delay_callback=3600")
    control.advance_clock(59)
    assert control.wait_callbacks()["scheduled"] == 1
    control.advance_clock(1)
    assert control.wait_callbacks()["scheduled"] == 0
    assert receiver.count() == 1


def test_5xx_is_retried_with_the_same_delivery_id(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    receiver.respond(500, 503, 599)
    _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    hits = [receiver.next() for _ in range(4)]
    assert len({hit.headers["event-delivery"] for hit in hits}) == 1
    log = control.callbacks_log()
    assert [(e["attempt"], e["status"], e["outcome"]) for e in log] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 599, "retrying"),
        (4, 200, "delivered"),
    ]


def test_101_is_retried(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    receiver.respond(101)
    _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    assert [e["status"] for e in control.callbacks_log()] == [101, 200]


@pytest.mark.parametrize("status", [400, 404, 409, 429])
def test_4xx_is_never_retried(api: Api, control: EmulatorControl, receiver: Receiver, status: int) -> None:
    receiver.respond(status)
    _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    [entry] = control.callbacks_log()
    assert (entry["status"], entry["outcome"]) == (status, "failed")
    assert receiver.count() == 1


def test_timeout_is_retried(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    control.config(callback_timeout=0.3)
    receiver.respond(HANG)
    _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    first, second = control.callbacks_log()
    assert first["status"] is None
    assert "Timeout" in first["error"]
    assert first["outcome"] == "retrying"
    assert (second["status"], second["outcome"]) == (200, "delivered")


def test_connection_errors_are_retried_up_to_the_limit(api: Api, control: EmulatorControl) -> None:
    control.config(callback_max_retries=3)
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there any more
    _pay(api, f"{url}/cb")
    control.wait_callbacks()
    log = control.callbacks_log()
    assert [e["attempt"] for e in log] == [1, 2, 3, 4]
    assert all("ConnectionError" in e["error"] for e in log)
    assert [e["outcome"] for e in log] == ["retrying"] * 3 + ["exhausted"]


def test_default_retry_budget_is_20(control: EmulatorControl) -> None:
    assert control.config()["callback_max_retries"] == 20


def test_retry_schedule_doubles_up_to_the_maximum(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    control.config(callback_retry_initial=0.02, callback_retry_factor=2.0, callback_retry_max=0.08)
    receiver.respond(500, 500, 500, 500, 500)
    _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    times = [
        datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() for e in control.callbacks_log()
    ]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for gap, minimum in zip(gaps, [0.02, 0.04, 0.08, 0.08, 0.08], strict=True):
        assert gap >= minimum - 0.002


def test_callbacks_are_signed(api: Api, control: EmulatorControl, emu: Emulator, receiver: Receiver) -> None:
    control.config(signature_secret="s3cret")
    _pay(api, f"{receiver.url}/cb?method=POST&report_event=CAPTURE&x=a+b~c")
    control.wait_callbacks()
    hit = receiver.next()
    assert hit.headers["dintero-signature"].startswith("t=")
    _verify(emu, "s3cret", hit)
    _verify(emu, ["old-secret", "s3cret"], hit)  # rotation
    with pytest.raises(InvalidSignature):
        _verify(emu, "other", hit)


def test_callbacks_are_unsigned_without_a_secret(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    control.config(signature_secret="")
    _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    assert "dintero-signature" not in receiver.next().headers


def test_each_retry_is_signed_afresh(
    api: Api, control: EmulatorControl, emu: Emulator, receiver: Receiver
) -> None:
    control.config(signature_secret="k")
    receiver.respond(500)
    _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    for _ in range(2):
        _verify(emu, "k", receiver.next())


def test_signature_clock(api: Api, control: EmulatorControl, emu: Emulator, receiver: Receiver) -> None:
    control.config(signature_secret="k")
    control.advance_clock(3600)
    _pay(api, f"{receiver.url}/real")
    control.wait_callbacks()
    _verify(emu, "k", receiver.next())  # real wall clock by default
    control.config(signature_clock="virtual")
    _pay(api, f"{receiver.url}/virtual")
    control.wait_callbacks()
    hit = receiver.next()
    with pytest.raises(InvalidSignature, match="tolerance"):
        _verify(emu, "k", hit)
    _verify(emu, "k", hit, now=time.time() + 3600)


def test_on_hold_gets_a_second_callback(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    _, transaction_id = _pay(api, f"{receiver.url}/cb?method=POST", "ON_HOLD")
    control.wait_callbacks()
    assert json.loads(receiver.next().body)["status"] == "ON_HOLD"
    control.resolve(str(transaction_id), "AUTHORIZED")
    control.wait_callbacks()
    second = receiver.next()
    assert json.loads(second.body)["status"] == "AUTHORIZED"
    assert second.arg("error") is None


def test_on_hold_failure_is_reported_without_report_error(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    _, transaction_id = _pay(api, f"{receiver.url}/cb", "ON_HOLD")
    control.resolve(str(transaction_id), "FAILED")
    control.wait_callbacks()
    assert [r.arg("error") for r in receiver.log] == [None, "failed"]


@pytest.mark.parametrize(("mode", "distinct"), [("distinct", 3), ("same", 1)])
def test_duplicate_fault(
    api: Api, control: EmulatorControl, receiver: Receiver, mode: str, distinct: int
) -> None:
    control.config(callback_duplicate_delivery_id=mode)
    control.add_fault("callback", "duplicate", copies=3, times=1)
    _, transaction_id = _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    assert receiver.count() == 3
    assert {r.arg("transaction_id") for r in receiver.log} == {transaction_id}
    assert len({r.headers["event-delivery"] for r in receiver.log}) == distinct
    assert [e["fault"] for e in control.callbacks_log()] == ["duplicate"] * 3


def test_reorder_fault(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    control.add_fault("callback", "reorder", times=1)
    first_session, _ = _pay(api, f"{receiver.url}/cb")
    result = control.wait_callbacks()
    assert result["scheduled"] == 1  # held back
    assert receiver.count() == 0
    second_session, _ = _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    assert [r.arg("session_id") for r in receiver.log] == [second_session, first_session]


def test_drop_fault(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    control.add_fault("callback", "drop", times=1)
    _pay(api, f"{receiver.url}/dropped")
    _pay(api, f"{receiver.url}/kept")
    control.wait_callbacks()
    assert [r.path for r in receiver.log] == ["/kept"]
    dropped, kept = control.callbacks_log()
    assert (dropped["outcome"], dropped["attempt"], dropped["fault"]) == ("dropped", 0, "drop")
    assert kept["outcome"] == "delivered"


def test_delay_fault(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    control.add_fault("callback", "delay", seconds=5, times=1)
    _pay(api, f"{receiver.url}/cb")
    assert control.wait_callbacks()["scheduled"] == 1
    control.advance_clock(5)
    control.wait_callbacks()
    assert receiver.count() == 1


def test_wait_callbacks_times_out_while_a_delivery_hangs(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    control.config(callback_timeout=5.0)
    receiver.respond(HANG)
    _pay(api, f"{receiver.url}/cb")
    receiver.next()  # the delivery is in flight now
    with pytest.raises(TimeoutError):
        control.wait_callbacks(timeout=0.2)
    result = control.wait_callbacks(timeout=0.1, raise_on_timeout=False)
    assert result["idle"] is False
    receiver.release.set()
    control.wait_callbacks()


def test_reset_forgets_scheduled_callbacks(api: Api, control: EmulatorControl, receiver: Receiver) -> None:
    _pay(api, f"{receiver.url}/cb?delay_callback=10")
    control.reset()
    control.advance_clock(60)
    assert control.wait_callbacks()["scheduled"] == 0
    assert receiver.count() == 0
