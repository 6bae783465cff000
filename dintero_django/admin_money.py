"""Capture, Refund and Cancel in the Django admin: buttons, confirmation pages, actions.

Every operation goes through :mod:`dintero_django.services.money`, so the
admin follows the same protocol as the REST API and tasks: each click is one
recorded operation, a second click while one is open is refused, and the
outcome is shown as a message (never a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .exceptions import DinteroError, PaymentError
from .forms import MoneyOperationForm
from .models import Operation, Order, Payment
from .services import money
from .services.balances import line_balances

Kind = Operation.Kind
PERMISSION: dict[str, str] = {
    Kind.CAPTURE: "dintero_django.capture_payment",
    Kind.REFUND: "dintero_django.refund_payment",
    Kind.VOID: "dintero_django.cancel_payment",
}
VERB: dict[str, str] = {Kind.CAPTURE: "capture", Kind.REFUND: "refund", Kind.VOID: "cancel"}


def describe(operation: Operation) -> tuple[int, str]:
    """The admin message level and text for an operation's outcome."""
    verb = VERB[operation.kind]
    what = (
        f"{operation.order}: {verb} of {operation.amount} {operation.payment and operation.payment.currency}"
    )
    if operation.state == Operation.State.SUCCEEDED:
        return messages.SUCCESS, f"{what} succeeded (reference {operation.reference})."
    if operation.state == Operation.State.ACCEPTED:
        return (
            messages.INFO,
            f"{what} was accepted by Dintero and is being completed (reference {operation.reference}).",
        )
    if operation.state == Operation.State.UNKNOWN:
        return (
            messages.WARNING,
            f"{what}: Dintero's answer was lost. It will be settled by reading the transaction, never by "
            f"sending it again (reference {operation.reference}).",
        )
    return messages.ERROR, f"{what} failed: {operation.error_message or operation.state}."


class MoneyAdminMixin:
    """Mixed into OrderAdmin: URLs, views, buttons and bulk actions."""

    admin_site: admin.AdminSite
    message_user: Callable[..., None]

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        own = [
            path("<int:pk>/capture/", self._view(Kind.CAPTURE), name="dintero_django_order_capture"),
            path("<int:pk>/refund/", self._view(Kind.REFUND), name="dintero_django_order_refund"),
            path("<int:pk>/cancel/", self._view(Kind.VOID), name="dintero_django_order_cancel"),
        ]
        return own + urls

    def _view(self, kind: str) -> Callable[..., HttpResponse]:
        def view(request: HttpRequest, pk: int) -> HttpResponse:
            return self.money_view(request, pk, kind)

        return self.admin_site.admin_view(view)

    # -- buttons -------------------------------------------------------------

    def money_buttons(self, request: HttpRequest, order: Order) -> list[dict[str, str]]:
        payment = order.active_payment
        if payment is None or payment.state != Payment.State.AUTHORIZED:
            return []
        possible = {
            Kind.CAPTURE: payment.capturable > 0,
            Kind.REFUND: payment.refundable > 0,
            Kind.VOID: payment.captured_amount == 0,
        }
        return [
            {
                "label": VERB[kind].title(),
                "url": reverse(f"admin:dintero_django_order_{VERB[kind]}", args=[order.pk]),
            }
            for kind, ok in possible.items()
            if ok and request.user.has_perm(PERMISSION[kind])
        ]

    # -- the confirmation page -----------------------------------------------------

    def money_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        if not request.user.has_perm(PERMISSION[kind]):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.prefetch_related("lines", "payments"), pk=pk)
        change_url = reverse("admin:dintero_django_order_change", args=[order.pk])
        payment = order.active_payment
        if payment is None or payment.state != Payment.State.AUTHORIZED:
            self.message_user(request, f"{order} has no authorized payment.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        balances = line_balances(payment)
        form = None
        if kind != Kind.VOID:
            form = MoneyOperationForm(
                request.POST or None,
                kind=kind,
                balances=balances,
                payment_product_type=payment.payment_product_type,
            )
        if request.method == "POST" and (form is None or form.is_valid()):
            return self._perform(request, payment, kind, form, change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{VERB[kind].title()} payment for order {order}",
            "order": order,
            "payment": payment,
            "balances": balances,
            "form": form,
            "kind": kind,
            "verb": VERB[kind],
            "change_url": change_url,
            "opts": Order._meta,
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(
            request, "admin/dintero_django/order/money_operation.html", context, status=status
        )

    def _perform(
        self,
        request: HttpRequest,
        payment: Payment,
        kind: str,
        form: MoneyOperationForm | None,
        change_url: str,
    ) -> HttpResponse:
        data = form.cleaned_data if form else {}
        try:
            if kind == Kind.CAPTURE:
                operation = money.capture(
                    payment.pk,
                    amount=data.get("amount"),
                    quantities=data.get("quantities"),
                    user=request.user,
                )
            elif kind == Kind.REFUND:
                operation = money.refund(
                    payment.pk,
                    amount=data.get("amount"),
                    quantities=data.get("quantities"),
                    reason=data.get("reason", ""),
                    user=request.user,
                )
            else:
                operation = money.cancel(payment.pk, user=request.user)
        except PaymentError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(change_url)
        except DinteroError as error:
            self.message_user(request, f"Dintero could not be reached: {error.message}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        level, text = describe(operation)
        self.message_user(request, text, level)
        return HttpResponseRedirect(change_url)

    # -- bulk actions ------------------------------------------------------------

    def has_capture_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION[Kind.CAPTURE])

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION[Kind.VOID])

    @admin.action(description="Capture the remaining amount", permissions=["capture"])
    def capture_remaining(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._bulk(request, queryset, Kind.CAPTURE)

    @admin.action(description="Cancel (void) uncaptured payments", permissions=["cancel"])
    def cancel_uncaptured(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._bulk(request, queryset, Kind.VOID)

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Order], kind: str) -> None:
        """One operation and one message per order; safe to run again."""
        for order in queryset.prefetch_related("payments"):
            payment = order.active_payment
            if payment is None or payment.state != Payment.State.AUTHORIZED:
                self.message_user(request, f"{order}: no authorized payment, skipped.", messages.WARNING)
                continue
            if kind == Kind.CAPTURE and payment.capturable == 0:
                self.message_user(request, f"{order}: nothing left to capture.", messages.INFO)
                continue
            try:
                operation = (
                    money.capture(payment.pk, user=request.user)
                    if kind == Kind.CAPTURE
                    else money.cancel(payment.pk, user=request.user)
                )
            except (PaymentError, DinteroError) as error:
                self.message_user(request, f"{order}: {error}", messages.ERROR)
                continue
            level, text = describe(operation)
            self.message_user(request, text, level)


def change_view_context(admin_obj: Any, request: HttpRequest, object_id: str | None) -> dict[str, Any]:
    """Extra context for the order change page: the money buttons and balances."""
    if not object_id:
        return {}
    order = Order.objects.filter(pk=object_id).prefetch_related("payments").first()
    if order is None:
        return {}
    payment = order.active_payment
    return {
        "money_buttons": admin_obj.money_buttons(request, order),
        "money_payment": payment,
    }
