"""Token endpoint and the Bearer check of every other /v1 endpoint."""

from __future__ import annotations

import json

import pytest

from dintero_django.emulator import Emulator, EmulatorControl

from .support import Api


def test_token_is_issued_for_client_credentials(api: Api) -> None:
    response = api.token_response()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 14400
    assert len(body["access_token"]) >= 32
    assert api.token_response().json()["access_token"] != body["access_token"]


def test_token_lifetime_is_configurable(api: Api, control: EmulatorControl) -> None:
    control.config(token_expires_in=60)
    assert api.token_response().json()["expires_in"] == 60


@pytest.mark.parametrize(
    "auth",
    [("emulator-client", "wrong"), ("someone-else", "emulator-secret"), ("", "")],
)
def test_bad_credentials_answer_401_by_default(api: Api, auth: tuple[str, str]) -> None:
    response = api.token_response(auth=auth)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "invalid client credentials"


def test_missing_basic_auth_is_401(api: Api) -> None:
    response = api.http.post(
        f"{api.url}/v1/accounts/T12345678/auth/token",
        json={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert response.status_code == 401


def test_bad_credentials_status_can_be_403(api: Api, control: EmulatorControl) -> None:
    control.config(token_bad_credentials_status=403)
    assert api.token_response(auth=("emulator-client", "nope")).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"grant_type": "password", "audience": "https://api.dintero.com/v1/accounts/T12345678"},
            "grant_type",
        ),
        ({"audience": "https://api.dintero.com/v1/accounts/T12345678"}, "grant_type"),
        ({"grant_type": "client_credentials"}, "audience"),
        (
            {
                "grant_type": "client_credentials",
                "audience": "https://checkout.dintero.com/v1/accounts/T12345678",
            },
            "audience",
        ),
        (
            {"grant_type": "client_credentials", "audience": "https://api.dintero.com/v1/accounts/T99999999"},
            "audience",
        ),
    ],
)
def test_bad_token_body_is_400_naming_the_field(api: Api, body: dict[str, str], field: str) -> None:
    response = api.token_response(body=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(field)


def test_token_body_must_be_json(api: Api) -> None:
    response = api.http.post(
        f"{api.url}/v1/accounts/T12345678/auth/token",
        auth=("emulator-client", "emulator-secret"),
        data=b"grant_type=client_credentials",
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_account_id_format_is_checked(api: Api) -> None:
    response = api.token_response(account="X12345678")
    assert response.status_code == 400
    assert "aid" in response.json()["error"]["message"]


def test_other_account_has_no_grant(api: Api) -> None:
    assert api.token_response(account="P12345678").status_code == 401


def test_bearer_token_is_required(api: Api) -> None:
    for path in ("/v1/transactions/T12345678.x", f"{api.shopping}/draft_orders"):
        response = api.get(path, auth=False)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "missing Bearer token"
        response = api.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "invalid access token"


def test_token_expires_on_the_virtual_clock(api: Api, control: EmulatorControl) -> None:
    token = api.token()
    assert api.get("/v1/transactions").status_code == 200
    control.advance_clock(14400 - 5)
    assert api.get("/v1/transactions").status_code == 200
    control.advance_clock(10)
    response = api.get("/v1/transactions", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_EXPIRED"


def test_token_is_bound_to_its_account_path(api: Api) -> None:
    response = api.get("/v1/accounts/T87654321/shopping/draft_orders")
    assert response.status_code == 401
    response = api.get("/v1/accounts/bogus/shopping/draft_orders")
    assert response.status_code == 400


def test_custom_credentials(make_emulator: object) -> None:
    emulator: Emulator = make_emulator(  # type: ignore[operator]
        account_id="P00000001", client_id="cid", client_secret="csecret"
    )
    client = Api(emulator)
    try:
        assert client.token_response().status_code == 200
        assert client.token_response(auth=("emulator-client", "emulator-secret")).status_code == 401
    finally:
        client.close()


def test_tokens_and_secrets_never_reach_the_logs(api: Api, control: EmulatorControl) -> None:
    token = api.token()
    api.get("/v1/transactions")
    dump = json.dumps(control.requests_log()) + json.dumps(control.state())
    assert token not in dump
    assert "emulator-secret" not in dump
