"""Checkout sessions: create (validation), read, cancel."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dintero_django.emulator import EmulatorControl, EmulatorControlError

from .support import Api

SESSION_ID = re.compile(r"^T12345678\.[1-9A-HJ-NP-Za-km-z]{22}$")


def test_create_session(api: Api) -> None:
    response = api.post("/v1/sessions-profile", json=api.session_body())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "url"}
    assert SESSION_ID.match(body["id"])
    assert body["url"] == f"{api.url}/v1/view/{body['id']}/"


def test_create_session_with_include_session(api: Api) -> None:
    response = api.post(
        "/v1/sessions-profile",
        params={"include_session": "true"},
        json=api.session_body(metadata={"ext_shop": "42"}, customer={"email": "a@b.no"}),
        headers={
            "Dintero-System-Name": "dintero-django",
            "Dintero-System-Version": "0.1.0",
            "Dintero-System-Plugin-Name": "shop",
            "Dintero-System-Plugin-Version": "1",
        },
    )
    session = response.json()["session"]
    assert session["id"] == response.json()["id"]
    assert session["order"]["amount"] == 49700
    assert session["metadata"] == {"ext_shop": "42", "session:profile_id": "default"}
    assert session["customer"] == {"email": "a@b.no"}
    assert session["events"][0]["name"] == "INITIATED"
    headers = session["initiating_system_request_headers"]
    assert headers["dintero-system-name"] == "dintero-django"
    assert headers["dintero-system-plugin-version"] == "1"
    assert api.get(f"/v1/sessions/{session['id']}").json() == session


def test_get_unknown_session_is_404(api: Api) -> None:
    assert api.get("/v1/sessions/T12345678.unknown").status_code == 404


def _mutate(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("profile_id", _DELETE, "profile_id"),
        ("url", _DELETE, "url"),
        ("url.return_url", _DELETE, "url.return_url"),
        ("url.return_url", "/relative", "url.return_url"),
        ("url.callback_url", "ftp://shop.example.com/cb", "url.callback_url"),
        ("order", _DELETE, "order"),
        ("order.amount", _DELETE, "order.amount"),
        ("order.amount", 497.0, "order.amount"),
        ("order.amount", True, "order.amount"),
        ("order.amount", 2**31, "order.amount"),
        ("order.amount", -1, "order.amount"),
        ("order.currency", "kr", "order.currency"),
        ("order.currency", _DELETE, "order.currency"),
        ("order.merchant_reference", _DELETE, "order.merchant_reference"),
        ("order.merchant_reference", 12, "order.merchant_reference"),
        ("order.items.1.line_id", "1", "order.items[1].line_id"),
        ("order.items.1.line_id", 2, "order.items[1].line_id"),
        ("order.items.0.amount", 199.0, "order.items[0].amount"),
        ("order.items.0.amount", False, "order.items[0].amount"),
        ("order.items.0.vat_amount", "3980", "order.items[0].vat_amount"),
        ("order.items.0.quantity", "2", "order.items[0].quantity"),
        ("order.items.0", "chair", "order.items[0]"),
        ("order.items", {}, "order.items"),
        ("order.shipping_option.line_id", "1", "order.shipping_option.line_id"),
        ("order.shipping_option.operator", _DELETE, "order.shipping_option.operator"),
        ("order.shipping_option.amount", 99.5, "order.shipping_option.amount"),
        ("order.amount", 49701, "order.amount"),
        ("metadata", {"n": 1}, "metadata.n"),
        ("expires_at", "tomorrow", "expires_at"),
    ],
)
def test_session_validation_names_the_field(api: Api, path: str, value: Any, field: str) -> None:
    body = api.session_body(callback_url="https://shop.example.com/cb", metadata={"a": "b"})
    _mutate(body, path, value)
    response = api.post("/v1/sessions-profile", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/cb",
        "http://127.0.0.1:8000/cb",
        "http://localhost/cb?report_error=true",
        "http://[::1]:9000/cb",
    ],
)
def test_callback_url_https_or_loopback_http(api: Api, url: str) -> None:
    assert api.post("/v1/sessions-profile", json=api.session_body(callback_url=url)).status_code == 200


def test_amount_sum_check_always_by_default(api: Api) -> None:
    body = api.session_body()
    body["order"]["amount"] = 40000
    response = api.post("/v1/sessions-profile", json=body)
    assert response.status_code == 400
    assert "(49700)" in response.json()["error"]["message"]


def test_amount_sum_check_only_with_toggle(api: Api, control: EmulatorControl) -> None:
    control.config(session_amount_check="toggle")
    body = api.session_body()
    body["order"]["amount"] = 40000
    assert api.post("/v1/sessions-profile", json=body).status_code == 200
    toggled = api.post(
        "/v1/sessions-profile",
        json=body,
        headers={"Dintero-Feature-Toggles": "other, strict-session-amounts"},
    )
    assert toggled.status_code == 400


def test_partial_payment_allows_a_lower_amount(api: Api) -> None:
    body = api.session_body()
    body["order"].update(amount=10000, partial_payment=True)
    assert api.post("/v1/sessions-profile", json=body).status_code == 200
    body["order"]["amount"] = 50000
    assert api.post("/v1/sessions-profile", json=body).status_code == 400


def test_items_are_optional(api: Api) -> None:
    body = api.session_body()
    del body["order"]["items"]
    del body["order"]["shipping_option"]
    body["order"]["amount"] = 123
    assert api.post("/v1/sessions-profile", json=body).status_code == 200


def test_system_header_length_is_checked(api: Api) -> None:
    response = api.post(
        "/v1/sessions-profile", json=api.session_body(), headers={"Dintero-System-Name": "x" * 121}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Dintero-System-Name")


def test_cancel_unpaid_session(api: Api) -> None:
    session_id = api.create_session()
    response = api.post(f"/v1/sessions/{session_id}/cancel")
    assert response.status_code == 200
    session = response.json()
    assert session["cancelled_by"] == "emulator-client"
    assert session["events"][-1]["name"] == "CANCELLED"
    again = api.post(f"/v1/sessions/{session_id}/cancel")
    assert again.status_code == 200
    assert again.json()["cancelled_at"] == session["cancelled_at"]
    assert api.post("/v1/sessions/T12345678.nope/cancel").status_code == 404


@pytest.mark.parametrize("outcome", ["AUTHORIZED", "INITIATED"])
def test_cancel_voids_an_authorized_or_initiated_transaction(
    api: Api, control: EmulatorControl, outcome: str
) -> None:
    session_id = api.create_session()
    transaction_id = control.pay(session_id, outcome)["transaction_id"]
    assert transaction_id is not None
    assert api.post(f"/v1/sessions/{session_id}/cancel").status_code == 200
    transaction = api.transaction(transaction_id)
    assert transaction["status"] == "AUTHORIZATION_VOIDED"
    assert transaction["events"][-1]["event"] == "VOID"


@pytest.mark.parametrize(("outcome", "status"), [("CAPTURED", 400), ("ON_HOLD", 400), ("DECLINED", 409)])
def test_cancel_is_refused_for_other_states(
    api: Api, control: EmulatorControl, outcome: str, status: int
) -> None:
    control.config(illegal_transition_status=status)
    session_id = api.create_session()
    transaction_id = control.pay(session_id, outcome)["transaction_id"]
    assert transaction_id is not None
    before = api.transaction(transaction_id)
    response = api.post(f"/v1/sessions/{session_id}/cancel")
    assert response.status_code == status
    assert outcome in response.json()["error"]["message"]
    assert api.transaction(transaction_id) == before
    assert "cancelled_at" not in api.get(f"/v1/sessions/{session_id}").json()


def test_session_expiry(api: Api, control: EmulatorControl) -> None:
    control.config(session_ttl=60)
    session_id = api.create_session()
    control.advance_clock(61)
    page = api.http.get(f"{api.url}/v1/view/{session_id}/", timeout=10)
    assert "expired" in page.text
    with pytest.raises(EmulatorControlError, match="expired") as info:
        control.pay(session_id, "AUTHORIZED")
    assert info.value.status == 409


def test_explicit_expires_at(api: Api, control: EmulatorControl) -> None:
    session_id = api.create_session(expires_at="2000-01-01T00:00:00Z")
    assert api.get(f"/v1/sessions/{session_id}").json()["expires_at"] == "2000-01-01T00:00:00.000Z"
    with pytest.raises(EmulatorControlError, match="expired"):
        control.pay(session_id, "AUTHORIZED")


def test_view_url_follows_the_host_header(api: Api) -> None:
    response = api.post(
        "/v1/sessions-profile",
        json=api.session_body(),
        headers={"Host": "checkout.internal:8765"},
    )
    assert response.json()["url"].startswith("http://checkout.internal:8765/v1/view/")
