"""Admin for the records around orders (flags, the ledger, callback deliveries) and the
overview's entry in the admin index. Records are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .admin_common import AdminStyle, MoneyFieldsMixin, ReadOnlyMixin, money_column
from .admin_display import operation_outcome
from .models import CallbackDelivery, Operation, PaymentFlag, PaymentsOverview


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
class OperationAdmin(AdminStyle, MoneyFieldsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "kind",
        "outcome",
        "order",
        "amount_display",
        "attempts",
        "created_by",
        "created_at",
    ]
    amount_display = money_column("amount", _("Amount"), "order.currency")
    money_fields = {"amount": "amount_display"}
    list_filter = ["kind", "state"]

    @admin.display(description=_("Outcome"), ordering="state")
    def outcome(self, operation: Operation) -> str:
        label, tone = operation_outcome(operation)
        return format_html('<span class="dintero-state dintero-{}">{}</span>', tone, label)

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
    list_filter = ["outcome", "signature_valid", "signature_stale", "event", "received_at"]
    search_fields = ["transaction_id", "merchant_reference", "event_delivery"]


@admin.register(PaymentsOverview)
class PaymentsOverviewAdmin(admin.ModelAdmin):
    """The overview's entry in the admin index: whoever may view orders may open it."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("dintero_django.view_order")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:dintero_django_overview"))
