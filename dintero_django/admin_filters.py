"""List filters on an order's active payment: its merchant state and its payment method."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .admin_display import STATE_QUERIES, payment_method, state_choices
from .conf import get_settings
from .models import Order, Payment


def _active(**query: Any) -> Exists:
    return Exists(Payment.objects.filter(order=OuterRef("pk"), is_active=True, **query))


class PaymentStateFilter(admin.SimpleListFilter):
    title = _("payment")
    parameter_name = "payment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return state_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order] | None:
        query = STATE_QUERIES.get(self.value() or "")
        if query is None:
            return None
        return queryset.filter(Exists(Payment.objects.filter(query, order=OuterRef("pk"), is_active=True)))


class PaymentMethodFilter(admin.SimpleListFilter):
    title = _("payment method")
    parameter_name = "method"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        types = (
            Payment.objects.exclude(payment_product_type="")
            .order_by("payment_product_type")
            .values_list("payment_product_type", flat=True)
            .distinct()
        )
        return [(t, f"{payment_method(t)} ({t})") for t in types]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order] | None:
        if not self.value():
            return None
        return queryset.filter(_active(payment_product_type=self.value()))


class AuthorizationAgeFilter(admin.SimpleListFilter):
    """Orders whose active payment was authorized more than N days ago (the overview's age rows)."""

    title = _("authorized more than")
    parameter_name = "older_than_days"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        warn = get_settings().AUTHORIZATION_WARN_DAYS
        days = sorted({1.0, 3.0, float(warn)})
        return [(f"{d:g}", _("%(days)s days ago") % {"days": f"{d:g}"}) for d in days]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order] | None:
        try:
            days = float(self.value() or "")
        except ValueError:
            return None
        since = timezone.now() - timedelta(days=days)
        return queryset.filter(_active(created_at__lt=since))
