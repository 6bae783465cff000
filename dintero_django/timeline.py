"""One payment timeline per order: what happened, in time order, from the stored records.

Sources: the order row, each checkout attempt (Payment) and the transaction events
Dintero returned for it, every ledger row (Operation: pushes, sessions, money
operations, Orders-API records, moves adopted from the Backoffice) and every callback
delivery. Each entry links to the stored record it was read from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .admin_display import merchant_state, operation_outcome, payment_method
from .conf import get_settings
from .models import CallbackDelivery, Operation, Order, Payment, PaymentFlag, ReturnVisit

Kind = Operation.Kind


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    title: str
    state: str = ""
    tone: str = "off"  # ok / wait / warn / off, as the badges
    amount: int | None = None
    currency: str = ""
    link: str = ""  # the stored record (admin page)
    detail: str = ""
    kind: str = ""  # stable, for tests and CSS


def backoffice_url(payment: Payment) -> str:
    """Dintero's Backoffice page of the transaction (the pattern Dintero's plugins link to)."""
    if not payment.transaction_id:
        return ""
    conf = get_settings()
    account = payment.transaction_id.split(".", 1)[0] or conf.ACCOUNT_ID
    base = conf.BACKOFFICE_URL.rstrip("/")
    return f"{base}/{account}/payments/transactions/{payment.transaction_id}"


def order_timeline(order: Order) -> list[Entry]:
    """Every entry of the order, oldest first.

    A query each: payments, operations, callbacks, flags and return visits.
    """
    payments = list(order.payments.all())
    operations = list(order.operations.select_related("created_by"))
    callbacks = list(CallbackDelivery.objects.filter(payment__order=order))
    flags = list(PaymentFlag.objects.filter(payment__order=order).select_related("cleared_by"))
    entries = [*_order_entries(order), *(_return_entry(visit) for visit in order.return_visits.all())]
    for payment in payments:
        entries += _payment_entries(payment)
        entries += _flag_entries(payment, [f for f in flags if f.payment_id == payment.pk])
    entries += [_operation_entry(op, order) for op in operations]
    entries += [_callback_entry(cb) for cb in callbacks]
    return sorted(entries, key=lambda e: e.at)


def _admin(model: str, pk: Any) -> str:
    return reverse(f"admin:dintero_django_{model}_change", args=[pk])


def _order_entries(order: Order) -> list[Entry]:
    who = order.customer.get_username() if order.customer_id and order.customer else _("Customer")
    entries = [Entry(order.created_at, who, _("Order created"), kind="order_created")]
    if order.placed_at:
        entries.append(
            Entry(order.placed_at, who, _("Order placed"), amount=order.amount, currency=order.currency)
        )
    return entries


def _payment_entries(payment: Payment) -> list[Entry]:
    link = _admin("payment", payment.pk)
    state = merchant_state(payment)
    method = payment_method(payment.payment_product_type)
    entries = [
        Entry(
            payment.created_at,
            _("Customer"),
            _("Checkout attempt started"),
            state=state.label,
            tone=state.tone,
            amount=payment.amount,
            currency=payment.currency,
            link=link,
            detail=method,
            kind="attempt",
        )
    ]
    if payment.link_created_by_id and payment.session_url:
        who = payment.link_created_by.get_username() if payment.link_created_by else _("Staff")
        expires = localtime(payment.expires_at) if payment.expires_at else None
        entries.append(
            Entry(
                payment.created_at,
                who,
                _("Payment link created, expires %(at)s")
                % {"at": date_format(expires, "SHORT_DATETIME_FORMAT") if expires else "?"},
                link=payment.session_url,
                detail=payment.session_url,
                kind="payment_link",
            )
        )
    if payment.link_sent_at:
        entries.append(
            Entry(
                payment.link_sent_at,
                _("Staff"),
                _("Payment link e-mailed to %(email)s") % {"email": payment.link_sent_to},
                link=link,
                kind="payment_link_sent",
            )
        )
    for event in (payment.raw or {}).get("events") or []:
        at = parse_datetime(str(event.get("created_at") or ""))
        if at is None:
            continue
        entries.append(
            Entry(
                at,
                "Dintero" + (f" ({event['created_by']})" if event.get("created_by") else ""),
                _("Transaction event %(event)s") % {"event": event.get("event", "?")},
                state=str(event.get("transaction_status") or ""),
                tone="ok" if event.get("success") else "warn",
                amount=event.get("amount"),
                currency=payment.currency,
                link=link,
                detail=method,
                kind="event",
            )
        )
    return entries


_TITLES = {
    Kind.CREATE_DRAFT: gettext_noop("Draft pushed to Dintero"),
    Kind.UPDATE_DRAFT: gettext_noop("Draft updated in Dintero"),
    Kind.COMPLETE_ORDER: gettext_noop("Order completed in Dintero"),
    Kind.CREATE_SESSION: gettext_noop("Checkout session created"),
    Kind.CANCEL_SESSION: gettext_noop("Earlier checkout session cancelled"),
    Kind.RECORD_AUTHORIZATION: gettext_noop("Authorization recorded (Orders API)"),
    Kind.CAPTURE: gettext_noop("Capture"),
    Kind.RECORD_CAPTURE: gettext_noop("Capture recorded (Orders API)"),
    Kind.REFUND: gettext_noop("Refund"),
    Kind.RECORD_REFUND: gettext_noop("Refund recorded (Orders API)"),
    Kind.VOID: gettext_noop("Authorization cancelled (void)"),
    Kind.RECORD_CANCELLATION: gettext_noop("Cancellation recorded (Orders API)"),
}


def _operation_entry(operation: Operation, order: Order) -> Entry:
    adopted = operation.reference.startswith("dx-")
    title = _(_TITLES[Kind(operation.kind)])
    if adopted:
        title = _("%(what)s made in Dintero's Backoffice, adopted") % {"what": title}
    if operation.kind == Kind.COMPLETE_ORDER and order.dintero_order_id:
        title = f"{title} ({order.dintero_order_id})"
    label, tone = operation_outcome(operation)
    money = operation.kind in Operation.MONEY_KINDS
    return Entry(
        operation.created_at,
        operation.created_by.get_username()
        if operation.created_by
        else (_("Dintero") if adopted else _("System")),
        title,
        state=label,
        tone=tone,
        amount=operation.amount if money else None,
        currency=order.currency,
        link=_admin("operation", operation.pk),
        detail=" · ".join(x for x in (operation.reason, operation.error_message) if x),
        kind=f"operation-{operation.kind}",
    )


def _callback_entry(callback: CallbackDelivery) -> Entry:
    tone = "warn" if callback.outcome in ("rejected", "unknown_order") else "off"
    return Entry(
        callback.received_at,
        _("Dintero callback"),
        _("Callback %(event)s") % {"event": callback.event or callback.method},
        state=callback.get_outcome_display(),
        tone=tone,
        link=_admin("callbackdelivery", callback.pk),
        kind="callback",
    )


def _return_entry(visit: ReturnVisit) -> Entry:
    # The return URL is anyone's to open: the entry says what it reported, not what happened.
    return Entry(
        visit.received_at,
        _("Customer"),
        _("Returned from Dintero's payment page"),
        state=_("reported: %(error)s") % {"error": visit.error} if visit.error else "",
        detail=_("The return URL was opened (unverified); the payment's state comes from our own read."),
        kind="customer_returned",
    )


def _flag_entries(payment: Payment, flags: list[PaymentFlag]) -> list[Entry]:
    """Flags raised (why), cleared (by whom, why), and hints that named another transaction."""
    link = _admin("payment", payment.pk)
    entries: list[Entry] = []
    for flag in flags:
        flag_link = _admin("paymentflag", flag.pk)
        if flag.kind != PaymentFlag.Kind.FLAG:
            entries.append(
                Entry(
                    flag.created_at,
                    _("System"),
                    _("A hint named another transaction: ignored"),
                    state=_("Kept apart"),
                    link=flag_link,
                    detail=flag.transaction_id,
                    kind="foreign_hint",
                )
            )
            continue
        entries.append(
            Entry(
                flag.created_at,
                _("System"),
                _("Flag raised: needs attention"),
                state=_("Open") if flag.is_open else _("Cleared"),
                tone="warn" if flag.is_open else "off",
                link=flag_link,
                detail=flag.reason,
                kind="flag",
            )
        )
        if flag.cleared_at:
            entries.append(
                Entry(
                    flag.cleared_at,
                    flag.cleared_by.get_username() if flag.cleared_by else _("Staff"),
                    _("Flag reviewed and cleared"),
                    state=_("Cleared"),
                    tone="ok",
                    link=flag_link,
                    detail=flag.clear_reason,
                    kind="flag_cleared",
                )
            )
    if payment.needs_attention and not any(f.is_open for f in flags):
        # Flagged before flags had rows of their own: the payment's reason is all there is.
        entries.append(
            Entry(
                payment.updated_at,
                _("System"),
                _("Flag raised: needs attention"),
                state=_("Open"),
                tone="warn",
                link=link,
                detail=payment.attention_reason,
                kind="flag",
            )
        )
    return entries
