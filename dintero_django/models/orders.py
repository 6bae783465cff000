"""Local orders and their lines: what the shop sells, mirrored to Dintero's Orders API."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

#: Dintero amounts are int32 minor units.
MAX_AMOUNT = 2_147_483_647

if TYPE_CHECKING:
    from .payments import Payment

currency_validator = RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as NOK."))


class Order(models.Model):
    """A local order. Its Dintero draft / order is created and completed by tasks."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft (editable)")
        PLACED = "placed", _("Placed (completing in Dintero)")
        OPEN = "open", _("Open (order_id assigned)")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(verbose_name=_("public id"), default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dintero_orders",
        help_text=_("Owner when the customer is logged in."),
    )
    guest_key = models.CharField(
        verbose_name=_("guest key"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_("Owner token of a guest checkout."),
    )
    shop_reference = models.CharField(
        verbose_name=_("shop reference"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("Key of the shop's own order this order mirrors (see docs: adapters)."),
    )
    currency = models.CharField(
        verbose_name=_("currency"), max_length=3, default="NOK", validators=[currency_validator]
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    email = models.EmailField(verbose_name=_("e-mail"), blank=True)
    phone = models.CharField(
        verbose_name=_("phone"),
        max_length=16,
        blank=True,
        help_text=_("Customer phone in E.164 (+4799999999); prefills the checkout (docs: adapters)."),
    )
    revision = models.PositiveIntegerField(
        verbose_name=_("revision"),
        default=1,
        help_text=_("Local change counter; the draft is current when it equals synced_revision."),
    )
    synced_revision = models.PositiveIntegerField(verbose_name=_("synced revision"), default=0)
    dintero_draft_id = models.CharField(
        verbose_name=_("Dintero draft id"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_("Dintero draft order id."),
    )
    dintero_order_id = models.CharField(
        verbose_name=_("Dintero order id"),
        max_length=40,
        null=True,
        blank=True,
        unique=True,
        help_text=_(
            "Dintero order_id; also the checkout merchant_reference. Chosen locally when "
            "the order is placed, so a lost complete response can be checked by reading it back."
        ),
    )
    dintero_order_uuid = models.CharField(
        verbose_name=_("Dintero order UUID"),
        max_length=64,
        blank=True,
        help_text=_("Dintero order id (UUID)."),
    )
    completed = models.BooleanField(
        verbose_name=_("completed in Dintero"), default=False, help_text=_("The Dintero draft was completed.")
    )
    remote_error = models.TextField(
        verbose_name=_("remote error"), blank=True, help_text=_("Last error syncing with Dintero.")
    )
    discount_codes = models.JSONField(
        verbose_name=_("discount codes"),
        default=list,
        blank=True,
        help_text=_("Discount codes the customer entered (spec order.discount_codes)."),
    )
    order_discounts = models.JSONField(
        verbose_name=_("order discounts"),
        default=list,
        blank=True,
        help_text=_("Order-level discounts (spec order.discount_lines); already spread over the lines."),
    )
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    #: Who holds the lease: a fresh random token per acquisition (services.leases), checked
    #: before and after every write to Dintero so a holder paused past its lease cannot write.
    lease_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_at = models.DateTimeField(verbose_name=_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated"), auto_now=True)
    placed_at = models.DateTimeField(verbose_name=_("placed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Dintero order")
        verbose_name_plural = _("Dintero orders")
        permissions = [
            ("capture_payment", "Can capture payments"),
            ("refund_payment", "Can refund payments"),
            ("cancel_payment", "Can cancel (void) payments"),
            ("send_payment_link", "Can create and send payment links"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return self.dintero_order_id or f"Order {self.public_id.hex[:8]}"

    @property
    def amount(self) -> int:
        """Order total in minor units (lines include VAT)."""
        return sum(line.amount for line in self.lines.all())

    @property
    def active_payment(self) -> Payment | None:
        return next((p for p in self.payments.all() if p.is_active), None)


class PaymentsOverview(Order):
    """No data of its own: the admin index lists it, and its page is the payments overview."""

    class Meta:
        proxy = True
        verbose_name = _("payments overview")
        verbose_name_plural = _("payments overview")
        default_permissions = ()


class OrderLine(models.Model):
    """One order line. ``amount`` is the line total incl. VAT in minor units."""

    class Type(models.TextChoices):
        PHYSICAL = "physical", _("Physical")
        DIGITAL = "digital", _("Digital")
        SERVICE = "service", _("Service")
        SHIPPING = "shipping", _("Shipping")
        SURCHARGE = "surcharge", _("Surcharge")

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")
    line_id = models.PositiveIntegerField(
        verbose_name=_("line id"), help_text=_("Stable line number: Orders API line_id (int).")
    )
    product_id = models.CharField(verbose_name=_("product id"), max_length=64, blank=True)
    description = models.CharField(verbose_name=_("description"), max_length=255)
    type = models.CharField(
        verbose_name=_("type"), max_length=16, choices=Type.choices, default=Type.PHYSICAL
    )
    quantity = models.PositiveIntegerField(
        verbose_name=_("quantity"), default=1, validators=[MinValueValidator(1)]
    )
    unit_amount = models.PositiveBigIntegerField(
        verbose_name=_("unit price"),
        validators=[MaxValueValidator(MAX_AMOUNT)],
        help_text=_("Unit price incl. VAT, minor units."),
    )
    amount = models.PositiveBigIntegerField(
        verbose_name=_("amount"),
        editable=False,
        help_text=_("quantity x unit_amount - discount_amount, minor units (kept by save())."),
    )
    discount_amount = models.PositiveBigIntegerField(
        verbose_name=_("discount"),
        default=0,
        help_text=_("Sum of discount_lines: what the line's discounts take off, minor units incl. VAT."),
    )
    discount_lines = models.JSONField(
        verbose_name=_("discount lines"),
        default=list,
        blank=True,
        help_text=_("The line's discounts as sent to Dintero (spec DiscountItem)."),
    )
    vat_percent = models.DecimalField(
        verbose_name=_("VAT percent"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("25"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["line_id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "line_id"], name="dintero_line_id_unique"),
            models.CheckConstraint(condition=Q(amount__lte=MAX_AMOUNT), name="dintero_line_amount_int32"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.description}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.amount = self.quantity * self.unit_amount - self.discount_amount
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def vat_amount(self) -> int:
        return vat_of(self.amount, self.vat_percent)


def vat_of(amount: int, percent: Decimal) -> int:
    """VAT contained in a VAT-inclusive integer amount, rounded half up, integers only."""
    basis = Decimal(100) + percent
    return int((Decimal(amount) * percent / basis).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
