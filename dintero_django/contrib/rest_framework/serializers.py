"""Serializers of the storefront API. Every payment field is read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ...adapters import LineInput, get_adapter
from ...customer import InvalidPhone, normalise_phone
from ...discounts import DISCOUNT_TYPES, Discount, check_line_discounts
from ...models import MAX_AMOUNT, Order, OrderLine, Payment

MAX_LINES = 100
MAX_DISCOUNTS = 10

#: The storefront queryset joins each order's active payment under this name (one query
#: less than prefetching it), and marks that it did with the payment's id (None: no payment).
JOINED_PAYMENT = "joined_active_payment"
JOINED_PAYMENT_ID = "joined_active_payment_id"


def active_payment(order: Order) -> Payment | None:
    """The order's active payment: the joined one when the queryset joined it."""
    if hasattr(order, JOINED_PAYMENT_ID):
        return getattr(order, JOINED_PAYMENT, None)  # absent when the join found no row
    return order.active_payment


class StrictIntegerField(serializers.IntegerField):
    """Minor units: a JSON integer, never a float, string or boolean."""

    default_error_messages = {
        "strict": _("Must be an integer amount in minor units (no decimals, no strings).")
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("strict")
        return int(super().to_internal_value(data))


class DiscountSerializer(serializers.Serializer):
    """One discount on a line (spec DiscountItem); the adapter may re-check or replace it."""

    amount = StrictIntegerField(min_value=1, max_value=MAX_AMOUNT)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    discount_type = serializers.ChoiceField(choices=DISCOUNT_TYPES, default="manual")
    discount_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    def to_discount(self, data: dict[str, Any]) -> Discount:
        return Discount(**data)


class LineSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(read_only=True)
    product_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=255)
    type = serializers.ChoiceField(choices=OrderLine.Type.choices, default=OrderLine.Type.PHYSICAL)
    quantity = StrictIntegerField(min_value=1, max_value=10_000)
    unit_amount = StrictIntegerField(min_value=0, max_value=MAX_AMOUNT)
    vat_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        default=Decimal(25),
    )
    discounts = DiscountSerializer(many=True, required=False, write_only=True)
    discount_amount = serializers.IntegerField(read_only=True)
    discount_lines = serializers.JSONField(read_only=True)
    amount = serializers.IntegerField(read_only=True)
    vat_amount = serializers.IntegerField(read_only=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        """When the adapter prices lines, ``{product_id, quantity}`` is a whole line.

        Read per request (and per schema generation), so the OpenAPI schema shows
        which fields this shop's adapter needs.
        """
        fields: dict[str, serializers.Field] = super().get_fields()
        if get_adapter().prices_lines:
            fields["product_id"] = serializers.CharField(
                max_length=64,
                help_text="The product in the shop's catalogue, which prices the line.",
                error_messages={
                    "required": _("Give the product_id: this shop prices each line from its catalogue."),
                    "blank": _("Give the product_id: this shop prices each line from its catalogue."),
                },
            )
            fields["description"] = serializers.CharField(
                max_length=255, required=False, help_text="Ignored: the catalogue names the product."
            )
            fields["unit_amount"] = StrictIntegerField(
                min_value=0,
                max_value=MAX_AMOUNT,
                required=False,
                help_text="Ignored: the catalogue prices it.",
            )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if get_adapter().prices_lines:
            return {**attrs, "discounts": ()}  # the catalogue decides discounts, as it does prices
        discounts = tuple(Discount(**item) for item in attrs.get("discounts") or [])
        if len(discounts) > MAX_DISCOUNTS:
            raise serializers.ValidationError(
                {"discounts": f"Give at most {MAX_DISCOUNTS} discounts per line."}
            )
        try:
            check_line_discounts(attrs["quantity"] * attrs["unit_amount"], discounts)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"discounts": error.messages}) from error
        return {**attrs, "discounts": discounts}


class PaymentSerializer(serializers.ModelSerializer):
    checkout_url = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "state",
            "status",
            "failure",
            "amount",
            "currency",
            "authorized_amount",
            "captured_amount",
            "refunded_amount",
            "checkout_url",
            "transaction_id",
            "updated_at",
        ]
        read_only_fields = fields

    def get_checkout_url(self, payment: Payment) -> str:
        """The session URL in the request's language (the active Django language)."""
        return get_adapter().checkout_url(payment, get_language())


class OrderSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    order_id = serializers.SerializerMethodField()
    lines = LineSerializer(many=True)
    amount = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()
    checkout_error = serializers.SerializerMethodField()
    phone = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="Customer phone; stored in E.164 (national numbers in the adapter's phone_region).",
    )
    discount_codes = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=10,
        help_text="Discount codes; the adapter turns them into order-level discounts (400 if unknown).",
    )
    discount_lines = serializers.JSONField(source="order_discounts", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "order_id",
            "status",
            "currency",
            "email",
            "phone",
            "discount_codes",
            "discount_lines",
            "lines",
            "amount",
            "payment",
            "checkout_error",
            "created_at",
        ]
        read_only_fields = ["id", "order_id", "status", "amount", "payment", "checkout_error", "created_at"]
        extra_kwargs = {
            "currency": {
                "required": False,
                "help_text": "Optional: the shop decides the currency (DINTERO CURRENCY / CURRENCIES). "
                "Omitted: the shop's default; a currency the shop does not take is a 400.",
            }
        }

    def get_checkout_error(self, order: Order) -> str | None:
        """Why checkout could not be prepared (the last attempt failed), else null."""
        payment = active_payment(order)
        if payment is not None and payment.session_url:
            return None
        return order.remote_error or None

    def get_order_id(self, order: Order) -> str | None:
        """The Dintero order_id, once the order is completed in Dintero."""
        return order.dintero_order_id if order.completed else None

    def get_amount(self, order: Order) -> int:
        return sum(line.amount for line in order.lines.all())

    def get_payment(self, order: Order) -> dict[str, Any] | None:
        payment = active_payment(order)
        return dict(PaymentSerializer(payment).data) if payment else None

    def validate_currency(self, value: str) -> str:
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise serializers.ValidationError(_("Use an ISO 4217 code in capitals, such as NOK."))
        return value

    def validate_phone(self, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return normalise_phone(value, get_adapter().phone_region)
        except InvalidPhone as error:
            raise serializers.ValidationError(str(error)) from error

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not 1 <= len(lines) <= MAX_LINES:
            raise serializers.ValidationError(_("Give between 1 and %(max)d lines.") % {"max": MAX_LINES})
        return lines

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The shop decides the currency (its adapter); the client may only name one it takes."""
        try:
            attrs["currency"] = get_adapter().order_currency(
                attrs.get("currency"), self.context.get("request")
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError({"currency": error.messages}) from None
        return attrs

    def to_line_inputs(self) -> list[LineInput]:
        """The lines as the adapter gets them (a catalogue-priced line may have no
        description or price yet: the adapter fills them in)."""
        return [
            LineInput(**{"description": "", "unit_amount": 0, **line})
            for line in self.validated_data["lines"]
        ]


class CheckoutSerializer(serializers.Serializer):
    restart = serializers.BooleanField(
        default=False, help_text="Replace the current session with a new one (cancels the old one)."
    )
