"""Adapters used by the tests."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from dintero_django.adapters import DefaultOrderAdapter
from dintero_django.services.orders import LineInput

#: A tiny catalogue: product id -> unit price in minor units.
PRICES = {"chair": 19900, "table": 49900}


class CataloguePricedAdapter(DefaultOrderAdapter):
    """Prices storefront lines from PRICES, as a real shop does from its catalogue."""

    prices_lines = True

    def prepare_lines(self, lines: list[LineInput], request: Any) -> list[LineInput]:
        unknown = sorted({line.product_id for line in lines} - PRICES.keys())
        if unknown:
            raise ValidationError(f"Unknown product(s): {', '.join(unknown)}.")
        return [
            LineInput(
                line.description, line.quantity, PRICES[line.product_id], line.vat_percent, line.product_id
            )
            for line in lines
        ]
