"""The payment page as Dintero's Web SDK embeds it: GET /?sid=, postMessage events."""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from .support import Api


def _messages(html: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in re.findall(r"window\.parent\.postMessage\((\{.*?\}),'\*'\)", html)]


def test_embedded_page_announces_the_session(api: Api) -> None:
    session_id = api.create_session()

    page = requests.get(
        f"{api.url}/", params={"sid": session_id, "sdk": "0.8.30", "language": "no"}, timeout=10
    )

    assert page.status_code == 200
    assert '<html lang="no">' in page.text
    assert '<input type="hidden" name="embed" value="1">' in page.text
    [loaded] = _messages(page.text)
    assert loaded["type"] == "SessionLoaded" and loaded["sid"] == session_id
    assert loaded["session"]["order"]["amount"] == 49700
    assert "type:'HeightChanged',sid:" + json.dumps(session_id) in page.text


def test_unknown_session_posts_session_not_found(api: Api) -> None:
    page = requests.get(f"{api.url}/", params={"sid": "T12345678.nope"}, timeout=10)

    assert page.status_code == 404
    assert _messages(page.text) == [{"type": "SessionNotFound", "sid": "T12345678.nope"}]


def test_paying_inside_the_sdk_posts_the_final_event_with_the_return_href(api: Api) -> None:
    session_id = api.create_session()

    answer = requests.post(
        f"{api.url}/v1/view/{session_id}/",
        data={"outcome": "AUTHORIZED", "embed": "1"},
        allow_redirects=False,
        timeout=10,
    )

    assert answer.status_code == 200
    [event] = _messages(answer.text)
    transaction = api.get(f"/v1/transactions/{event['transaction_id']}").json()
    assert transaction["status"] == "AUTHORIZED" and transaction["session_id"] == session_id
    assert event["type"] == "SessionPaymentAuthorized" and event["sid"] == session_id
    assert event["merchant_reference"] == "order-1"
    assert event["href"].startswith("https://shop.example.com/return?lang=nb&transaction_id=")


def test_cancel_inside_the_sdk_posts_session_cancel(api: Api) -> None:
    session_id = api.create_session()

    answer = requests.post(
        f"{api.url}/v1/view/{session_id}/", data={"outcome": "CANCELLED", "embed": "1"}, timeout=10
    )

    [event] = _messages(answer.text)
    assert event["type"] == "SessionCancel" and "error=cancelled" in event["href"]


def test_embed_result_page(api: Api) -> None:
    page = requests.get(f"{api.url}/embedResult/", params={"sid": "x", "error": "cancelled"}, timeout=10)

    assert page.status_code == 200 and "not completed" in page.text


def _opener_messages(html: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in re.findall(r"window\.opener\.postMessage\((\{.*?\}),'\*'\)", html)]


def test_pop_out_launcher_asks_for_the_sdk_button(api: Api) -> None:
    session_id = api.create_session()

    page = requests.get(f"{api.url}/", params={"sid": session_id, "role": "pop_out_launcher"}, timeout=10)

    types = [message["type"] for message in _messages(page.text)]
    assert types == ["SessionLoaded", "ShowPopOutButton"]
    assert 'name="outcome"' not in page.text, "the launcher has no payment buttons"


def test_pop_out_window_talks_to_its_opener(api: Api) -> None:
    session_id = api.create_session()

    page = requests.get(f"{api.url}/", params={"sid": session_id, "role": "pop_out_payment"}, timeout=10)
    answer = requests.post(
        f"{api.url}/v1/view/{session_id}/", data={"outcome": "DECLINED", "embed": "popout"}, timeout=10
    )

    assert _opener_messages(page.text) == [{"type": "AppLoaded", "sid": session_id, "context": "popOut"}]
    [event] = _opener_messages(answer.text)
    assert event["type"] == "SessionPaymentError" and event["context"] == "popOut"
    assert event["error"] == "authorization" and "error=authorization" in event["href"]
