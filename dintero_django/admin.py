"""Admin for orders and the records around them. Records are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from .admin_money import MoneyAdminMixin, change_view_context
from .admin_review import clear_flag_view
from .models import CallbackDelivery, Operation, Order, OrderLine, Payment, PaymentFlag


class ReadOnlyMixin:
    """For records: viewable, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = [
        "line_id",
        "product_id",
        "description",
        "type",
        "quantity",
        "unit_amount",
        "vat_percent",
        "amount",
    ]
    readonly_fields = ["amount"]

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
        "state",
        "status",
        "amount",
        "authorized_amount",
        "captured_amount",
        "refunded_amount",
        "transaction_id",
        "needs_attention",
    )
    show_change_link = True


class OperationInline(ReadOnlyMixin, admin.TabularInline):
    model = Operation
    extra = 0
    fields = readonly_fields = (
        "created_at",
        "kind",
        "state",
        "amount",
        "reference",
        "attempts",
        "error_message",
        "created_by",
    )
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> Any:
        # One query for the ledger, not one more per row for who made it.
        return super().get_queryset(request).select_related("created_by")


@admin.register(Order)
class OrderAdmin(MoneyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "currency", "customer", "created_at", "completed"]
    list_filter = ["status", "completed", "currency"]
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
        return super().get_queryset(request).select_related("customer")

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> list[str]:
        fields = [*self.readonly_fields, "guest_key"]  # an ownership secret: never edited
        if obj is not None and obj.status != Order.Status.DRAFT:
            # Dintero holds the order now; the shop's copy follows it.
            fields += ["currency", "email", "customer", "shop_reference"]
        return fields

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
class PaymentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "order",
        "state",
        "status",
        "amount",
        "captured_amount",
        "needs_attention",
    ]
    list_filter = ["state", "status", "needs_attention"]
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


@admin.register(PaymentFlag)
class PaymentFlagAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Flags and the transactions kept apart from the mirror; cleared ones say who and why."""

    list_display = [
        "created_at",
        "payment",
        "kind",
        "reason",
        "transaction_id",
        "seen",
        "cleared_at",
        "cleared_by",
    ]
    list_filter = ["kind", ("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["transaction_id", "payment__order__dintero_order_id", "reason"]
    list_select_related = ["payment", "cleared_by"]


@admin.register(Operation)
class OperationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "kind",
        "state",
        "order",
        "amount",
        "attempts",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "state"]
    search_fields = ["reference", "order__dintero_order_id", "remote_id"]
    list_select_related = ["order", "created_by"]


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "method",
        "transaction_id",
        "merchant_reference",
        "event",
        "outcome",
        "signature_valid",
        "signature_stale",
    ]
    list_filter = ["outcome", "signature_valid", "signature_stale", "event"]
    search_fields = ["transaction_id", "merchant_reference", "event_delivery"]
