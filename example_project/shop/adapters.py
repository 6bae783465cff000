"""The shop's order adapter: the storefront API prices lines from the catalogue.

The browser sends product ids and quantities; whatever prices it sends are
replaced here, so a customer cannot choose what to pay, nor the currency.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from dintero_django.adapters import DefaultOrderAdapter, LineInput

from .catalog import SHIPPING_AMOUNT, SHIPPING_VAT, currency
from .models import Product


class CatalogueOrderAdapter(DefaultOrderAdapter):
    #: ``{product_id, quantity}`` is a whole line: names and prices come from the catalogue.
    prices_lines = True

    def currencies(self, request: Any) -> list[str]:
        return [currency()]  # the catalogue's prices are in this one

    def prepare_lines(self, lines: list[LineInput], request: Any) -> list[LineInput]:
        slugs = {line.product_id for line in lines if line.product_id != "shipping"}
        products = {p.slug: p for p in Product.objects.filter(slug__in=slugs)}
        unknown = sorted(slugs - products.keys())
        if unknown:
            raise ValidationError(f"Unknown product(s): {', '.join(unknown)}.")
        priced = [
            self._priced(line, products[line.product_id]) for line in lines if line.product_id in products
        ]
        if any(p.type == "physical" for p in priced):
            priced.append(LineInput("Shipping", 1, SHIPPING_AMOUNT, SHIPPING_VAT, "shipping", "shipping"))
        return priced

    @staticmethod
    def _priced(line: LineInput, product: Product) -> LineInput:
        return LineInput(
            description=product.name,
            quantity=line.quantity,
            unit_amount=product.price,
            vat_percent=product.vat_percent,
            product_id=product.slug,
            type=product.kind,
        )
