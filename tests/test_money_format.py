"""Money as people read and type it: formatting and exact parsing (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dintero_django.money_format import (
    MoneyInputError,
    format_major_input,
    format_money,
    format_money_words,
    parse_major,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (96600, "NOK", "nb", f"966,00{NBSP}kr"),
        (96600, "NOK", "en", f"NOK{NBSP}966.00"),
        (123456789, "NOK", "nb", f"1{NBSP}234{NBSP}567,89{NBSP}kr"),
        (123456789, "NOK", "en", f"NOK{NBSP}1,234,567.89"),
        (5, "NOK", "en", f"NOK{NBSP}0.05"),
        (1500, "JPY", "en", "¥1,500"),  # JPY has no minor unit: 1500 is 1500 yen
        (1500, "JPY", "nb", f"1{NBSP}500{NBSP}JPY"),
        (1500, "SEK", "sv", f"15,00{NBSP}kr"),
        (96600, "NOK", "en-us", f"NOK{NBSP}966.00"),
        (96600, "NOK", "xx", f"NOK{NBSP}966.00"),  # English, never an error
    ],
)
def test_format_money(minor: int, currency: str, locale: str, shown: str) -> None:
    assert format_money(minor, currency, locale) == shown


def test_amount_in_words_names_the_currency() -> None:
    assert format_money_words(12550, "NOK", "nb") == "125,50 norske kroner"
    assert format_money_words(12550, "NOK", "en") == "125.50 Norwegian kroner"


@pytest.mark.parametrize(
    ("typed", "currency", "locale", "minor"),
    [
        ("125,50", "NOK", "nb", 12550),
        ("125.50", "NOK", "nb", 12550),
        ("125.50", "NOK", "en", 12550),
        ("125,5", "NOK", "nb", 12550),
        ("  966 ", "NOK", "nb", 96600),
        ("1 000,00", "NOK", "nb", 100000),
        (f"1{NBSP}000,00", "NOK", "nb", 100000),
        ("0,01", "NOK", "nb", 1),
        ("0", "NOK", "nb", 0),
        ("1500", "JPY", "en", 1500),
        ("21474836,47", "NOK", "nb", 2147483647),
    ],
)
def test_parse_major_is_exact(typed: str, currency: str, locale: str, minor: int) -> None:
    assert parse_major(typed, currency, locale) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "locale", "says"),
    [
        ("12,345", "NOK", "nb", "NOK has 2 decimals"),  # not twelve thousand kroner
        ("12,345", "NOK", "en", "NOK has 2 decimals"),
        ("1,000", "JPY", "en", "JPY has no decimals"),
        ("1.5", "JPY", "en", "JPY has no decimals"),
        ("-5", "NOK", "nb", "positive"),
        ("\u22125", "NOK", "nb", "positive"),
        ("1e3", "NOK", "nb", "such as 125,50"),
        ("", "NOK", "nb", "Enter an amount"),
        ("   ", "NOK", "nb", "Enter an amount"),
        ("12.", "NOK", "en", "such as 125.50"),
        ("1,000.50", "NOK", "en", "such as 125.50"),
        ("NaN", "NOK", "en", "such as"),
        ("Infinity", "NOK", "en", "such as"),
        ("+5", "NOK", "en", "such as"),
        ("\uff11\uff12", "NOK", "en", "such as"),  # full-width digits are not read as 12
        ("10 00", "NOK", "nb", "such as"),  # a space that is not a thousands group
    ],
)
def test_parse_major_refuses_what_it_cannot_read_exactly(
    typed: str, currency: str, locale: str, says: str
) -> None:
    with pytest.raises(MoneyInputError, match=says):
        parse_major(typed, currency, locale)


@given(minor=st.integers(min_value=0, max_value=2_147_483_647), locale=st.sampled_from(["nb", "en", "sv"]))
def test_what_is_shown_for_input_reads_back_to_the_same_minor_units(minor: int, locale: str) -> None:
    for currency in ("NOK", "JPY"):
        assert parse_major(format_major_input(minor, currency, locale), currency, locale) == minor
