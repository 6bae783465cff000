"""Admin for orders and their payments; the records around them are in admin_records."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import admin_records  # noqa: F401  (registers the records' admin pages)
from .admin_common import (
    AdminStyle,
    MoneyFieldsMixin,
    ReadOnlyMixin,
    attention_badge,
    money_column,
    payment_state_badge,
)
from .admin_display import operation_outcome, payment_method
from .admin_filters import AuthorizationAgeFilter, PaymentMethodFilter, PaymentStateFilter
from .admin_money import MoneyAdminMixin, change_view_context
from .admin_overview import overview_view
from .admin_paylink import may_send_link, payment_link_view
from .admin_resync import resync_view
from .admin_review import clear_flag_view
from .models import Operation, Order, OrderLine, Payment, PaymentFlag
from .money_fields import MajorAmountField
from .money_format import format_major_input, format_money


class OrderLineForm(forms.ModelForm):
    """An order line as staff type it: the unit price in kroner (the order's currency)."""

    unit_amount = MajorAmountField(label=_("Unit price"), help_text=_("Incl. VAT, e.g. 199,00."))

    class Meta:
        model = OrderLine
        fields = ["line_id", "product_id", "description", "type", "quantity", "unit_amount", "vat_percent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            currency = self.instance.order.currency
            self.initial["unit_amount"] = format_major_input(self.instance.unit_amount, currency)

    def full_clean(self) -> None:
        # The order (new or not) is known once the formset has added its foreign key field;
        # its currency says how many decimals the typed price may have.
        parent = getattr(self.fields.get("order"), "parent_instance", None)
        field = self.fields["unit_amount"]
        if isinstance(parent, Order) and isinstance(field, MajorAmountField):
            field.currency = parent.currency or "NOK"
        super().full_clean()


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    form = OrderLineForm
    extra = 0
    fields = [
        "line_id",
        "product_id",
        "description",
        "type",
        "quantity",
        "unit_amount",
        "vat_percent",
        "amount_display",
    ]
    readonly_fields = ["amount_display", "unit_display"]
    amount_display = money_column("amount", _("Amount"), "order.currency")
    unit_display = money_column("unit_amount", _("Unit price"), "order.currency")

    def get_extra(self, request: HttpRequest, obj: Order | None = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0  # a new order (pay by link) starts with one empty line

    def get_fields(self, request: HttpRequest, obj: Order | None = None) -> Any:
        if self.has_change_permission(request, obj):
            return self.fields
        return [("unit_display" if f == "unit_amount" else f) for f in self.fields]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("order")  # the currency of each amount

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        # Lines are frozen once the order is placed: Dintero has them.
        return obj is None or obj.status == Order.Status.DRAFT

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


class PaymentInline(ReadOnlyMixin, admin.TabularInline):
    model = Payment
    extra = 0
    fields = readonly_fields = (
        "is_active",
        "merchant_state",
        "method",
        "amount_display",
        "authorized_display",
        "captured_display",
        "refunded_display",
        "transaction_id",
        "attention",
    )
    show_change_link = True
    classes = ["collapse"]
    merchant_state = admin.display(description=_("State"))(lambda self, p: payment_state_badge(p))
    method = admin.display(description=_("Method"))(lambda self, p: payment_method(p.payment_product_type))
    attention = admin.display(description=_("Attention"))(lambda self, p: attention_badge(p))
    amount_display = money_column("amount", _("Amount"))
    authorized_display = money_column("authorized_amount", _("Authorized"))
    captured_display = money_column("captured_amount", _("Captured"))
    refunded_display = money_column("refunded_amount", _("Refunded"))


class OperationInline(ReadOnlyMixin, admin.TabularInline):
    model = Operation
    extra = 0
    fields = readonly_fields = (
        "created_at",
        "kind",
        "outcome",
        "amount_display",
        "reference",
        "attempts",
        "error_message",
        "created_by",
    )
    show_change_link = True
    classes = ["collapse"]

    @admin.display(description=_("Outcome"))
    def outcome(self, operation: Operation) -> str:
        label, tone = operation_outcome(operation)
        return format_html('<span class="dintero-state dintero-{}">{}</span>', tone, label)

    amount_display = money_column("amount", _("Amount"), "order.currency")

    def get_queryset(self, request: HttpRequest) -> Any:
        # One query for the ledger, not one more per row for who made it.
        return super().get_queryset(request).select_related("created_by", "order")


@admin.register(Order)
class OrderAdmin(AdminStyle, MoneyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "payment_column",
        "amount_column",
        "method_column",
        "email",
        "created_at",
        "attention_column",
    ]
    list_filter = [PaymentStateFilter, PaymentMethodFilter, AuthorizationAgeFilter, "currency", "status"]
    fieldsets = [
        (None, {"fields": ["shop_reference", "email", "customer", "currency", "dintero_order_id"]}),
        (
            _("Technical details"),
            {
                "classes": ["collapse"],
                "fields": [
                    "public_id",
                    "status",
                    "completed",
                    "dintero_draft_id",
                    "dintero_order_uuid",
                    "revision",
                    "synced_revision",
                    "guest_key",
                    "remote_error",
                    "created_at",
                    "updated_at",
                    "placed_at",
                ],
            },
        ),
    ]
    search_fields = ["dintero_order_id", "shop_reference", "email", "public_id"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]  # not a <select> of every user account
    readonly_fields = [
        "public_id",
        "status",
        "dintero_draft_id",
        "dintero_order_id",
        "dintero_order_uuid",
        "completed",
        "revision",
        "synced_revision",
        "remote_error",
        "created_at",
        "updated_at",
        "placed_at",
    ]
    inlines = [OrderLineInline, PaymentInline, OperationInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        # The change page shows the customer (read-only once placed): joined, not a query more.
        # The list's payment, amount and method columns read prefetched payments and lines.
        return super().get_queryset(request).select_related("customer").prefetch_related("payments", "lines")

    @admin.display(description=_("Payment"))
    def payment_column(self, order: Order) -> str:
        return payment_state_badge(order.active_payment)

    @admin.display(description=_("Amount"))
    def amount_column(self, order: Order) -> str:
        return format_money(order.amount, order.currency)

    @admin.display(description=_("Payment method"))
    def method_column(self, order: Order) -> str:
        payment = order.active_payment
        return payment_method(payment.payment_product_type) if payment else ""

    @admin.display(description=_("Attention"))
    def attention_column(self, order: Order) -> str:
        return attention_badge(order.active_payment)

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> list[str]:
        fields = [*self.readonly_fields, "guest_key"]  # an ownership secret: never edited
        if obj is not None and obj.status != Order.Status.DRAFT:
            # Dintero holds the order now; the shop's copy follows it.
            fields += ["currency", "email", "customer", "shop_reference"]
        return fields

    def get_urls(self) -> list[URLPattern]:
        overview = path(
            "overview/", self.admin_site.admin_view(self.overview), name="dintero_django_overview"
        )
        link = path(
            "<int:pk>/payment-link/",
            self.admin_site.admin_view(self.payment_link),
            name="dintero_django_order_payment_link",
        )
        resync = path(
            "<int:pk>/resync/",
            self.admin_site.admin_view(self.resync),
            name="dintero_django_order_resync",
        )
        return [overview, link, resync, *super().get_urls()]

    def resync(self, request: HttpRequest, pk: int) -> HttpResponse:
        return resync_view(request, pk, self.admin_site)

    def payment_link(self, request: HttpRequest, pk: int) -> HttpResponse:
        return payment_link_view(request, pk, self.admin_site)

    def overview(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return overview_view(request, self.admin_site)

    actions = ["capture_remaining", "cancel_uncaptured"]
    change_form_template = "admin/dintero_django/order/change_form.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), **change_view_context(self, request, object_id)}
        order = Order.objects.filter(pk=object_id).prefetch_related("payments").first()
        if order is not None and may_send_link(request, order):
            context["payment_link_url"] = reverse("admin:dintero_django_order_payment_link", args=[order.pk])
        return super().change_view(request, object_id, form_url, context)


class PaymentFlagInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentFlag
    extra = 0
    fields = readonly_fields = (
        "created_at",
        "kind",
        "reason",
        "transaction_id",
        "seen",
        "cleared_at",
        "cleared_by",
        "clear_reason",
    )
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("cleared_by")


@admin.register(Payment)
class PaymentAdmin(AdminStyle, MoneyFieldsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "order",
        "merchant_state",
        "method",
        "amount_display",
        "captured_display",
        "attention",
    ]
    merchant_state = admin.display(description=_("State"))(lambda self, p: payment_state_badge(p))
    method = admin.display(description=_("Method"), ordering="payment_product_type")(
        lambda self, p: payment_method(p.payment_product_type)
    )
    attention = admin.display(description=_("Attention"), ordering="needs_attention")(
        lambda self, p: attention_badge(p)
    )
    amount_display = money_column("amount", _("Amount"))
    authorized_display = money_column("authorized_amount", _("Authorized"))
    captured_display = money_column("captured_amount", _("Captured"))
    refunded_display = money_column("refunded_amount", _("Refunded"))
    money_fields = {
        "amount": "amount_display",
        "authorized_amount": "authorized_display",
        "captured_amount": "captured_display",
        "refunded_amount": "refunded_display",
    }
    list_filter = ["state", "status", "payment_product_type", "needs_attention"]
    search_fields = ["transaction_id", "session_id", "order__dintero_order_id"]
    list_select_related = ["order"]
    inlines = [PaymentFlagInline]
    # The (read-only) form still builds a URLField for session_url: say the scheme.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_urls(self) -> list[URLPattern]:
        def view(request: HttpRequest, pk: int) -> HttpResponse:
            return clear_flag_view(self.admin_site, request, pk)

        own = [
            path(
                "<int:pk>/clear-flag/",
                self.admin_site.admin_view(view),
                name="dintero_django_payment_clear_flag",
            )
        ]
        return own + super().get_urls()
