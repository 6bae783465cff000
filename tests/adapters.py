"""Adapters used by the tests."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from dintero_django.adapters import DefaultOrderAdapter
from dintero_django.customer import Address, CustomerDetails
from dintero_django.discounts import Discount, GiftCard
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


class PrefillingAdapter(DefaultOrderAdapter):
    """Prefills a B2B customer with addresses; some values empty or invalid on purpose."""

    def customer_details(self, order: Any) -> CustomerDetails:
        return CustomerDetails(
            email=order.email,
            phone="912 34 567",
            customer_id="c-42",
            customer_type="b2b",
            shipping_address=Address(
                first_name="Ola",
                last_name="Nordmann",
                address_line="Storgata 1",
                address_line_2="",
                postal_code="0155",
                postal_place="Oslo",
                country="NO",
                phone_number="not a phone",
            ),
            billing_address=Address(
                business_name="Nordmann AS",
                organization_number="987654321",
                organization_type="AS",
                country="NO",
                phone_number="+47 912 34 567",
                email="",
            ),
        )


class DigitalAutoCaptureAdapter(DefaultOrderAdapter):
    """Auto-capture orders that hold nothing to ship (the docs' example)."""

    def auto_capture(self, order: Any, lines: list[Any]) -> bool:
        return all(line.type in ("digital", "service") for line in lines)


class CouponAdapter(DefaultOrderAdapter):
    """Knows the code SUMMER20 (20 % off the order) and GIFT (a gift card of 10 000 øre)."""

    def order_discounts(self, lines: list[LineInput], codes: list[str], request: Any) -> list[Discount]:
        unknown = sorted(set(codes) - {"SUMMER20", "GIFT", "GIFTBIG", "HUGE"})
        if unknown:
            raise ValidationError(f"Unknown discount code(s): {', '.join(unknown)}.")
        total = sum(line.as_fields()["amount"] for line in lines)
        found = []
        if "SUMMER20" in codes:
            found.append(Discount(total * 20 // 100, "Summer sale", "periodic", "summer20", percentage=20))
        if "HUGE" in codes:
            found.append(Discount(total + 1, "More than the order", "manual", "huge"))
        return found

    def gift_cards(self, order: Any, amount: int) -> list[GiftCard]:
        if "GIFT" in order.discount_codes:
            return [GiftCard(card_id="card-1", amount=10_000)]
        if "GIFTBIG" in order.discount_codes:
            return [GiftCard(card_id="card-2", amount=amount + 1)]
        return []
