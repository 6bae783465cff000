"""The checkout's language follows the active Django language (a ``language`` query)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dintero_django.language import dintero_language, with_language

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("django", "dintero"),
    [("nb", "no"), ("nb-no", "no"), ("nn", "no"), ("sv", "sv"), ("en-us", "en"), ("xx", None), (None, None)],
)
def test_django_language_to_dintero(django: str | None, dintero: str | None) -> None:
    assert dintero_language(django) == dintero


def test_language_replaces_one_already_there() -> None:
    assert with_language("https://c.example/v1/view/T1.a/?language=en&x=1", "no") == (
        "https://c.example/v1/view/T1.a/?x=1&language=no"
    )
    assert with_language("https://c.example/v1/view/T1.a/", None) == "https://c.example/v1/view/T1.a/"


@pytest.mark.parametrize(("accept", "expected"), [("nb-NO,nb;q=0.9", "no"), ("sv", "sv"), ("en", "en")])
def test_checkout_url_carries_the_request_language(shop: Any, accept: str, expected: str) -> None:
    shop.http.headers["Accept-Language"] = accept
    order = shop.create_order()

    url = shop.checkout(order["id"]).json()["payment"]["checkout_url"]

    assert parse_qs(urlsplit(url).query)["language"] == [expected]
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and f'<html lang="{expected}">' in page.text


def test_the_same_session_in_another_language(shop: Any) -> None:
    order = shop.create_order()
    shop.http.headers["Accept-Language"] = "nb"
    first = shop.checkout(order["id"]).json()["payment"]["checkout_url"]

    shop.http.headers["Accept-Language"] = "da"
    second = shop.order(order["id"])["payment"]["checkout_url"]

    assert urlsplit(first).path == urlsplit(second).path
    assert parse_qs(urlsplit(second).query)["language"] == ["da"]
