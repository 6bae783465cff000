"""Capture, refund and cancel (void): money moves at most once.

Dintero has no idempotency key for these calls, so every operation follows
the same protocol (docs/architecture.md):

1. lock the payment, check the amounts, insert an Operation with a unique
   reference (state ``pending``) and commit (:mod:`.intent`);
2. call the Checkout API without holding the lock, the reference sent as
   ``capture_reference`` / ``refund_reference``;
3. lock again and record the outcome: ``succeeded``, ``accepted`` (202),
   ``failed`` (a definite 4xx) or ``unknown`` (timeout, reset, 5xx);
4. ``unknown`` and ``accepted`` are resolved by reading the transaction's
   events, never by sending again;
5. a succeeded operation is then recorded in the Orders API (its own
   Operation, read before write, retried until it exists).

Only one money operation per payment may be open at a time: a second click,
admin action or task is refused until the first is resolved.

The sender can be paused (GC, VM steal) while the reconciler resolves its operation
(issue 19). So the send is fenced: right before the request goes out, a conditional
UPDATE checks that the operation is still pending and renews its ``updated_at`` (the
reconciler's grace period starts again); an operation resolved meanwhile is not sent.
The reconciler's "failed" is conditional on that ``updated_at``. Recording a 202 or
an error is conditional too: only an open operation takes one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import signals
from ..client import ApiResponse, CheckoutClient
from ..client.fencing import fenced
from ..conf import get_settings
from ..exceptions import DinteroError, is_outcome_unknown
from ..models import Operation
from . import dispatch, intent, ledger
from .announce import send_robustly
from .mirror import apply_transaction
from .records import record_in_orders

logger = logging.getLogger("dintero_django.money")

Kind = Operation.Kind
State = Operation.State
MONEY_KINDS = Operation.MONEY_KINDS
EVENT_OF: dict[str, str] = {Kind.CAPTURE: "CAPTURE", Kind.REFUND: "REFUND", Kind.VOID: "VOID"}
VERB_OF: dict[str, Any] = {
    Kind.CAPTURE: gettext_lazy("capture"),
    Kind.REFUND: gettext_lazy("refund"),
    Kind.VOID: gettext_lazy("cancellation"),
}
SIGNAL_OF: dict[str, Any] = {
    Kind.CAPTURE: signals.payment_captured,
    Kind.REFUND: signals.payment_refunded,
    Kind.VOID: signals.payment_cancelled,
}


# -- the protocol --------------------------------------------------------------


def capture(
    payment_pk: int,
    *,
    amount: int | None = None,
    quantities: Mapping[int, int] | None = None,
    user: Any = None,
) -> Operation:
    """Capture ``amount`` (default: all that is left) or the given line quantities."""
    return _run(payment_pk, Kind.CAPTURE, amount=amount, quantities=quantities, user=user)


def refund(
    payment_pk: int,
    *,
    amount: int | None = None,
    quantities: Mapping[int, int] | None = None,
    reason: str = "",
    user: Any = None,
) -> Operation:
    return _run(payment_pk, Kind.REFUND, amount=amount, quantities=quantities, user=user, reason=reason)


def cancel(payment_pk: int, *, user: Any = None) -> Operation:
    """Void the authorization (only before anything is captured)."""
    return _run(payment_pk, Kind.VOID, amount=None, quantities=None, user=user)


def _run(
    payment_pk: int,
    kind: str,
    *,
    amount: int | None,
    quantities: Mapping[int, int] | None,
    user: Any,
    reason: str = "",
) -> Operation:
    operation = intent.begin(payment_pk, kind, amount, quantities, user, reason)
    outcome: ApiResponse | DinteroError
    try:
        outcome = _send(operation)
    except ResolvedElsewhere as stopped:  # the reconciler resolved it during a pause: not sent
        logger.warning("%s %s not sent: %s", operation.kind, operation.reference, stopped)
        operation.refresh_from_db()
        return operation
    except DinteroError as error:
        outcome = error
    # Dintero may have moved the money now. A step that fails from here on (a locked
    # database, Dintero unreachable for the read-back) leaves the work open for the
    # record task or the reconciler: the caller gets the operation as it stands, and
    # follow_up() says what is still to come. Never an error for money that moved.
    try:
        _settle(operation, outcome)
    except (DatabaseError, DinteroError) as error:
        logger.warning(
            "%s %s: left open after Dintero answered, finished later: %r", kind, operation.reference, error
        )
    with suppress(DatabaseError):
        operation.refresh_from_db()
    return operation


def _settle(operation: Operation, outcome: ApiResponse | DinteroError) -> None:
    if isinstance(outcome, DinteroError):
        _finish_error(operation, outcome)
    else:
        _finish(operation, outcome)
    operation.refresh_from_db()
    if operation.state == State.UNKNOWN:
        resolve(operation.pk)  # read back now: most unknowns are settled at once
        operation.refresh_from_db()
    if operation.state == State.SUCCEEDED:
        _record(operation)


def _record(operation: Operation) -> None:
    """Record a succeeded operation in the Orders API now; what cannot be finished now
    goes to the record task (and after it, the reconciler)."""
    try:
        still_open = record_in_orders(operation.pk).is_open
    except (DatabaseError, DinteroError) as error:
        logger.warning(
            "Recording %s %s: left to the record task: %r", operation.kind, operation.reference, error
        )
        still_open = True
    if still_open:
        dispatch.record_operation(operation.pk)


def follow_up(operation: Operation) -> str:
    """For staff: what is still to happen after the call that ran ``operation`` returned."""
    kind = VERB_OF.get(operation.kind, operation.kind)
    if operation.state == State.SUCCEEDED:
        record = Operation.objects.filter(parent=operation).only("state").first()
        if record is None or record.is_open:
            return _("The %(kind)s succeeded; its Orders-API record follows.") % {"kind": kind}
        return ""
    if operation.state == State.PENDING and operation.attempts:
        return _("The %(kind)s was sent to Dintero; its outcome is being confirmed.") % {"kind": kind}
    return ""


class ResolvedElsewhere(Exception):
    """The operation was resolved (by the reconciler) before its request went out."""


def _send(operation: Operation) -> ApiResponse:
    ledger.attempt(operation)
    with fenced(lambda: _still_pending(operation)):
        return _call(operation)


def _still_pending(operation: Operation) -> None:
    """The fence: still pending? Renew ``updated_at`` (the reconciler waits its grace
    period again); resolved meanwhile (a pause past the grace)? Do not send."""
    if not Operation.objects.filter(pk=operation.pk, state=State.PENDING).update(updated_at=timezone.now()):
        raise ResolvedElsewhere(f"{operation.kind} {operation.reference} was resolved before it was sent")


def _call(operation: Operation) -> ApiResponse:
    payment = operation.payment
    assert payment is not None and payment.transaction_id
    client = CheckoutClient()
    items = [{**item, "line_id": str(item["line_id"])} for item in operation.items]
    if operation.kind == Kind.CAPTURE:
        body = {
            "amount": operation.amount,
            "capture_reference": operation.reference,
            "items": items,
        }
        return client.capture(payment.transaction_id, body)
    if operation.kind == Kind.REFUND:
        body = {"amount": operation.amount, "refund_reference": operation.reference, "items": items}
        if operation.reason:
            body["reason"] = operation.reason
        return client.refund(payment.transaction_id, body)
    return client.void(payment.transaction_id)


def _finish_error(operation: Operation, error: DinteroError) -> None:
    with transaction.atomic():
        if not _still_open(operation):
            return
        ledger.fail(operation, error)
    level = logging.WARNING if is_outcome_unknown(error) else logging.INFO
    logger.log(level, "%s %s: %s", operation.kind, operation.reference, error)


def _finish(operation: Operation, response: ApiResponse) -> None:
    if response.status == 202:
        with transaction.atomic():
            if not _still_open(operation):
                return
            operation.state = State.ACCEPTED
            operation.http_status = 202
            operation.request_id = response.request_id or ""
            operation.save()
        return
    _settle_from_transaction(operation, response.data or {}, response)


def _settle_from_transaction(
    operation: Operation, tx: dict[str, Any], response: ApiResponse | None = None
) -> bool:
    """Settle ``operation`` from a transaction read; False when its event is not there."""
    event = find_event(operation, tx)
    if event is None:
        return False
    assert operation.payment is not None
    apply_transaction(operation.payment.pk, tx, announce=False)
    if event.get("success"):
        # The operation's own answer, the reconciler and a callback's sync may settle it
        # at once: only the one that moves it out of an open state announces it.
        if not _claim_settled(operation):
            operation.refresh_from_db()
            return True
        ledger.succeed(operation, response, remote_id=str(event.get("id") or ""))
        _send_signal(operation)
    else:
        operation.state = State.FAILED
        operation.completed_at = timezone.now()
        operation.error_message = str((event.get("error") or {}).get("message") or "Dintero refused it")
        operation.save()
    return True


def _claim_settled(operation: Operation) -> bool:
    """Move the operation from an open state to succeeded in one conditional UPDATE."""
    claimed = Operation.objects.filter(pk=operation.pk, state__in=Operation.OPEN_STATES).update(
        state=State.SUCCEEDED, completed_at=timezone.now(), updated_at=timezone.now()
    )
    return bool(claimed)


def _still_open(operation: Operation) -> bool:
    """Lock the row (inside a transaction); False, with ``operation`` refreshed, when
    someone else already settled it."""
    current = Operation.objects.select_for_update().get(pk=operation.pk)
    if current.is_open:
        return True
    operation.refresh_from_db()
    return False


def find_event(operation: Operation, tx: dict[str, Any]) -> dict[str, Any] | None:
    """Our operation's event in a transaction: by reference, 202 correlation, or (void) kind."""
    wanted = EVENT_OF[operation.kind]
    events = [e for e in tx.get("events") or [] if e.get("event") == wanted]
    for event in events:
        if event.get("event_reference") == operation.reference:
            return dict(event)
        if operation.request_id and event.get("correlation_request_id") == operation.request_id:
            return dict(event)
    if operation.kind == Kind.VOID and events:
        return dict(events[-1])
    return None


