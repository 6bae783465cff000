"""What the admin's pages share: money columns, badges, the read-only mixin, the stylesheet."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .admin_display import merchant_state
from .models import Payment
from .money_format import format_money


def money_column(field: str, label: Any, currency_of: str = "currency") -> Any:
    """A list/inline column showing a minor-units field in major units for the active language."""

    @admin.display(description=label, ordering=field)
    def column(self: Any, obj: Any) -> str:
        currency: Any = obj
        for part in currency_of.split("."):
            currency = getattr(currency, part, None) if currency is not None else None
        return format_money(getattr(obj, field), str(currency or "NOK"))

    column.__name__ = f"{field}_display"
    return column


class ReadOnlyMixin:
    """For records: viewable, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.display(description=_("Payment"))
def payment_state_badge(payment: Payment | None) -> str:
    state = merchant_state(payment)
    return format_html(
        '<span class="dintero-state dintero-{}" data-state="{}" title="{}">{}</span>',
        state.tone,
        state.key,
        state.detail,
        state.label,
    )


def attention_badge(payment: Payment | None) -> str:
    """Blank when all is well (no red cross); a warning sign and the reason when not."""
    if payment is None or not payment.needs_attention:
        return ""
    return format_html(
        '<span class="dintero-attention" title="{}">⚠ {}</span>',
        payment.attention_reason,
        _("Needs attention"),
    )


class AdminStyle:
    """The badges and timeline styles (one static stylesheet, no JavaScript)."""

    class Media:
        css = {"all": ["dintero_django/admin.css"]}


class MoneyFieldsMixin:
    """On read-only change pages, amounts in major units in place of the raw minor-unit fields."""

    money_fields: dict[str, str] = {}  # model field -> its money_column attribute

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*fields, *(v for v in self.money_fields.values() if v not in fields)]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [self.money_fields.get(f, f) for f in super().get_fields(request, obj)]  # type: ignore[misc]
        return list(dict.fromkeys(fields))
