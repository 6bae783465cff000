"""The cart, kept in the Django session as ``{product_id: quantity}``.

Prices are never stored in the session: they are read from the catalogue each
time, so the cart always shows (and sends to the API) the current price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from .catalog import SHIPPING_AMOUNT, SHIPPING_VAT, currency
from .models import Product

SESSION_KEY = "shop_cart"
MAX_QUANTITY = 99


class InvalidQuantity(ValueError):
    pass


def is_number(text: str, max_digits: int) -> bool:
    """ASCII digits only, at most ``max_digits`` of them.

    ``str.isdigit`` alone also accepts superscripts such as "²" (which ``int`` then
    refuses), and ``int`` refuses more than 4,300 digits: both were 500s.
    """
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def parse_quantity(raw: object, *, minimum: int = 1) -> int:
    """A whole number between ``minimum`` and MAX_QUANTITY, from form input."""
    text = str(raw).strip()
    if not is_number(text, len(str(MAX_QUANTITY))) or not minimum <= int(text) <= MAX_QUANTITY:
        raise InvalidQuantity(f"Quantity must be a whole number between {minimum} and {MAX_QUANTITY}.")
    return int(text)


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def amount(self) -> int:
        return self.product.price * self.quantity


class Cart:
    def __init__(self, session: SessionBase) -> None:
        self.session = session
        stored = session.get(SESSION_KEY)
        self.items: dict[str, int] = {
            str(key): value
            for key, value in (stored.items() if isinstance(stored, dict) else ())
            if isinstance(value, int) and 0 < value <= MAX_QUANTITY
        }

    def _save(self) -> None:
        self.session[SESSION_KEY] = self.items

    def add(self, product: Product, quantity: int) -> int:
        """Add ``quantity``; the line is capped at MAX_QUANTITY. Returns the new quantity."""
        key = str(product.pk)
        self.items[key] = min(self.items.get(key, 0) + quantity, MAX_QUANTITY)
        self._save()
        return self.items[key]

    def set(self, product_pk: int, quantity: int) -> None:
        """Set a line's quantity; 0 removes it."""
        if quantity:
            self.items[str(product_pk)] = min(quantity, MAX_QUANTITY)
        else:
            self.items.pop(str(product_pk), None)
        self._save()

    def clear(self) -> None:
        self.items = {}
        self.session.pop(SESSION_KEY, None)

    def lines(self) -> list[CartLine]:
        """Cart lines of products still for sale, in catalogue order."""
        products = Product.objects.filter(pk__in=list(self.items), is_active=True)
        return [CartLine(product, self.items[str(product.pk)]) for product in products]

    @property
    def count(self) -> int:
        return sum(self.items.values())


@dataclass(frozen=True)
class Summary:
    lines: list[CartLine]
    shipping: int
    currency: str

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping

    def order_request(self) -> dict[str, Any]:
        """The body of ``POST /api/dintero/orders/`` for this cart (integers only).

        The checkout page's script adds the customer's ``email``.
        """
        lines: list[dict[str, Any]] = [
            {
                "product_id": line.product.slug,
                "description": line.product.name,
                "quantity": line.quantity,
                "unit_amount": line.product.price,
                "vat_percent": str(line.product.vat_percent),
                "type": line.product.kind,
            }
            for line in self.lines
        ]
        if self.shipping:
            lines.append(
                {
                    "product_id": "shipping",
                    "description": "Shipping",
                    "quantity": 1,
                    "unit_amount": self.shipping,
                    "vat_percent": str(SHIPPING_VAT),
                    "type": "shipping",
                }
            )
        return {"currency": self.currency, "lines": lines}


def summarize(cart: Cart) -> Summary:
    lines = cart.lines()
    physical = any(line.product.kind == Product.Kind.PHYSICAL for line in lines)
    return Summary(lines, SHIPPING_AMOUNT if physical else 0, currency())
