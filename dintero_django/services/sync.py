"""Sync a payment from Dintero: the callback is a doorbell, the transaction is the letter.

Nothing from a callback is trusted: the transaction is read with our own
credentials and cross-checked against the local order before any state moves.
Running this twice, concurrently, or in any order gives the same result.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import signals
from ..client import CheckoutClient
from ..conf import get_settings
from ..exceptions import DinteroNotFound
from ..models import PAID_STATUSES, CallbackDelivery, Payment
from .announce import announce_on_commit
from .mirror import apply_transaction, trim
from .records import adopt_external_moves, record_authorization
from .retry import RetryLater

logger = logging.getLogger("dintero_django.sync")

#: A transaction id we are willing to put into an outgoing URL.
TRANSACTION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def sync_payment(
    payment_pk: int, transaction_hint: str | None = None, event_id: str | None = None
) -> Payment:
    """Read the payment's transaction from Dintero and apply it locally.

    ``event_id`` (from an event callback): nothing is read if that event is already
    applied, typically our own capture, refund or void, applied from its answer.
    """
    Payment.objects.filter(pk=payment_pk).update(sync_pending=False)
    payment = Payment.objects.select_related("order").get(pk=payment_pk)
    if event_id and _event_applied(payment, event_id):
        return payment
    tx = _read_transaction(payment, transaction_hint)
    if tx is None:
        return _without_transaction(payment)
    problem = mismatch(payment, tx)
    if problem:
        return flag(payment, problem, raw=trim(tx))
    payment = apply_transaction(payment.pk, tx)
    if payment.state == Payment.State.AUTHORIZED and payment.is_active:
        record_authorization(payment)
        adopt_external_moves(payment)
    if payment.state == Payment.State.PENDING:
        _poll_again(payment)
    return payment


# -- reading ---------------------------------------------------------------


def _event_applied(payment: Payment, event_id: str) -> bool:
    """The announced event is in the transaction last applied, and no later callback (which
    this sync may stand for) announced anything else: reading again would change nothing."""
    if not any(str(event.get("id")) == event_id for event in (payment.raw or {}).get("events") or []):
        return False
    latest = CallbackDelivery.objects.filter(payment=payment).order_by("-pk").values_list("query", flat=True)
    query = latest.first()
    return isinstance(query, dict) and query.get("event_id") == event_id


def _read_transaction(payment: Payment, hint: str | None) -> dict[str, Any] | None:
    client = CheckoutClient()
    candidate = payment.transaction_id or (hint if hint and TRANSACTION_ID_RE.match(hint) else None)
    if candidate:
        try:
            return client.get_transaction(candidate)
        except DinteroNotFound:
            if payment.transaction_id:
                raise
    if payment.session_id:
        found = client.find_transactions(session_id=payment.session_id)
        return found[0] if found else None
    return None


def _without_transaction(payment: Payment) -> Payment:
    """No transaction yet: the customer may still pay, cancelled the session, or left it.

    Each read is stamped (``updated_at``: a queryset ``update()`` does not touch it), so
    the reconciler comes back after ``RECONCILE_AFTER``, not on every pass. A session
    past its ``expires_at`` plus ``SESSION_EXPIRY_GRACE`` cannot be paid any more: the
    payment becomes ``expired`` (checkout can start again) and is not read again.
    """
    if not payment.session_id or payment.state != Payment.State.AWAITING:
        return payment
    now = timezone.now()
    if payment.session_expired(now, grace=get_settings().SESSION_EXPIRY_GRACE):
        return _end_awaiting(payment, Payment.State.EXPIRED, failure="expired")
    session = CheckoutClient().get_session(payment.session_id)
    if session.get("cancelled_at") or _session_event(session, "CANCELLED"):
        return _end_awaiting(payment, Payment.State.CANCELLED, failure="cancelled")
    stamp: dict[str, Any] = {"last_synced_at": now, "updated_at": now}
    if payment.expires_at is None:  # a session created before expires_at was sent
        stamp["expires_at"] = parse_datetime(str(session.get("expires_at") or "")) or None
    Payment.objects.filter(pk=payment.pk, state=Payment.State.AWAITING).update(**stamp)
    payment.refresh_from_db()
    return payment


def _end_awaiting(payment: Payment, state: str, *, failure: str) -> Payment:
    now = timezone.now()
    Payment.objects.filter(pk=payment.pk, state=Payment.State.AWAITING).update(
        state=state, failure=failure, last_synced_at=now, updated_at=now
    )
    payment.refresh_from_db()
    return payment


def _session_event(session: dict[str, Any], name: str) -> bool:
    return any(event.get("name") == name for event in session.get("events") or [])


# -- checking --------------------------------------------------------------


def mismatch(payment: Payment, tx: dict[str, Any]) -> str:
    """Why ``tx`` cannot be accepted for ``payment`` ('' when it can)."""
    order = payment.order
    if str(tx.get("merchant_reference")) != str(order.dintero_order_id):
        reference = tx.get("merchant_reference")
        return f"merchant_reference {reference!r} is not order {order.dintero_order_id!r}"
    if tx.get("currency") != payment.currency:
        return f"currency {tx.get('currency')!r} differs from {payment.currency!r}"
    if tx.get("amount") != payment.amount:
        return f"amount {tx.get('amount')!r} differs from the expected {payment.amount}"
    if payment.session_id and tx.get("session_id") and tx["session_id"] != payment.session_id:
        return f"session {tx['session_id']!r} is not this payment's session"
    other = Payment.objects.filter(transaction_id=tx.get("id")).exclude(pk=payment.pk)
    if other.exists():
        return f"transaction {tx.get('id')!r} is already bound to another payment"
    if not payment.is_active and tx.get("status") in PAID_STATUSES:
        return "a superseded checkout session was paid: the order may be paid twice"
    return ""


def flag(payment: Payment, reason: str, *, raw: dict[str, Any] | None = None) -> Payment:
    """Mark the payment for staff; never marks it paid."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        first_time = not locked.needs_attention or locked.attention_reason != reason
        locked.needs_attention = True
        locked.attention_reason = reason
        locked.sync_attempts = 0
        if raw is not None:
            locked.raw = raw
        locked.save()
        if first_time:
            logger.warning("Payment %s needs attention: %s", locked.pk, reason)
            announce_on_commit(signals.payment_needs_attention, locked, reason=reason)
    return locked


def _poll_again(payment: Payment) -> None:
    conf = get_settings()
    if payment.polls < conf.POLL_MAX:
        raise RetryLater(f"payment {payment.pk} is {payment.status}", conf.POLL_INTERVAL)


__all__ = ["RetryLater", "flag", "mismatch", "sync_payment"]
