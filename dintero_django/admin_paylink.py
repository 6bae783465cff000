"""Pay by link in the admin: staff create an order (phone sales, B2B), then a checkout
link that expires, shown to copy and optionally e-mailed to the customer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .exceptions import DinteroError, PaymentError
from .models import Order
from .services.checkout import NotReady
from .services.paylink import create_payment_link, send_payment_link

PERMISSION = "dintero_django.send_payment_link"
LIFETIMES = [(24, gettext_lazy("1 day")), (72, gettext_lazy("3 days")), (168, gettext_lazy("7 days"))]


class PaymentLinkForm(forms.Form):
    hours = forms.TypedChoiceField(
        label=gettext_lazy("The link expires after"), choices=LIFETIMES, coerce=int, initial=72
    )
    email = forms.EmailField(
        label=gettext_lazy("E-mail it to"),
        required=False,
        help_text=gettext_lazy("Leave empty to copy the link yourself."),
    )


def may_send_link(request: HttpRequest, order: Order) -> bool:
    payment = order.active_payment
    settled = payment is not None and payment.state in ("pending", "authorized", "voided")
    return request.user.has_perm(PERMISSION) and not settled and order.status != Order.Status.CANCELLED


def payment_link_view(request: HttpRequest, pk: int, admin_site: Any) -> HttpResponse:
    order = get_object_or_404(Order.objects.prefetch_related("payments", "lines"), pk=pk)
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    change_url = reverse("admin:dintero_django_order_change", args=[order.pk])
    form = PaymentLinkForm(request.POST or None, initial={"email": order.email})
    problem = _problem(order)
    if request.method == "POST" and not problem and form.is_valid():
        return _create(request, order, form.cleaned_data, change_url)
    context = {
        **admin_site.each_context(request),
        "title": _("Payment link for order %(order)s") % {"order": order},
        "order": order,
        "form": form,
        "problem": problem,
        "change_url": change_url,
        "opts": Order._meta,
    }
    return TemplateResponse(request, "admin/dintero_django/order/payment_link.html", context)


def _problem(order: Order) -> str:
    if not order.lines.all():
        return _("Add order lines first: the link asks for their total.")
    payment = order.active_payment
    if payment is not None and payment.state in ("pending", "authorized", "voided"):
        return _("This order is already paid or being paid.")
    return ""


def _create(request: HttpRequest, order: Order, data: dict[str, Any], change_url: str) -> HttpResponse:
    try:
        payment = create_payment_link(order.pk, hours=data["hours"], user=request.user)
    except NotReady:
        messages.warning(request, _("Dintero has not completed the order yet; try again in a moment."))
        return HttpResponseRedirect(change_url)
    except PaymentError as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(change_url)
    except DinteroError as error:
        messages.error(request, _("Dintero could not be reached: %(error)s") % {"error": error.message})
        return HttpResponseRedirect(change_url)
    messages.success(request, _("Payment link created: %(url)s") % {"url": payment.session_url})
    if data.get("email"):
        send_payment_link(payment, data["email"])
        messages.success(request, _("Sent to %(email)s.") % {"email": data["email"]})
    return HttpResponseRedirect(change_url)
