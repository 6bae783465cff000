"""Sync a payment from Dintero: the callback is a doorbell, the transaction is the letter.

Nothing from a callback is trusted: the transaction is read with our own
credentials and cross-checked against the local order before any state moves.
Running this twice, concurrently, or in any order gives the same result.

A transaction id hint (a callback's or the return URL's query: unverified) is
only a shortcut to read: a transaction that is not of the payment's own session
is recorded apart (:class:`~dintero_django.models.PaymentFlag`) and changes
nothing about the payment, which is then read by its own session.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import signals
from ..client import CheckoutClient
from ..conf import get_settings
from ..exceptions import DinteroNotFound
from ..models import PAID_STATUSES, CallbackDelivery, Payment, PaymentFlag
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
        return flag(payment, problem, tx=tx)
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
    """The payment's own transaction: by its id, by the hint if that is of its session, or by
    its session (a hint is unverified input and only ever saves the listing)."""
    client = CheckoutClient()
    if payment.transaction_id:
        return client.get_transaction(payment.transaction_id)
    if not payment.session_id:
        return None  # no session, nothing paid: no hint can be this payment's
    if hint and TRANSACTION_ID_RE.match(hint):
        try:
            hinted = client.get_transaction(hint)
        except DinteroNotFound:
            hinted = None
        if hinted is not None and hinted.get("session_id") == payment.session_id:
            return hinted
        if hinted is not None:
            record_foreign(payment, hinted)
    found = client.find_transactions(session_id=payment.session_id)
    return found[0] if found else None


#: What is kept of another payment's transaction: enough to investigate, no customer data.
FOREIGN_FIELDS = ("id", "session_id", "merchant_reference", "status", "amount", "currency", "created_at")


def record_foreign(payment: Payment, tx: dict[str, Any]) -> None:
    """Note, apart from the payment, that a hint named a transaction that is not its own."""
    tx_id = str(tx.get("id") or "")[:64]
    summary = {key: tx.get(key) for key in FOREIGN_FIELDS} | {"events": len(tx.get("events") or [])}
    kept, created = PaymentFlag.objects.get_or_create(
        payment=payment,
        kind=PaymentFlag.Kind.FOREIGN_HINT,
        transaction_id=tx_id,
        defaults={"reason": _foreign_reason(payment, tx), "transaction": summary},
    )
    if not created:
        PaymentFlag.objects.filter(pk=kept.pk).update(seen=F("seen") + 1, updated_at=timezone.now())
    logger.warning(
        "Payment %s: a hint named transaction %s of session %s, not its own; ignored",
        payment.pk,
        tx_id,
        tx.get("session_id"),
    )


def _foreign_reason(payment: Payment, tx: dict[str, Any]) -> str:
    return (
        f"an unverified hint named transaction {tx.get('id')!r} (merchant_reference "
        f"{tx.get('merchant_reference')!r}, session {tx.get('session_id')!r}), not this payment's "
        f"session {payment.session_id!r}: not read into the payment"
    )


def repair_mirror(payment_pk: int) -> Payment:
    """Move a transaction of another session out of the payment's mirror, then read it again.

    Versions before issue 13 stored a mismatched transaction in ``Payment.raw``, where it
    became the baseline of the stale-read check: the payment's own, later transaction
    (fewer events) was then ignored for good. The reconciler calls this for such payments.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update(no_key=True).get(pk=payment_pk)
        raw = payment.raw or {}
        if raw and raw.get("session_id") != payment.session_id:
            record_foreign(payment, raw)
            payment.raw = {}
            payment.save(update_fields=["raw", "updated_at"])
    return sync_payment(payment_pk)


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


def flag(payment: Payment, reason: str, *, tx: dict[str, Any] | None = None) -> Payment:
    """Mark the payment for staff; never marks it paid.

    The transaction behind the flag is kept on the flag's own row, never in the
    payment's mirror. A flag staff cleared for this very transaction and reason is
    not raised again (nothing new to review); the transaction is still not applied.
    A flag without a transaction (a crashing task) is raised again whenever it recurs.
    """
    tx_id = str((tx or {}).get("id") or "")[:64]
    with transaction.atomic():
        locked = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        flags = PaymentFlag.objects.filter(payment=locked, kind=PaymentFlag.Kind.FLAG, reason=reason)
        if tx_id and flags.filter(transaction_id=tx_id, cleared_at__isnull=False).exists():
            return locked  # staff reviewed this very transaction for this reason
        first_time = not locked.needs_attention or locked.attention_reason != reason
        locked.needs_attention = True
        locked.attention_reason = reason
        locked.sync_attempts = 0
        locked.save()
        if first_time:
            snapshot = trim(tx) if tx else {}
            PaymentFlag.objects.create(
                payment=locked, reason=reason, transaction_id=tx_id, transaction=snapshot
            )
            logger.warning("Payment %s needs attention: %s", locked.pk, reason)
            announce_on_commit(signals.payment_needs_attention, locked, reason=reason)
        else:
            flags.filter(cleared_at__isnull=True).update(seen=F("seen") + 1, updated_at=timezone.now())
    return locked


def _poll_again(payment: Payment) -> None:
    conf = get_settings()
    if payment.polls < conf.POLL_MAX:
        raise RetryLater(f"payment {payment.pk} is {payment.status}", conf.POLL_INTERVAL)


__all__ = ["RetryLater", "flag", "mismatch", "record_foreign", "repair_mirror", "sync_payment"]
