"""The demo catalogue and shop-wide constants (currency, shipping)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from .models import Product

#: Flat shipping for carts with physical products, minor units incl. 25 % VAT.
SHIPPING_AMOUNT = 6900
SHIPPING_VAT = Decimal(25)

DEMO_PRODUCTS: list[dict[str, Any]] = [
    {
        "slug": "wool-socks",
        "name": "Wool hiking socks",
        "description": "Merino blend, cushioned sole. One pair.",
        "price": 19900,
    },
    {
        "slug": "enamel-mug",
        "name": "Enamel camp mug",
        "description": "350 ml, steel with enamel. Hangs from a carabiner.",
        "price": 14900,
    },
    {
        "slug": "coffee-beans",
        "name": "Campfire coffee",
        "description": "500 g whole beans, medium roast. Food: 15 % VAT.",
        "price": 16900,
        "vat_percent": Decimal(15),
    },
    {
        "slug": "headlamp",
        "name": "Rechargeable headlamp",
        "description": "400 lumen, USB-C, red night mode.",
        "price": 49900,
    },
    {
        "slug": "rain-jacket",
        "name": "Rain jacket",
        "description": "Three-layer shell with taped seams and pit zips.",
        "price": 129900,
    },
    {
        "slug": "trail-map",
        "name": "Trail map (download)",
        "description": "Printable PDF of 40 marked trails. Digital: no shipping.",
        "price": 9900,
        "kind": Product.Kind.DIGITAL,
    },
]


def currency() -> str:
    return str(getattr(settings, "SHOP_CURRENCY", "NOK"))


def seed_products() -> tuple[int, int]:
    """Create or update the demo products (by slug). Returns (created, updated)."""
    created = updated = 0
    for data in DEMO_PRODUCTS:
        defaults = {"vat_percent": Decimal(25), "kind": Product.Kind.PHYSICAL, **data}
        defaults.pop("slug")
        _, was_created = Product.objects.update_or_create(
            slug=data["slug"], defaults={**defaults, "is_active": True}
        )
        created += was_created
        updated += not was_created
    return created, updated
