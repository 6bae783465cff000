"""``{% load dintero_money %}``: amounts in templates, in major units for the active language."""

from __future__ import annotations

from django import template

from ..money_format import format_money, format_money_words

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """``{{ payment.captured_amount|money:payment.currency }}`` -> ``NOK 966.00``."""
    return format_money(minor, currency)


@register.filter
def money_words(minor: int | None, currency: str) -> str:
    """``{{ amount|money_words:"NOK" }}`` -> ``966.00 Norwegian kroner``."""
    return "" if minor is None else format_money_words(minor, currency)
