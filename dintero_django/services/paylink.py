"""Pay by link: staff start a checkout for an order and send the customer its link.

The link is Dintero's own session URL (the hosted payment page), with the session's
``expires_at`` set (spec: Session.expires_at), so it stops working at the time shown
to the customer. It is sent with Django's mail; Dintero's ``publish`` (SMS/push,
spec: PublishConfiguration) is not used: it needs a phone number and configuration
the shop may not have.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.mail import send_mail
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ..models import Order, Payment
from ..money_format import format_money
from .checkout import start_checkout

#: Longest link lifetime staff may choose (authorizations need capturing within days anyway).
MAX_HOURS = 30 * 24


def create_payment_link(order_pk: int, *, hours: int, user: Any = None) -> Payment:
    """A new checkout session for the order, expiring in ``hours``; the previous one is cancelled."""
    if not 1 <= hours <= MAX_HOURS:
        raise ValueError(f"hours must be between 1 and {MAX_HOURS}")
    expires_at = (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)  # as Dintero shows it
    payment = start_checkout(order_pk, restart=True, expires_at=expires_at)
    Payment.objects.filter(pk=payment.pk).update(link_created_by=user)
    payment.link_created_by = user
    return payment


def send_payment_link(payment: Payment, to: str) -> None:
    """E-mail the link (called after the session exists, outside any transaction)."""
    order: Order = payment.order
    values = {
        "order": order,
        "amount": format_money(payment.amount, payment.currency),
        "url": payment.session_url,
        # In the sender's language and the site's time zone, as the customer will read it.
        "expires": date_format(timezone.localtime(payment.expires_at), "DATETIME_FORMAT")
        if payment.expires_at
        else "",
    }
    subject = _("Payment for order %(order)s") % values
    body = (
        _(
            "Hello,\n\nPlease pay %(amount)s for order %(order)s here:\n%(url)s\n\n"
            "The link works until %(expires)s.\n"
        )
        % values
    )
    send_mail(subject, body, None, [to])
    Payment.objects.filter(pk=payment.pk).update(link_sent_to=to, link_sent_at=timezone.now())
