"""Sync a payment from Dintero: the callback is a doorbell, the transaction is the letter.

Nothing from a callback is trusted: the transaction is read with our own
credentials and cross-checked against the local order before any state moves.
Running this twice, concurrently, or in any order gives the same result.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import signals
from ..client import CheckoutClient, OrdersClient
from ..conf import get_settings
from ..exceptions import DinteroError, DinteroNotFound
from ..models import (
    FAILED_STATUSES,
    PAID_STATUSES,
    PENDING_STATUSES,
    CallbackDelivery,
    Operation,
    Payment,
    TransactionStatus,
)
from . import ledger
from .leases import Busy, order_lease

logger = logging.getLogger("dintero_django.sync")

#: A transaction id we are willing to put into an outgoing URL.
TRANSACTION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RetryLater(Exception):
    """Nothing is wrong, but the payment must be looked at again later."""

    def __init__(self, message: str, countdown: float) -> None:
        super().__init__(message)
        self.countdown = countdown

    def __reduce__(self) -> tuple[type[RetryLater], tuple[str, float]]:
        # Celery pickles the exception of a task that ran out of retries.
        return RetryLater, (str(self), self.countdown)


@dataclass(frozen=True)
class RemoteAmounts:
    authorized: int
    captured: int
    refunded: int


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
        return flag(payment, problem, raw=_trim(tx))
    payment = apply_transaction(payment.pk, tx)
    if payment.state == Payment.State.AUTHORIZED and payment.is_active:
        record_authorization(payment)
        from .money import adopt_external_moves  # late: money imports this module

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
    """No transaction yet: the customer may still pay, or cancelled the session."""
    if payment.session_id and payment.state == Payment.State.AWAITING:
        session = CheckoutClient().get_session(payment.session_id)
        if session.get("cancelled_at") or _session_event(session, "CANCELLED"):
            Payment.objects.filter(pk=payment.pk, state=Payment.State.AWAITING).update(
                state=Payment.State.CANCELLED, failure="cancelled", last_synced_at=timezone.now()
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
            _send_on_commit(signals.payment_needs_attention, locked, reason=reason)
    return locked


# -- applying --------------------------------------------------------------


def remote_amounts(tx: dict[str, Any]) -> RemoteAmounts:
    """Authorized, captured and refunded totals from a transaction's events."""
    events = [event for event in tx.get("events") or [] if event.get("success")]

    def total(kind: str) -> int:
        return sum(int(event.get("amount") or 0) for event in events if event.get("event") == kind)

    status = tx.get("status")
    authorized = (
        int(tx.get("amount") or 0) if status in PAID_STATUSES or status == "AUTHORIZATION_VOIDED" else 0
    )
    captured = total("CAPTURE")
    refunded = total("REFUND")
    authorized = max(authorized, captured)
    return RemoteAmounts(authorized, captured, min(refunded, captured))


def state_for(status: str, current: str) -> str:
    if status in PAID_STATUSES:
        return Payment.State.AUTHORIZED
    if status == TransactionStatus.AUTHORIZATION_VOIDED:
        return Payment.State.VOIDED
    if status in FAILED_STATUSES:
        return Payment.State.FAILED
    if status in PENDING_STATUSES and current in (Payment.State.CREATED, Payment.State.AWAITING):
        return Payment.State.PENDING
    return current


def apply_transaction(payment_pk: int, tx: dict[str, Any], *, announce: bool = True) -> Payment:
    """Apply a (checked) transaction under a row lock; amounts only move forward.

    ``announce=False`` when the caller (a money operation) sends its own signal.
    """
    amounts = remote_amounts(tx)
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",), no_key=True)
            .select_related("order")
            .get(pk=payment_pk)
        )
        if _older_than_applied(payment, tx):
            return payment  # a slow read overtaken by a newer one: keep the newer
        before = (payment.state, payment.captured_amount, payment.refunded_amount)
        payment.transaction_id = str(tx["id"])
        payment.status = str(tx.get("status") or "")
        payment.payment_product_type = str(tx.get("payment_product_type") or "")[:64]
        payment.authorized_amount = max(payment.authorized_amount, amounts.authorized)
        payment.captured_amount = max(payment.captured_amount, amounts.captured)
        payment.refunded_amount = max(payment.refunded_amount, amounts.refunded)
        payment.state = state_for(payment.status, before[0])
        if payment.state == Payment.State.FAILED:
            payment.failure = "authorization" if payment.status == "DECLINED" else "failed"
        payment.raw = _trim(tx)
        payment.last_synced_at = timezone.now()
        payment.sync_attempts = 0
        if payment.state == Payment.State.PENDING:
            payment.polls += 1
        payment.save()
        if announce:
            _announce(payment, *before)
    return payment


