"""The default order adapter's callback URL options."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dintero_django.adapters import DefaultOrderAdapter
from dintero_django.models import Order


def _options(settings: Any, **dintero: Any) -> dict[str, list[str]]:
    settings.DINTERO = {"ACCOUNT_ID": "T12345678", "SITE_URL": "https://shop.example.com", **dintero}
    url = DefaultOrderAdapter().callback_url(Order())
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize(("setting", "sent"), [(30, "30"), (60, "60"), (120, "60")])
def test_callback_delay_is_capped_at_dinteros_60_seconds(settings: Any, setting: int, sent: str) -> None:
    assert _options(settings, CALLBACK_DELAY=setting)["delay_callback"] == [sent]


def test_no_delay_unless_asked(settings: Any) -> None:
    options = _options(settings)
    assert "delay_callback" not in options
    assert options["report_event"] == ["CAPTURE", "REFUND", "VOID"]  # repeated, as the spec documents
