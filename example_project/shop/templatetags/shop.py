from __future__ import annotations

from django import template

register = template.Library()

#: ISO 4217 currencies without minor units; every other is taken to have two.
ZERO_DECIMAL = frozenset({"ISK", "JPY", "KRW", "CLP", "VND", "XAF", "XOF", "XPF"})


@register.filter
def money(amount: int, currency: str = "NOK") -> str:
    """Minor units to text with integer arithmetic only: ``129900|money:"NOK"`` -> 1 299.00 NOK."""
    amount = int(amount)
    if currency in ZERO_DECIMAL:
        return f"{amount:,} {currency}".replace(",", "\u00a0")
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 100)
    return f"{sign}{major:,}.{minor:02d} {currency}".replace(",", "\u00a0")
