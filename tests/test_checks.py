"""System checks: each id fires for its misconfiguration, and only then."""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django.checks import check_dintero_settings

GOOD = {
    "ACCOUNT_ID": "T12345678",
    "CLIENT_ID": "id",
    "CLIENT_SECRET": "secret",
    "SIGNATURE_SECRET": "sig",
    "SITE_URL": "https://shop.example.com",
    "ADAPTER": "tests.adapters.CataloguePricedAdapter",
}


def ids(settings: Any, **dintero: Any) -> set[str]:
    settings.DINTERO = dintero
    return {message.id for message in check_dintero_settings()}


def test_good_settings_pass(settings: Any) -> None:
    assert ids(settings, **GOOD) == set()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"ACCOUNT_ID": ""}, "dintero.E001"),
        ({"ACCOUNT_ID": "X123"}, "dintero.E002"),
        ({"ACCOUNT_ID": "T1234567"}, "dintero.E002"),
        ({"CLIENT_SECRET": ""}, "dintero.E003"),
        ({"API_URL": "ftp://x"}, "dintero.E004"),
        ({"READ_TIMEOUT": 0}, "dintero.E005"),
        ({"SIGNATURE_SECRET": ""}, "dintero.W001"),
        ({"TYPO_KEY": 1}, "dintero.W002"),
        ({"ACCOUNT_ID": "P12345678", "CHECKOUT_URL": "http://127.0.0.1:1"}, "dintero.W003"),
        ({"SITE_URL": ""}, "dintero.W004"),
        ({"CALLBACK_METHOD": "PUT"}, "dintero.W005"),
        ({"LEASE_SECONDS": 10, "READ_TIMEOUT": 5, "CONNECT_TIMEOUT": 1, "MAX_RETRIES": 1}, "dintero.W007"),
        ({"ADAPTER": "dintero_django.adapters.DefaultOrderAdapter"}, "dintero.W006"),
        ({"ADAPTER": "no.such.Adapter"}, "dintero.E007"),
        ({"ADAPTER": "dintero_django.models.Order"}, "dintero.E007"),
        ({"ACCOUNT_ID": "P12345678", "SITE_URL": "http://shop.example.com"}, "dintero.E008"),
        ({"ACCOUNT_ID": "P12345678", "CALLBACK_URL": "http://shop.example.com/cb/"}, "dintero.E008"),
        ({"SITE_URL": "http://shop.example.com"}, "dintero.W008"),
        # A local http shop against the real Dintero gets no callbacks: warned.
        (
            {"CALLBACK_URL": "http://127.0.0.1:8000/dintero/callback/", "API_URL": "https://api.dintero.com"},
            "dintero.W008",
        ),
        ({"CURRENCY": "nok"}, "dintero.E009"),
        ({"CURRENCIES": ["NOK", "Kroner"]}, "dintero.E009"),
        ({"CURRENCIES": "NOK"}, "dintero.E009"),
    ],
)
def test_each_check_fires(settings: Any, change: dict[str, Any], expected: str) -> None:
    assert expected in ids(settings, **{**GOOD, **change})


def test_non_dict_setting(settings: Any) -> None:
    settings.DINTERO = ["not", "a", "dict"]
    assert {m.id for m in check_dintero_settings()} == {"dintero.E006"}


def test_no_signature_secret_is_fine_in_debug(settings: Any) -> None:
    settings.DEBUG = True
    assert "dintero.W001" not in ids(settings, **{**GOOD, "SIGNATURE_SECRET": ""})


def test_settings_are_read_lazily(settings: Any) -> None:
    from dintero_django.conf import get_settings

    settings.DINTERO = {**GOOD, "PROFILE_ID": "first"}
    assert get_settings().PROFILE_ID == "first"
    settings.DINTERO = {**GOOD, "PROFILE_ID": "second"}
    assert get_settings().PROFILE_ID == "second"
    assert "secret" not in repr(get_settings())


@pytest.mark.parametrize(
    ("change", "absent"),
    [
        # An https callback base is fine for a production account...
        ({"ACCOUNT_ID": "P12345678"}, {"dintero.E008", "dintero.W008"}),
        # ...and CALLBACK_URL decides over SITE_URL when both are set.
        (
            {"ACCOUNT_ID": "P12345678", "SITE_URL": "http://shop.example.com",
             "CALLBACK_URL": "https://shop.example.com/dintero/callback/"},
            {"dintero.E008", "dintero.W008"},
        ),
        # A test account with plain http is warned, not refused.
        ({"SITE_URL": "http://shop.example.com"}, {"dintero.E008"}),
        # Local development against the emulator: its own switch decides, no warning.
        (
            {"SITE_URL": "http://127.0.0.1:8000", "API_URL": "http://127.0.0.1:8765",
             "CHECKOUT_URL": "http://127.0.0.1:8765"},
            {"dintero.E008", "dintero.W008"},
        ),
    ],
)  # fmt: skip
def test_https_callback_check_only_when_due(settings: Any, change: dict[str, Any], absent: set[str]) -> None:
    assert not ids(settings, **{**GOOD, **change}) & absent


def test_currencies_pass(settings: Any) -> None:
    assert ids(settings, **GOOD, CURRENCY="SEK", CURRENCIES=["SEK", "NOK"]) == set()


def test_a_throttle_that_trusts_x_forwarded_for_warns(settings: Any) -> None:
    settings.REST_FRAMEWORK = {k: v for k, v in settings.REST_FRAMEWORK.items() if k != "NUM_PROXIES"}
    assert "dintero.W011" in ids(settings, **GOOD)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    assert "dintero.W011" not in ids(settings, **GOOD)


def test_the_example_project_sets_num_proxies() -> None:
    import example_project.settings as example

    assert isinstance(example.REST_FRAMEWORK.get("NUM_PROXIES"), int)
