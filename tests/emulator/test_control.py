"""The /_emulator/ control API through EmulatorControl."""

from __future__ import annotations

import pytest
import requests

from dintero_django.emulator import Emulator, EmulatorControl, EmulatorControlError

from .support import Api


def test_health(emu: Emulator, control: EmulatorControl) -> None:
    assert control.health() == {"ok": True, "account_id": "T12345678", "url": emu.url}


def test_control_from_a_url(emu: Emulator) -> None:
    with EmulatorControl(emu.url + "/") as control:
        assert control.url == emu.url
        assert control.health()["ok"] is True


def test_request_log(api: Api, control: EmulatorControl) -> None:
    api.token()
    api.get("/v1/transactions", params={"merchant_reference": "x"})
    api.get("/v1/nowhere")
    control.state()  # control calls are not logged
    log = control.requests_log()
    assert [e["operation"] for e in log] == ["token", "transaction_list", "unknown"]
    assert [e["seq"] for e in log] == [1, 2, 3]
    listing = log[1]
    assert listing["method"] == "GET"
    assert listing["path"] == "/v1/transactions"
    assert listing["query"] == "merchant_reference=x"
    assert listing["status"] == 200
    assert listing["fault"] is None
    assert listing["time"].endswith("Z")
    assert log[2]["status"] == 404
    assert control.requests_log(since=2) == log[2:]
    assert control.requests_log(operation="token") == log[:1]


def test_connection_ids_show_keep_alive(api: Api, control: EmulatorControl) -> None:
    for _ in range(3):
        api.get("/v1/transactions")
    with requests.Session() as other:
        other.trust_env = False
        other.get(f"{api.url}/v1/transactions", timeout=5)
    ids = [e["connection_id"] for e in control.requests_log(operation="transaction_list")]
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] != ids[0]


def test_state(api: Api, control: EmulatorControl) -> None:
    token = api.token()
    transaction_id = api.paid()
    order = api.create_order()
    state = control.state()
    assert state["tokens"] == 1
    assert token not in str(state)
    assert [t["id"] for t in state["transactions"]] == [transaction_id]
    assert len(state["sessions"]) == 1
    assert [o["id"] for o in state["orders"]] == [order["id"]]
    assert len(state["drafts"]) == 1
    assert control.transaction(transaction_id)["id"] == transaction_id
    assert control.session(state["sessions"][0]["id"])["transaction_id"] == transaction_id
    assert control.order(order["order_id"])["events"]
    for call in (control.transaction, control.session, control.order):
        with pytest.raises(EmulatorControlError) as info:
            call("missing")
        assert info.value.status == 404


def test_reset_forgets_everything(api: Api, control: EmulatorControl) -> None:
    token = api.token()
    api.paid()
    api.create_order()
    control.add_fault("token", "latency", seconds=0.01)
    control.advance_clock(100)
    control.config(orders_strict=False)
    control.reset()
    state = control.state()
    assert (state["tokens"], state["sessions"], state["transactions"]) == (0, [], [])
    assert (state["drafts"], state["orders"]) == ([], [])
    assert control.requests_log() == []
    assert control.callbacks_log() == []
    assert control.faults() == []
    assert control.clock()["offset"] == 0
    assert control.config()["orders_strict"] is True
    response = api.get("/v1/transactions", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_reset_can_keep_the_config(control: EmulatorControl) -> None:
    control.config(orders_strict=False)
    control.reset(keep_config=True)
    assert control.config()["orders_strict"] is False


def test_clock(api: Api, control: EmulatorControl) -> None:
    before = control.clock()
    after = control.advance_clock(86400)
    assert after["offset"] == 86400
    assert after["timestamp"] - before["timestamp"] >= 86400
    session_id = api.create_session()
    created = api.get(f"/v1/sessions/{session_id}").json()["created_at"]
    assert created[:10] == after["now"][:10]
    with pytest.raises(EmulatorControlError) as info:
        control.advance_clock(-1)
    assert info.value.status == 400


def test_config(control: EmulatorControl) -> None:
    config = control.config()
    assert config["token_expires_in"] == 14400
    assert config["callback_max_retries"] == 20
    changed = control.config(token_expires_in=60, callback_retry_max=2)
    assert changed["token_expires_in"] == 60
    assert changed["callback_retry_max"] == 2.0
    assert control.config()["token_expires_in"] == 60


@pytest.mark.parametrize(
    "change",
    [
        {"no_such_knob": 1},
        {"token_expires_in": "60"},
        {"token_expires_in": 1.5},
        {"orders_strict": 1},
        {"illegal_transition_status": 418},
        {"session_amount_check": "sometimes"},
        {"callback_timeout": -1},
        {"orders_payment_status_names": {"bogus": "x"}},
    ],
)
def test_config_validation(control: EmulatorControl, change: dict[str, object]) -> None:
    before = control.config()
    with pytest.raises(EmulatorControlError) as info:
        control.config(**change)
    assert info.value.status == 400
    assert info.value.body["error"]["code"] == "INVALID_CONFIG"
    assert control.config() == before


def test_config_changes_are_all_or_nothing(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError):
        control.config(token_expires_in=5, orders_strict="no")
    assert control.config()["token_expires_in"] == 14400


def test_knobs_are_described(control: EmulatorControl) -> None:
    knobs = control._call("GET", "/config/knobs")
    assert knobs["illegal_transition_status"]["default"] == 400
    assert knobs["illegal_transition_status"]["choices"] == [400, 409]
    assert knobs["illegal_transition_status"]["doc"].startswith("[U]")
    assert set(knobs) == set(control.config())


def test_backoffice(api: Api, control: EmulatorControl) -> None:
    transaction_id = api.paid()
    assert control.backoffice_capture(transaction_id)["status"] == "CAPTURED"
    assert control.backoffice_refund(transaction_id, 100)["status"] == "PARTIALLY_REFUNDED"
    with pytest.raises(EmulatorControlError) as info:
        control.backoffice_void(transaction_id)
    assert info.value.status == 400
    other = api.paid()
    assert control.backoffice_void(other)["status"] == "AUTHORIZATION_VOIDED"
    with pytest.raises(EmulatorControlError) as info:
        control._call("POST", f"/transactions/{other}/void", {"amount": 5})
    assert info.value.status == 400
    with pytest.raises(EmulatorControlError) as info:
        control._call("POST", f"/transactions/{other}/explode", {})
    assert info.value.status == 404


def test_control_api_errors_use_the_envelope(emu: Emulator) -> None:
    response = requests.post(f"{emu.url}/_emulator/clock/advance", data=b"{", timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body:")
