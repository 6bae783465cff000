"""The shop's catalogue. Prices are integers in minor units (øre for NOK), VAT included."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

#: Dintero amounts are int32 minor units; a unit price above this could never be paid.
MAX_PRICE = 2_147_483_647


class Product(models.Model):
    class Kind(models.TextChoices):
        # The values are Dintero order line types.
        PHYSICAL = "physical", "Physical (shipped)"
        DIGITAL = "digital", "Digital (no shipping)"

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    price = models.PositiveIntegerField(
        validators=[MaxValueValidator(MAX_PRICE)],
        help_text="Unit price incl. VAT in minor units: 24900 is 249.00 NOK.",
    )
    vat_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(25),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PHYSICAL)
    is_active = models.BooleanField(default=True, help_text="Shown in the shop.")

    # Declared for type checkers (Django adds this default manager anyway).
    objects: ClassVar[models.Manager[Product]]

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def initials(self) -> str:
        """Two letters for the product tile (the demo ships no images)."""
        return "".join(word[0] for word in self.name.split()[:2]).upper()

    @property
    def hue(self) -> int:
        """A stable colour per product for its tile."""
        return sum(map(ord, self.slug)) * 37 % 360
