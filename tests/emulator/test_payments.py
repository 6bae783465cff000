"""Paying a session: the hosted page (as a browser) and the control API (as a test)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dintero_django.emulator import EmulatorControl, EmulatorControlError
from dintero_django.emulator.page import format_amount

from .support import Api


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_page_shows_the_order(api: Api) -> None:
    session_id = api.create_session()
    page = api.http.get(f"{api.url}/v1/view/{session_id}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert "Stacking chair" in text
    assert "199.00 NOK" in text
    assert "Home delivery" in text
    assert "497.00 NOK" in text
    for outcome in ("AUTHORIZED", "CAPTURED", "ON_HOLD", "DECLINED", "FAILED", "CANCELLED"):
        assert f'value="{outcome}"' in text
    assert f'action="/v1/view/{session_id}/"' in text
    # An inline icon, so a browser does not ask for /favicon.ico (a 404 in its console).
    assert '<link rel=icon href="data:,">' in text.split("</head>")[0]
    events = [e["name"] for e in api.get(f"/v1/sessions/{session_id}").json()["events"]]
    assert events == ["INITIATED", "VISITED"]


def test_page_escapes_merchant_text(api: Api) -> None:
    order = api.session_body()["order"]
    order["items"][0]["description"] = "<script>alert(1)</script>"
    order["merchant_reference"] = '"><b>'
    session_id = api.create_session(order=order)
    text = api.http.get(f"{api.url}/v1/view/{session_id}", timeout=10).text
    assert "<script>alert" not in text
    assert "&lt;script&gt;" in text
    assert '"><b>' not in text


def test_unknown_session_page_is_404(api: Api) -> None:
    page = api.http.get(f"{api.url}/v1/view/T12345678.nope/", timeout=10)
    assert page.status_code == 404
    assert "Unknown payment session" in page.text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (39800, "NOK", "398.00 NOK"),
        (5, "SEK", "0.05 SEK"),
        (123456789, "EUR", "1 234 567.89 EUR"),
        (-1999, "NOK", "-19.99 NOK"),
        (1500, "JPY", "1 500 JPY"),
    ],
)
def test_format_amount(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


@pytest.mark.parametrize(
    ("outcome", "status", "error"),
    [
        ("AUTHORIZED", "AUTHORIZED", None),
        ("CAPTURED", "CAPTURED", None),
        ("ON_HOLD", "ON_HOLD", None),
        ("DECLINED", "DECLINED", "authorization"),
        ("FAILED", "FAILED", "failed"),
    ],
)
def test_page_submit_redirects_like_dintero(api: Api, outcome: str, status: str, error: str | None) -> None:
    session_id = api.create_session()
    response = api.http.post(
        f"{api.url}/v1/view/{session_id}/",
        data={"outcome": outcome},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://shop.example.com/return?lang=nb&")
    query = _query(location)
    assert query["merchant_reference"] == ["order-1"]
    assert query.get("error") == ([error] if error else None)
    transaction_id = query["transaction_id"][0]
    transaction = api.transaction(transaction_id)
    assert transaction["status"] == status
    assert transaction["url"]["redirect_url"] == location
    session = api.get(f"/v1/sessions/{session_id}").json()
    assert session["transaction_id"] == transaction_id
    # A session yields one transaction: the page now says so and refuses a second go.
    page = api.http.get(f"{api.url}/v1/view/{session_id}/", timeout=10)
    assert "already been completed" in page.text
    assert "<form" not in page.text
    again = api.http.post(
        f"{api.url}/v1/view/{session_id}/", data={"outcome": "AUTHORIZED"}, allow_redirects=False, timeout=10
    )
    assert again.status_code == 409


def test_page_cancel(api: Api) -> None:
    session_id = api.create_session()
    response = api.http.post(
        f"{api.url}/v1/view/{session_id}/", data={"outcome": "CANCELLED"}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302
    query = _query(response.headers["Location"])
    assert query == {"lang": ["nb"], "merchant_reference": ["order-1"], "error": ["cancelled"]}
    assert api.get("/v1/transactions", params={"session_id": session_id}).json() == []
    assert "was cancelled" in api.http.get(f"{api.url}/v1/view/{session_id}/", timeout=10).text


def test_page_rejects_unknown_outcome(api: Api) -> None:
    session_id = api.create_session()
    response = api.http.post(f"{api.url}/v1/view/{session_id}/", data={"outcome": "MAGIC"}, timeout=10)
    assert response.status_code == 400


def test_cancelled_session_page(api: Api) -> None:
    session_id = api.create_session()
    api.post(f"/v1/sessions/{session_id}/cancel")
    assert "was cancelled" in api.http.get(f"{api.url}/v1/view/{session_id}/", timeout=10).text


def test_declined_redirect_can_omit_the_transaction_id(api: Api, control: EmulatorControl) -> None:
    control.config(return_url_failed_transaction_id=False)
    result = control.pay(api.create_session(), "DECLINED")
    assert result["transaction_id"] is not None
    assert "transaction_id" not in _query(str(result["redirect_url"]))


@pytest.mark.parametrize(
    ("outcome", "events"),
    [
        ("AUTHORIZED", [("INITIALIZE", "INITIATED", True), ("AUTHORIZE", "AUTHORIZED", True)]),
        (
            "CAPTURED",
            [
                ("INITIALIZE", "INITIATED", True),
                ("AUTHORIZE", "AUTHORIZED", True),
                ("CAPTURE", "CAPTURED", True),
            ],
        ),
        ("ON_HOLD", [("INITIALIZE", "INITIATED", True), ("AUTHORIZE", "ON_HOLD", True)]),
        ("DECLINED", [("INITIALIZE", "INITIATED", True), ("AUTHORIZE", "DECLINED", False)]),
        ("FAILED", [("INITIALIZE", "INITIATED", True), ("AUTHORIZE", "FAILED", False)]),
        ("INITIATED", [("INITIALIZE", "INITIATED", True)]),
    ],
)
def test_control_pay_outcomes(
    api: Api, control: EmulatorControl, outcome: str, events: list[tuple[str, str, bool]]
) -> None:
    result = control.pay(api.create_session(), outcome)
    transaction = api.transaction(str(result["transaction_id"]))
    assert [(e["event"], e["transaction_status"], e["success"]) for e in transaction["events"]] == events
    if outcome == "INITIATED":
        assert result["redirect_url"] is None
    if not events[-1][2]:
        assert transaction["events"][-1]["error"]["message"]


def test_control_pay_cancelled_has_no_transaction(api: Api, control: EmulatorControl) -> None:
    result = control.pay(api.create_session(), "CANCELLED")
    assert result["transaction_id"] is None
    assert _query(str(result["redirect_url"]))["error"] == ["cancelled"]


def test_control_pay_errors(api: Api, control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError) as info:
        control.pay("T12345678.nope")
    assert info.value.status == 404
    session_id = api.create_session()
    with pytest.raises(EmulatorControlError) as info:
        control.pay(session_id, "PAID")
    assert info.value.status == 400
    control.pay(session_id)
    with pytest.raises(EmulatorControlError, match="already been completed"):
        control.pay(session_id)


def test_payment_product_type(api: Api, control: EmulatorControl) -> None:
    result = control.pay(api.create_session(), payment_product_type="vipps")
    transaction = api.transaction(str(result["transaction_id"]))
    assert (transaction["payment_product"], transaction["payment_product_type"]) == ("vipps", "vipps")
    assert "card" not in transaction
    on_hold = api.transaction(str(control.pay(api.create_session(), "ON_HOLD")["transaction_id"]))
    assert on_hold["payment_product_type"] == "collector.invoice"


def test_session_auto_capture(api: Api, control: EmulatorControl) -> None:
    session_id = api.create_session(configuration={"auto_capture": True})
    result = control.pay(session_id, "AUTHORIZED")
    assert api.transaction(str(result["transaction_id"]))["status"] == "CAPTURED"


@pytest.mark.parametrize(("outcome", "status"), [("AUTHORIZED", "AUTHORIZED"), ("FAILED", "FAILED")])
def test_resolve_on_hold(api: Api, control: EmulatorControl, outcome: str, status: str) -> None:
    transaction_id = str(control.pay(api.create_session(), "ON_HOLD")["transaction_id"])
    resolved = control.resolve(transaction_id, outcome)
    assert resolved["status"] == status
    assert resolved["events"][-1]["event"] == "AUTHORIZE"
    with pytest.raises(EmulatorControlError, match="not ON_HOLD"):
        control.resolve(transaction_id, "AUTHORIZED")


def test_resolve_rejects_other_outcomes(api: Api, control: EmulatorControl) -> None:
    transaction_id = str(control.pay(api.create_session(), "ON_HOLD")["transaction_id"])
    with pytest.raises(EmulatorControlError) as info:
        control.resolve(transaction_id, "CANCELLED")
    assert info.value.status == 400
    with pytest.raises(EmulatorControlError) as info:
        control.resolve("T12345678.nope")
    assert info.value.status == 404


def test_resolve_initiated(api: Api, control: EmulatorControl) -> None:
    transaction_id = str(control.pay(api.create_session(), "INITIATED")["transaction_id"])
    assert control.resolve(transaction_id, "DECLINED")["status"] == "DECLINED"


def test_page_records_customer_ip_and_agent(api: Api) -> None:
    session_id = api.create_session()
    requests.post(
        f"{api.url}/v1/view/{session_id}/",
        data={"outcome": "AUTHORIZED"},
        headers={"User-Agent": "TestBrowser/1.0"},
        allow_redirects=False,
        timeout=10,
    )
    session = api.get(f"/v1/sessions/{session_id}").json()
    assert session["customer_ip"] == "127.0.0.1"
    assert session["user_agent"] == "TestBrowser/1.0"
