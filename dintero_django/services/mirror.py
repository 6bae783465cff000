"""Apply a checked transaction to the local payment mirror.

The caller has already checked that the transaction belongs to the payment
(:func:`dintero_django.services.sync.mismatch`). Amounts only move forward, and
a read older than the last one applied is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..models import FAILED_STATUSES, PAID_STATUSES, PENDING_STATUSES, Payment, TransactionStatus
from . import ledger
from .announce import announce_on_commit


@dataclass(frozen=True)
class RemoteAmounts:
    authorized: int
    captured: int
    refunded: int


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
        before = payment.state
        previous = payment.raw or {}
        payment.transaction_id = str(tx["id"])
        payment.status = str(tx.get("status") or "")
        payment.payment_product_type = str(tx.get("payment_product_type") or "")[:64]
        payment.authorized_amount = max(payment.authorized_amount, amounts.authorized)
        payment.captured_amount = max(payment.captured_amount, amounts.captured)
        payment.refunded_amount = max(payment.refunded_amount, amounts.refunded)
        payment.state = state_for(payment.status, before)
        if payment.state == Payment.State.FAILED:
            payment.failure = "authorization" if payment.status == "DECLINED" else "failed"
        payment.raw = trim(tx)
        payment.last_synced_at = timezone.now()
        payment.sync_attempts = 0
        if payment.state == Payment.State.PENDING:
            payment.polls += 1
        payment.save()
        if announce:
            _announce(payment, before, *_external_moves(payment, previous, tx))
    return payment


def _older_than_applied(payment: Payment, tx: dict[str, Any]) -> bool:
    """Events are append-only, so a read with fewer events than the last one applied is stale."""
    if payment.transaction_id and payment.transaction_id != tx.get("id"):
        return False
    seen = len((payment.raw or {}).get("events") or [])
    return len(tx.get("events") or []) < seen


def _external_moves(
    payment: Payment, previous: dict[str, Any], tx: dict[str, Any]
) -> tuple[int, int, int, int]:
    """Captured and refunded by events that are not our own operations (auto-capture,
    Backoffice), in the previous read and in this one: ours announce themselves once
    they settle (services.money)."""
    old = [event for event in previous.get("events") or [] if event.get("success")]
    new = [event for event in tx.get("events") or [] if event.get("success")]
    if not any(event.get("event") in ("CAPTURE", "REFUND") for event in new):
        return 0, 0, 0, 0  # nothing moved: no need to read our operations
    is_ours = ledger.ours(payment, old + new)

    def total(events: list[dict[str, Any]], name: str) -> int:
        return sum(
            int(event.get("amount") or 0)
            for event in events
            if event.get("event") == name and not is_ours(event)
        )

    return total(old, "CAPTURE"), total(old, "REFUND"), total(new, "CAPTURE"), total(new, "REFUND")


def _announce(
    payment: Payment, state: str, captured: int, refunded: int, captured_now: int, refunded_now: int
) -> None:
    if payment.state != state:
        if payment.state == Payment.State.AUTHORIZED:
            announce_on_commit(signals.payment_authorized, payment, amount=payment.authorized_amount)
        elif payment.state == Payment.State.FAILED:
            announce_on_commit(signals.payment_failed, payment)
        elif payment.state == Payment.State.VOIDED:
            announce_on_commit(signals.payment_cancelled, payment)
    # Money moved outside our own operations (auto-capture, Dintero Backoffice),
    # announced after the authorization it belongs to. Our own operations are left
    # out: each announces itself when it settles, so a callback's sync racing the
    # operation's own settling cannot announce it a second time.
    if captured_now > captured:
        announce_on_commit(signals.payment_captured, payment, amount=captured_now - captured)
    if refunded_now > refunded:
        announce_on_commit(signals.payment_refunded, payment, amount=refunded_now - refunded)


def trim(tx: dict[str, Any]) -> dict[str, Any]:
    """What we keep of a transaction: no card or token details."""
    return {
        key: value for key, value in tx.items() if key not in ("card", "payment_token", "recurrence_token")
    }
