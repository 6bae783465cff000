"""Money as people read and type it: minor units <-> text in the active language.

Storage, the REST API and Dintero use integer minor units (øre, cents). People
read and type major units (kroner). This module is the one place that converts,
with Babel's CLDR data for the currency's decimals (ISO 4217: NOK 2, JPY 0) and
the language's formatting (``966,00 kr`` in Norwegian, ``NOK 966.00`` in English).
Conversion is exact: Decimal and integers only, never float.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol
from django.utils.translation import get_language, gettext, to_locale

#: Between an alphabetic currency symbol and the digits CLDR inserts a no-break
#: space (its currencySpacing rule, which Babel does not apply): ``NOK 966.00``.
NBSP = "\u00a0"

#: Digits (ASCII only), optionally grouped by spaces in threes, then at most one
#: decimal mark: ``.`` or ``,`` whatever the language, since a mark followed by
#: more digits than the currency has is refused rather than read as a thousands
#: separator (``12,345`` for NOK is an error, never 12345 kroner).
_AMOUNT = re.compile(r"(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](\d+))?", re.ASCII)
_SPACES = re.compile(r"[ \u00a0\u202f]")


class MoneyInputError(ValueError):
    """Text that is not an amount a clerk meant; ``str()`` is the message to show."""


def babel_locale(language: str | None = None) -> Locale:
    """Babel's locale for a Django language code (the active one by default); English if unknown."""
    try:
        return Locale.parse(to_locale(language or get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def currency_digits(currency: str) -> int:
    """Decimals of the currency's minor unit (ISO 4217, via CLDR): NOK 2, JPY 0."""
    return int(get_currency_precision(currency))


def to_major(minor: int, currency: str) -> Decimal:
    """Exact major units: 96600 NOK -> Decimal('966.00')."""
    return Decimal(minor).scaleb(-currency_digits(currency))


def format_money(minor: int | None, currency: str, locale: str | None = None) -> str:
    """``96600, "NOK"`` -> ``966,00 kr`` (nb) / ``NOK 966.00`` (en)."""
    if minor is None:
        return ""
    where = babel_locale(locale)
    text = format_currency(to_major(minor, currency), currency, locale=where)
    return _space_symbol(text, get_currency_symbol(currency, locale=where))


def format_money_words(minor: int, currency: str, locale: str | None = None) -> str:
    """The amount with the currency's name spelt out: ``125,50 norske kroner``."""
    where = babel_locale(locale)
    return str(format_currency(to_major(minor, currency), currency, locale=where, format_type="name"))


def format_major_input(minor: int, currency: str, locale: str | None = None) -> str:
    """The amount as a clerk would type it, without symbol or grouping: ``125,50``."""
    digits = currency_digits(currency)
    text = f"{to_major(minor, currency):.{digits}f}"
    return text.replace(".", babel_locale(locale).number_symbols["latn"]["decimal"])


def parse_major(text: str, currency: str, locale: str | None = None) -> int:
    """What a clerk typed in major units -> exact minor units, or MoneyInputError.

    Refused, never guessed: an empty field, a sign, an exponent, letters, more
    decimals than the currency has. Zero is returned; the caller says whether it is allowed.
    """
    cleaned = (text or "").strip()
    if not cleaned:
        raise MoneyInputError(gettext("Enter an amount."))
    example = format_major_input(12550 if currency_digits(currency) else 125, currency, locale)
    if cleaned[0] in "-\u2212":
        raise MoneyInputError(gettext("Enter a positive amount, such as %(example)s.") % {"example": example})
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise MoneyInputError(gettext("Enter an amount such as %(example)s.") % {"example": example})
    whole, fraction = _SPACES.sub("", match.group(1)), match.group(2) or ""
    digits = currency_digits(currency)
    if len(fraction) > digits:
        raise MoneyInputError(_too_many_decimals(currency, digits, example))
    major = Decimal(f"{whole}.{fraction or '0'}")
    return int(major.scaleb(digits))  # exact: at most `digits` decimals, checked above


def _too_many_decimals(currency: str, digits: int, example: str) -> str:
    if digits == 0:
        return gettext("%(currency)s has no decimals: enter a whole amount such as %(example)s.") % {
            "currency": currency,
            "example": example,
        }
    return gettext(
        "%(currency)s has %(digits)d decimals: enter an amount such as %(example)s, "
        "without thousands separators."
    ) % {"currency": currency, "digits": digits, "example": example}


def _space_symbol(text: str, symbol: str) -> str:
    """CLDR currencySpacing: a no-break space between a letter symbol and a digit."""
    if symbol[-1:].isalpha():
        text = re.sub(re.escape(symbol) + r"(?=\d)", symbol + NBSP, text)
    if symbol[:1].isalpha():
        text = re.sub(r"(?<=\d)" + re.escape(symbol), NBSP + symbol, text)
    return text