def _older_than_applied(payment: Payment, tx: dict[str, Any]) -> bool:
    """Events are append-only, so a read with fewer events than the last one applied is stale."""
    if payment.transaction_id and payment.transaction_id != tx.get("id"):
        return False
    seen = len((payment.raw or {}).get("events") or [])
    return len(tx.get("events") or []) < seen


def _announce(payment: Payment, state: str, captured: int, refunded: int) -> None:
    if payment.state != state:
        if payment.state == Payment.State.AUTHORIZED:
            _send_on_commit(signals.payment_authorized, payment, amount=payment.authorized_amount)
        elif payment.state == Payment.State.FAILED:
            _send_on_commit(signals.payment_failed, payment)
        elif payment.state == Payment.State.VOIDED:
            _send_on_commit(signals.payment_cancelled, payment)
    # Money moved outside our own operations (auto-capture, Dintero Backoffice),
    # announced after the authorization it belongs to.
    if payment.captured_amount > captured:
        _send_on_commit(signals.payment_captured, payment, amount=payment.captured_amount - captured)
    if payment.refunded_amount > refunded:
        _send_on_commit(signals.payment_refunded, payment, amount=payment.refunded_amount - refunded)


def _send_on_commit(signal: Any, payment: Payment, **kwargs: Any) -> None:
    def send() -> None:
        fresh = Payment.objects.select_related("order").get(pk=payment.pk)
        send_robustly(signal, payment=fresh, order=fresh.order, **{"operation": None, "amount": 0, **kwargs})

    transaction.on_commit(send, robust=True)


def send_robustly(signal: Any, **kwargs: Any) -> None:
    """Send to every receiver even if one raises; a failing receiver is logged."""
    for receiver, result in signal.send_robust(sender=Payment, **kwargs):
        if isinstance(result, Exception):
            logger.error("Signal receiver %r failed", receiver, exc_info=result)


def _trim(tx: dict[str, Any]) -> dict[str, Any]:
    """What we keep of a transaction: no card or token details."""
    return {
        key: value for key, value in tx.items() if key not in ("card", "payment_token", "recurrence_token")
    }


def _poll_again(payment: Payment) -> None:
    conf = get_settings()
    if payment.polls < conf.POLL_MAX:
        raise RetryLater(f"payment {payment.pk} is {payment.status}", conf.POLL_INTERVAL)


# -- recording in the Orders API -------------------------------------------


def record_authorization(payment: Payment) -> Operation | None:
    """Record the authorization on the Dintero order exactly once (read before write)."""
    operation = _authorization_operation(payment)
    if operation.state == Operation.State.SUCCEEDED:
        return operation
    try:
        with order_lease(payment.order_id):
            operation.refresh_from_db()
            if operation.state != Operation.State.SUCCEEDED:
                _post_authorization(payment, operation)
    except Busy:
        raise RetryLater("another worker is recording this order", 2) from None
    return operation


def _authorization_operation(payment: Payment) -> Operation:
    order = payment.order
    items = [{"line_id": line.line_id, "amount": line.amount} for line in order.lines.order_by("line_id")]
    try:
        with transaction.atomic():
            operation, _ = Operation.objects.get_or_create(
                kind=Operation.Kind.RECORD_AUTHORIZATION,
                payment=payment,
                defaults={"order": order, "amount": payment.authorized_amount, "items": items},
            )
    except IntegrityError:  # a concurrent sync created it first
        operation = Operation.objects.get(kind=Operation.Kind.RECORD_AUTHORIZATION, payment=payment)
    return operation


def _post_authorization(payment: Payment, operation: Operation) -> None:
    client = OrdersClient()
    order_id = str(payment.order.dintero_order_id)
    # Read before write only if an earlier attempt may have been applied with its answer
    # lost: attempts is counted before each POST, and was read again under the lease.
    if operation.attempts:
        for existing in client.list_operations(order_id, "authorizations"):
            if (existing.get("payment_details") or {}).get("payment_id") == payment.transaction_id:
                ledger.succeed(operation, remote_id=str(existing.get("id") or ""))
                return
    body = {
        "items": operation.items,
        "payment_details": {"payment_id": payment.transaction_id},
        "success": True,
        "processed_by": "dintero-checkout",
        "metadata": {"dintero_django_reference": operation.reference},
    }
    ledger.attempt(operation)
    try:
        response = client.record_operation(order_id, "authorizations", body)
    except DinteroError as error:
        ledger.fail(operation, error)
        raise
    ledger.succeed(operation, response, remote_id=str((response.data or {}).get("id") or ""))


__all__ = [
    "RetryLater",
    "apply_transaction",
    "flag",
    "mismatch",
    "record_authorization",
    "remote_amounts",
    "sync_payment",
]
