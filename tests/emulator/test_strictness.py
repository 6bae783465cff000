"""The emulator is at most as permissive as Dintero: strict defaults, explicit knobs.

* Callbacks go to HTTPS URLs only (spec ``CallbackUrl``); ``callback_allow_http`` is a
  test convenience that is off unless a suite turns it on.
* ``delay_callback`` is capped at the documented 60 s, and no knob raises the cap.
* [U] behaviours more permissive than the docs (``LENIENT_BEHAVIOURS``) need ``lenient``.
* The token audience may be Dintero's or the one Dintero's Python SDK builds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from dintero_django.emulator import Emulator, EmulatorConfig, EmulatorControl
from dintero_django.emulator.client import EmulatorControlError
from dintero_django.emulator.config import LENIENT_BEHAVIOURS, ConfigError, allows
from dintero_django.emulator.pytest_plugin import ALLOW_HTTP_ENV, callback_allow_http

from .support import Api, Receiver

pytestmark = pytest.mark.usefixtures("fast_callbacks")


# --- defaults -------------------------------------------------------------------------


def test_defaults_are_the_strict_configuration() -> None:
    config = EmulatorConfig()
    assert config.lenient is False
    assert config.callback_allow_http is False
    assert config.callback_delay_cap == 60
    assert LENIENT_BEHAVIOURS  # the registry the docs' "Strictness" section lists
    assert not any(allows(config, name) for name in LENIENT_BEHAVIOURS)


def test_an_unlisted_behaviour_cannot_be_asked_for() -> None:
    with pytest.raises(KeyError):
        allows(EmulatorConfig(lenient=True), "anything_goes")


def test_our_suite_turns_http_callbacks_on_explicitly(
    emu: Emulator, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests/conftest.py sets the variable; the plugin reads it for the session emulator.
    assert emu.config.callback_allow_http is True
    monkeypatch.delenv(ALLOW_HTTP_ENV)
    assert callback_allow_http(pytestconfig) is False  # the ini default: off, like Dintero
    monkeypatch.setenv(ALLOW_HTTP_ENV, "0")
    assert callback_allow_http(pytestconfig) is False


# --- HTTPS-only callbacks ---------------------------------------------------------------


def _pay(api: Api, callback_url: str) -> str:
    session_id = api.create_session(callback_url=callback_url)
    transaction_id = api.emulator.control.pay(session_id, "AUTHORIZED")["transaction_id"]
    assert transaction_id
    return str(transaction_id)


def test_http_callback_url_is_accepted_but_never_called(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    control.config(callback_allow_http=False)
    transaction_id = _pay(api, f"{receiver.url}/cb")
    assert control.wait_callbacks()["idle"] is True
    assert receiver.count() == 0
    [entry] = control.callbacks_log()
    assert entry["outcome"] == "skipped"
    assert "https" in entry["error"]
    assert entry["transaction_id"] == transaction_id
    assert entry["status"] is None


def test_https_to_a_loopback_host_is_not_called(api: Api, control: EmulatorControl) -> None:
    # "It is not possible to use https://localhost or http://127.0.0.1" (spec CallbackUrl).
    control.config(callback_allow_http=False)
    _pay(api, "https://localhost:1/cb")
    control.wait_callbacks()
    [entry] = control.callbacks_log()
    assert (entry["outcome"], entry["attempt"]) == ("skipped", 0)
    assert "loopback" in entry["error"]


def test_the_knob_lets_a_local_test_server_receive_callbacks(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    control.config(callback_allow_http=True)
    transaction_id = _pay(api, f"{receiver.url}/cb")
    control.wait_callbacks()
    assert receiver.next().arg("transaction_id") == transaction_id
    assert [e["outcome"] for e in control.callbacks_log()] == ["delivered"]


def test_the_cli_is_off_unless_the_flag_or_variable_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from dintero_django.emulator.__main__ import parse_args

    monkeypatch.delenv(ALLOW_HTTP_ENV, raising=False)
    assert parse_args([]).callback_allow_http is False
    assert parse_args(["--callback-allow-http"]).callback_allow_http is True
    monkeypatch.setenv(ALLOW_HTTP_ENV, "1")
    assert parse_args([]).callback_allow_http is True


# --- delay_callback ---------------------------------------------------------------------


def test_no_knob_raises_the_documented_60_s_delay_cap(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError) as refused:
        control.config(callback_delay_cap=61)
    assert refused.value.status == 400
    with pytest.raises(ConfigError):
        Emulator(callback_delay_cap=120)
    control.config(callback_delay_cap=30)  # lowering it is fine
    assert control.config()["callback_delay_cap"] == 30


# --- token audience ---------------------------------------------------------------------


def _sdk_token_request(emu: Emulator, api_url: str) -> requests.Response:
    """Exactly what Dintero's Python SDK sends (dintero/checkout.py, _get_dintero_auth_token):
    a JSON string body with Content-Type set by hand, Basic auth, and the audience built
    from its own ``api_url``."""
    payload = {
        "grant_type": "client_credentials",
        "audience": f"{api_url}/v1/accounts/{emu.account_id}",
    }
    return requests.post(
        f"{api_url}/v1/accounts/{emu.account_id}/auth/token",
        auth=requests.auth.HTTPBasicAuth(emu.client_id, emu.client_secret),
        headers={"Content-Type": "application/json"},
        data=json.dumps(payload),
        timeout=10,
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_python_sdk_gets_a_token_and_uses_it(emu: Emulator, host: str) -> None:
    api_url = emu.url.replace("127.0.0.1", host)
    response = _sdk_token_request(emu, api_url)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    # The SDK's next call: GET a session with the token (an unknown id: 404, not 401).
    read = requests.get(
        f"{api_url}/v1/sessions/{emu.account_id}.unknown",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert read.status_code == 404


def test_dintero_audience_still_works_and_others_are_refused(api: Api, emu: Emulator) -> None:
    assert api.token_response().status_code == 200  # https://api.dintero.com/v1/accounts/{aid}
    for audience in (
        f"http://shop.example.com/v1/accounts/{emu.account_id}",
        f"{emu.url}/v1/accounts/T99999999",
    ):
        body = {"grant_type": "client_credentials", "audience": audience}
        refused = api.token_response(body=body)
        assert refused.status_code == 400
        assert refused.json()["error"]["message"].startswith("audience:")


# --- lenient ----------------------------------------------------------------------------


def test_draft_item_put_without_line_id_needs_lenient(api: Api, control: EmulatorControl) -> None:
    draft = api.create_draft()
    path = f"{api.shopping}/draft_orders/{draft['id']}/items/1"
    body = {"id": "chair", "quantity": 3, "gross_amount": 59700}
    refused = api.put(path, json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("item.line_id")
    control.config(lenient=True)
    assert api.put(path, json=body).status_code == 200


def test_comma_separated_report_event_needs_lenient(
    api: Api, control: EmulatorControl, receiver: Receiver
) -> None:
    # The spec repeats the parameter (report_event=CAPTURE&report_event=REFUND).
    for lenient, expected in ((False, [None]), (True, [None, "CAPTURE"])):
        control.config(lenient=lenient)
        transaction_id = _pay(api, f"{receiver.url}/cb?report_event=REFUND,CAPTURE")
        assert api.capture(transaction_id, 1000).status_code == 200
        control.wait_callbacks()
        mine = [r for r in receiver.log if r.arg("transaction_id") == transaction_id]
        assert [r.arg("event") for r in mine] == expected


# --- the docs keep up -------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def _knob_rows() -> dict[str, list[str]]:
    section = DOCS.read_text().split("## Config knobs", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `")]
    return {row[0].strip("| `"): row for row in rows}


def test_every_knob_is_documented_with_its_source() -> None:
    rows = _knob_rows()
    assert set(rows) == set(EmulatorConfig.describe())
    for name, row in rows.items():
        assert len(row) == 5 and row[-1].strip(" |"), f"{name}: no Source cell in docs/emulator.md"


def test_every_lenient_behaviour_is_documented() -> None:
    strictness = DOCS.read_text().split("## Strictness", 1)[1].split("\n## ", 1)[0]
    for name in LENIENT_BEHAVIOURS:
        assert f"| `{name}` |" in strictness, f"{name} missing from docs/emulator.md#strictness"


def test_a_body_must_be_sent_as_json(api: Api, control: EmulatorControl) -> None:
    body = json.dumps(api.session_body())
    text = {"Content-Type": "text/plain"}
    plain = api.post("/v1/sessions-profile", data=body, headers=text)
    assert plain.status_code == 400
    assert plain.json()["error"]["message"].startswith("Content-Type:")
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert api.post("/v1/sessions-profile", data=body, headers=charset).status_code == 200
    control.config(lenient=True)
    assert api.post("/v1/sessions-profile", data=body, headers=text).status_code == 200
