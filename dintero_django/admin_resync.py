"""Re-sync from Dintero: staff ask for the payment's transaction to be read again now.

It does exactly what a callback or the reconciler does (services.sync.sync_payment):
read the transaction with our own credentials, check it belongs to the payment, and
apply it, or flag the payment if it does not add up. Nothing is sent to Dintero but
a read, so it is safe to press at any time.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from .admin_display import merchant_state
from .exceptions import DinteroError
from .models import Order
from .services.leases import Busy
from .services.retry import RetryLater
from .services.sync import sync_payment

logger = logging.getLogger("dintero_django.admin")

PERMISSION = "dintero_django.change_order"


def resync_view(request: HttpRequest, pk: int, admin_site: Any) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    order = get_object_or_404(Order.objects.prefetch_related("payments"), pk=pk)
    back = HttpResponseRedirect(reverse("admin:dintero_django_order_change", args=[order.pk]))
    payment = order.active_payment
    if payment is None or not (payment.session_id or payment.transaction_id):
        messages.info(request, _("There is nothing at Dintero to read for this order yet."))
        return back
    try:
        payment = sync_payment(payment.pk)
    except (DinteroError, RetryLater, Busy) as error:
        messages.error(request, _("Dintero could not be read now: %(error)s") % {"error": error})
        return back
    logger.info("Payment %s re-synced from Dintero by %s", payment.pk, request.user)
    state = merchant_state(payment)
    if payment.needs_attention:
        messages.warning(
            request,
            _("Read from Dintero: %(state)s, and it still needs attention: %(reason)s")
            % {"state": state.label, "reason": payment.attention_reason},
        )
    else:
        messages.success(request, _("Read from Dintero: %(state)s.") % {"state": state.label})
    return back
