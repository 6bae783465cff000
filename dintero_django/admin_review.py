"""Review a flagged payment and clear its flag, with a reason, audited.

A flag holds a payment back (no capture, refund or cancel, no Orders-API record)
until staff have looked. Clearing needs the ``dintero_django.clear_flag``
permission and a reason; who, when and why are stored on the payment's
:class:`~dintero_django.models.PaymentFlag` rows and shown in the admin. If the
cause is still there, the next sync flags the payment again.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from .models import Payment, PaymentFlag

logger = logging.getLogger("dintero_django.admin")

PERMISSION = "dintero_django.clear_flag"


class ClearFlagForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is it safe to clear this flag?"),
        min_length=10,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=gettext_lazy("Stored with your name and the time, and shown with the payment."),
    )


def clear_flag(payment_pk: int, user: Any, reason: str) -> bool:
    """Clear the payment's flag and audit it; False when it was not flagged (any more)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_pk)
        if not payment.needs_attention:
            return False
        now = timezone.now()
        audit = {"cleared_at": now, "cleared_by": user, "clear_reason": reason}
        open_flags = PaymentFlag.objects.filter(
            payment=payment, kind=PaymentFlag.Kind.FLAG, cleared_at__isnull=True
        )
        if not open_flags.update(**audit):
            # Flagged before flags had their own rows: the clearing is audited all the same.
            PaymentFlag.objects.create(payment=payment, reason=payment.attention_reason, **audit)
        payment.needs_attention = False
        payment.attention_reason = ""
        payment.save(update_fields=["needs_attention", "attention_reason", "updated_at"])
    logger.info("Payment %s: flag cleared by %s: %s", payment_pk, user, reason)
    return True


def clear_flag_view(admin_site: Any, request: HttpRequest, pk: int) -> HttpResponse:
    """The review page: the flag's reasons and transactions, and a form to clear it."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    payment = get_object_or_404(Payment.objects.select_related("order"), pk=pk)
    back = reverse("admin:dintero_django_order_change", args=[payment.order_id])
    if not payment.needs_attention:
        messages.info(request, gettext("Payment %(payment)s is not flagged.") % {"payment": payment})
        return HttpResponseRedirect(back)
    form = ClearFlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        clear_flag(payment.pk, request.user, form.cleaned_data["reason"])
        messages.success(
            request,
            gettext("The flag on payment %(payment)s was cleared. The reconciler takes it from here.")
            % {"payment": payment},
        )
        return HttpResponseRedirect(back)
    context = {
        **admin_site.each_context(request),
        "title": gettext("Review the flag on payment %(payment)s") % {"payment": payment},
        "payment": payment,
        "flags": payment.flags.select_related("cleared_by").order_by("-created_at")[:20],
        "form": form,
        "change_url": back,
        "opts": Payment._meta,
    }
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "admin/dintero_django/payment/clear_flag.html", context, status=status)