def resolve(operation_pk: int) -> Operation:
    """Settle an unknown or accepted operation by reading the transaction (never resending)."""
    operation = Operation.objects.select_related("payment").get(pk=operation_pk)
    if operation.state not in (State.UNKNOWN, State.ACCEPTED, State.PENDING) or operation.payment is None:
        return operation
    tx = CheckoutClient().get_transaction(str(operation.payment.transaction_id))
    if _settle_from_transaction(operation, tx):
        return operation
    grace = timedelta(seconds=get_settings().UNKNOWN_GRACE)
    if operation.state != State.ACCEPTED and operation.updated_at < timezone.now() - grace:
        # Read back after the grace period and absent: it was never applied. Unless its
        # sender renewed it meanwhile (about to send, see _still_pending).
        now = timezone.now()
        Operation.objects.filter(
            pk=operation.pk, state=operation.state, updated_at=operation.updated_at
        ).update(
            state=State.FAILED,
            completed_at=now,
            updated_at=now,
            error_message=(operation.error_message + " (not applied at Dintero)").strip(),
        )
        operation.refresh_from_db()
    return operation


def _send_signal(operation: Operation) -> None:
    signal = SIGNAL_OF[operation.kind]
    pk = operation.pk

    def send() -> None:
        fresh = Operation.objects.select_related("payment", "order").get(pk=pk)
        send_robustly(signal, payment=fresh.payment, order=fresh.order, operation=fresh, amount=fresh.amount)

    transaction.on_commit(send, robust=True)


__all__ = ["MONEY_KINDS", "cancel", "capture", "find_event", "follow_up", "refund", "resolve"]
