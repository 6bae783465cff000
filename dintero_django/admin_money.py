"""Capture, Refund and Cancel in the Django admin: buttons, confirmation pages, actions.

Every operation goes through :mod:`dintero_django.services.money`, so the
admin follows the same protocol as the REST API and tasks: each click is one
recorded operation, a second click while one is open is refused, and the
outcome is shown as a message (never a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, gettext_lazy

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from .admin_display import VERB_TEXT, merchant_state, open_to_capture, open_to_refund, payment_method
from .exceptions import DinteroError, PaymentError
from .forms import MoneyOperationForm
from .models import Operation, Order, Payment
from .money_format import format_money
from .services import money
from .services.balances import line_balances
from .timeline import backoffice_url, order_timeline

Kind = Operation.Kind
PERMISSION: dict[str, str] = {
    Kind.CAPTURE: "dintero_django.capture_payment",
    Kind.REFUND: "dintero_django.refund_payment",
    Kind.VOID: "dintero_django.cancel_payment",
}
#: The field of the review step's submit button: only a POST carrying it moves money.
CONFIRMED = "confirmed"
VERB: dict[str, str] = {Kind.CAPTURE: "capture", Kind.REFUND: "refund", Kind.VOID: "cancel"}
#: The buttons' words (VERB stays the URL and test id).
BUTTON_TEXT: dict[str, StrOrPromise] = {
    Kind.CAPTURE: gettext_lazy("Capture"),
    Kind.REFUND: gettext_lazy("Refund"),
    Kind.VOID: gettext_lazy("Cancel"),
}
FLAG_PERMISSION = "dintero_django.clear_flag"


def describe(operation: Operation) -> tuple[int, str]:
    """The admin message level and text for an operation's outcome."""
    currency = operation.payment.currency if operation.payment else operation.order.currency
    what = gettext("%(order)s: %(verb)s of %(amount)s") % {
        "order": operation.order,
        "verb": VERB_TEXT[operation.kind],
        "amount": format_money(operation.amount, currency),
    }
    values = {"what": what, "reference": operation.reference}
    follow_up = money.follow_up(operation)
    if operation.state == Operation.State.SUCCEEDED:
        text = gettext("%(what)s succeeded (reference %(reference)s).") % values
        return messages.SUCCESS, f"{text} {follow_up}".strip()
    if follow_up:  # sent, and a step after Dintero's answer is left to the reconciler
        return messages.WARNING, f"{what}: {follow_up} (reference {operation.reference})"
    if operation.state == Operation.State.ACCEPTED:
        return (
            messages.INFO,
            gettext("%(what)s was accepted by Dintero and is being completed (reference %(reference)s).")
            % values,
        )
    if operation.state == Operation.State.UNKNOWN:
        return (
            messages.WARNING,
            gettext(
                "%(what)s: Dintero's answer was lost. It will be settled by reading the transaction, "
                "never by sending it again (reference %(reference)s)."
            )
            % values,
        )
    return messages.ERROR, gettext("%(what)s failed: %(error)s.") % {
        "what": what,
        "error": operation.error_message or operation.get_state_display(),
    }


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
        """The buttons this user may press; ``disabled`` says why one cannot be pressed now."""
        payment = order.active_payment
        if payment is None or payment.state != Payment.State.AUTHORIZED:
            return []
        possible = {
            Kind.CAPTURE: payment.capturable > 0,
            Kind.REFUND: payment.refundable > 0,
            Kind.VOID: payment.captured_amount == 0,
        }
        blocked = why_blocked(payment)
        return [
            {
                "key": VERB[kind],
                "label": str(BUTTON_TEXT[kind]),
                "url": reverse(f"admin:dintero_django_order_{VERB[kind]}", args=[order.pk]),
                "disabled": blocked,
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
            self.message_user(
                request, gettext("%(order)s has no authorized payment.") % {"order": order}, messages.ERROR
            )
            return HttpResponseRedirect(change_url)
        balances = line_balances(payment)
        form = None
        if kind != Kind.VOID:
            form = MoneyOperationForm(
                request.POST or None,
                kind=kind,
                balances=balances,
                currency=payment.currency,
                payment_product_type=payment.payment_product_type,
            )
        valid = request.method == "POST" and (form is None or form.is_valid())
        if valid and (form is None or CONFIRMED in request.POST):
            return self._perform(request, payment, kind, form, change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("%(action)s: order %(order)s") % {"action": BUTTON_TEXT[kind], "order": order},
            "order": order,
            "payment": payment,
            "balances": balances,
            "form": form,
            "kind": kind,
            "verb": VERB_TEXT[kind],
            "change_url": change_url,
            "opts": Order._meta,
            # A valid form is shown back once, read-only, with the amount in words: nothing
            # is sent until the clerk confirms what they read.
            "review_amount": form.total() if valid and form is not None else None,
            "confirmed_field": CONFIRMED,
        }
        status = 400 if request.method == "POST" and not valid else 200
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
            self.message_user(
                request,
                gettext("Dintero could not be reached: %(error)s") % {"error": error.message},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        level, text = describe(operation)
        self.message_user(request, text, level)
        return HttpResponseRedirect(change_url)

    # -- bulk actions ------------------------------------------------------------

    def has_capture_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION[Kind.CAPTURE])

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION[Kind.VOID])

    @admin.action(description=gettext_lazy("Capture the remaining amount"), permissions=["capture"])
    def capture_remaining(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._bulk(request, queryset, Kind.CAPTURE)

    @admin.action(description=gettext_lazy("Cancel (void) uncaptured payments"), permissions=["cancel"])
    def cancel_uncaptured(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._bulk(request, queryset, Kind.VOID)

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Order], kind: str) -> None:
        """One operation and one message per order; safe to run again."""
        for order in queryset.prefetch_related("payments"):
            payment = order.active_payment
            if payment is None or payment.state != Payment.State.AUTHORIZED:
                self.message_user(
                    request,
                    gettext("%(order)s: no authorized payment, skipped.") % {"order": order},
                    messages.WARNING,
                )
                continue
            if kind == Kind.CAPTURE and payment.capturable == 0:
                self.message_user(
                    request, gettext("%(order)s: nothing left to capture.") % {"order": order}, messages.INFO
                )
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


def why_blocked(payment: Payment) -> str:
    """Why no capture, refund or cancel can start now ('' when one can).

    The same two refusals the money service makes (services.intent.check_payment),
    said before the click: a flag staff must clear, or an operation still open
    (pending, accepted with 202, or unknown until it is read back).
    """
    if payment.needs_attention:
        return gettext("The payment needs attention: review and clear its flag first (%(reason)s).") % {
            "reason": payment.attention_reason[:200]
        }
    open_operation = (
        Operation.objects.filter(payment=payment, kind__in=money.MONEY_KINDS, state__in=Operation.OPEN_STATES)
        .order_by("-pk")
        .first()
    )
    if open_operation is None:
        return ""
    return gettext(
        "The %(verb)s %(reference)s is %(state)s; no new operation can start until it is settled "
        "(it is read back from Dintero, never sent again)."
    ) % {
        "verb": VERB[open_operation.kind],
        "reference": open_operation.reference,
        "state": open_operation.get_state_display().lower(),
    }


def change_view_context(admin_obj: Any, request: HttpRequest, object_id: str | None) -> dict[str, Any]:
    """Extra context for the order change page: the money buttons and balances."""
    if not object_id:
        return {}
    order = Order.objects.filter(pk=object_id).select_related("customer").prefetch_related("payments").first()
    if order is None:
        return {}
    payment = order.active_payment
    buttons = admin_obj.money_buttons(request, order)
    return {
        "money_buttons": buttons,
        "money_blocked": next((button["disabled"] for button in buttons if button["disabled"]), ""),
        "money_payment": payment,
        "can_clear_flag": request.user.has_perm(FLAG_PERMISSION),
        "merchant_state": merchant_state(payment),
        "payment_method": payment_method(payment.payment_product_type) if payment else "",
        # After a void nothing is left to capture, whatever was once authorized.
        "open_to_capture": open_to_capture(payment) if payment else 0,
        "open_to_refund": open_to_refund(payment) if payment else 0,
        "timeline": order_timeline(order),
        "backoffice_url": backoffice_url(payment) if payment else "",
    }
