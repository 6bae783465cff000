"""Capture, refund and cancel (void): money moves at most once.

Dintero has no idempotency key for these calls, so every operation follows
the same protocol (docs/architecture.md):

1. lock the payment, check the amounts, insert an Operation with a unique
   reference (state ``pending``) and commit;
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
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..client import ApiResponse, CheckoutClient, OrdersClient
from ..client.orders import OperationCollection
from ..conf import get_settings
from ..exceptions import DinteroError, PaymentError, is_outcome_unknown
from ..models import Operation, OrderLine, Payment
from . import ledger
from .leases import Busy, order_lease
from .sync import RetryLater, apply_transaction, record_authorization, remote_amounts, send_robustly

logger = logging.getLogger("dintero_django.money")

Kind = Operation.Kind
State = Operation.State
MONEY_KINDS = (Kind.CAPTURE, Kind.REFUND, Kind.VOID)
EVENT_OF: dict[str, str] = {Kind.CAPTURE: "CAPTURE", Kind.REFUND: "REFUND", Kind.VOID: "VOID"}
RECORD_OF: dict[str, tuple[str, OperationCollection]] = {
    Kind.CAPTURE: (Kind.RECORD_CAPTURE, "captures"),
    Kind.REFUND: (Kind.RECORD_REFUND, "refunds"),
    Kind.VOID: (Kind.RECORD_CANCELLATION, "cancellations"),
}
SIGNAL_OF: dict[str, Any] = {
    Kind.CAPTURE: signals.payment_captured,
    Kind.REFUND: signals.payment_refunded,
    Kind.VOID: signals.payment_cancelled,
}


@dataclass(frozen=True)
class LineBalance:
    line: OrderLine
    authorized: int
    captured: int
    refunded: int

    @property
    def capturable(self) -> int:
        return self.authorized - self.captured

    @property
    def refundable(self) -> int:
        return self.captured - self.refunded


# -- balances ----------------------------------------------------------------


def line_balances(payment: Payment) -> list[LineBalance]:
    """Per-line authorized / captured / refunded amounts, from Dintero's events.

    Captures and refunds without items (auto-capture, Dintero's Backoffice) are
    spread over the lines in order, the way :func:`items_for` fills them, so the
    per-line balances always add up to the payment's amounts.
    """
    moved: dict[str, dict[int, int]] = {"CAPTURE": defaultdict(int), "REFUND": defaultdict(int)}
    without_items = {"CAPTURE": 0, "REFUND": 0}
    for event in (payment.raw or {}).get("events") or []:
        if event.get("success") and event.get("event") in moved:
            if not event.get("items"):
                without_items[event["event"]] += int(event.get("amount") or 0)
            for item in event.get("items") or []:
                moved[event["event"]][_line_id(item.get("line_id"))] += int(item.get("amount") or 0)
    lines = list(payment.order.lines.order_by("line_id"))
    for kind in ("CAPTURE", "REFUND"):
        left = without_items[kind]
        for line in lines:
            ceiling = line.amount if kind == "CAPTURE" else moved["CAPTURE"][line.line_id]
            take = min(left, max(ceiling - moved[kind][line.line_id], 0))
            moved[kind][line.line_id] += take
            left -= take
    return [
        LineBalance(line, line.amount, moved["CAPTURE"][line.line_id], moved["REFUND"][line.line_id])
        for line in lines
    ]


def _line_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def items_for(
    balances: list[LineBalance],
    kind: str,
    *,
    amount: int | None,
    quantities: Mapping[int, int] | None,
) -> list[dict[str, Any]]:
    """Items of a capture or refund, by line quantities or by amount (filled line by line)."""
    room = {b.line.line_id: (b.capturable if kind == Kind.CAPTURE else b.refundable) for b in balances}
    by_id = {b.line.line_id: b.line for b in balances}
    items: list[dict[str, Any]] = []
    if quantities:
        for line_id, quantity in sorted(quantities.items()):
            if quantity <= 0:
                continue
            line = by_id.get(line_id)
            if line is None:
                raise PaymentError(f"Order has no line {line_id}.")
            value = line.unit_amount * quantity
            if value > room[line_id]:
                raise PaymentError(
                    f"Line {line_id}: {value} exceeds the {room[line_id]} left to {kind} on it."
                )
            items.append({"line_id": line_id, "amount": value, "quantity": quantity})
        return items
    left = amount or 0
    for line_id, available in room.items():
        take = min(left, available)
        if take > 0:
            items.append({"line_id": line_id, "amount": take})
            left -= take
    return items


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
    operation = _begin(payment_pk, kind, amount, quantities, user, reason)
    try:
        response = _send(operation)
    except DinteroError as error:
        _finish_error(operation, error)
    else:
        _finish(operation, response)
    operation.refresh_from_db()
    if operation.state == State.UNKNOWN:
        resolve(operation.pk)  # read back now: most unknowns are settled at once
        operation.refresh_from_db()
    if operation.state == State.SUCCEEDED:
        if record_in_orders(operation.pk).is_open:
            from ..tasks import enqueue_record  # late: tasks import services

            enqueue_record(operation.pk)
        operation.refresh_from_db()
    return operation


def _begin(
    payment_pk: int,
    kind: str,
    amount: int | None,
    quantities: Mapping[int, int] | None,
    user: Any,
    reason: str,
) -> Operation:
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",), no_key=True)
            .select_related("order")
            .get(pk=payment_pk)
        )
        _check_payment(payment, kind)
        total = _check_amount(payment, kind, amount, quantities)
        items = (
            []
            if kind == Kind.VOID
            else items_for(line_balances(payment), kind, amount=total, quantities=quantities)
        )
        if kind != Kind.VOID:
            covered = sum(item["amount"] for item in items)
            if not quantities and covered != total:
                raise PaymentError(f"Only {covered} of {total} can be matched to order lines to {kind}.")
            total = covered
        return ledger.begin(
            kind,
            payment.order,
            payment=payment,
            amount=total,
            items=items,
            reason=reason[:255],
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )


def _check_payment(payment: Payment, kind: str) -> None:
    if not payment.transaction_id or payment.state != Payment.State.AUTHORIZED:
        raise PaymentError(f"Payment {payment} is {payment.get_state_display().lower()}: nothing to {kind}.")
    if payment.needs_attention:
        raise PaymentError(f"Payment {payment} needs attention first: {payment.attention_reason}")
    open_ops = Operation.objects.filter(
        payment=payment, kind__in=MONEY_KINDS, state__in=Operation.OPEN_STATES
    )
    if open_ops.exists():
        raise PaymentError(
            f"Another operation on {payment} is still in progress; it must finish before a new one starts."
        )


def _check_amount(
    payment: Payment, kind: str, amount: int | None, quantities: Mapping[int, int] | None
) -> int:
    if kind == Kind.VOID:
        if payment.captured_amount:
            raise PaymentError("Captured payments cannot be cancelled; refund them instead.")
        return payment.authorized_amount
    limit = payment.capturable if kind == Kind.CAPTURE else payment.refundable
    if quantities:
        return 0  # the line items decide; checked per line in items_for
    if amount is None:
        amount = limit
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise PaymentError(f"The amount to {kind} must be a positive whole number of minor units.")
    if amount > limit:
        raise PaymentError(f"Cannot {kind} {amount}: only {limit} is left to {kind}.")
    return amount


def _send(operation: Operation) -> ApiResponse:
    payment = operation.payment
    assert payment is not None and payment.transaction_id
    ledger.attempt(operation)
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
    ledger.fail(operation, error)
    level = logging.WARNING if is_outcome_unknown(error) else logging.INFO
    logger.log(level, "%s %s: %s", operation.kind, operation.reference, error)


def _finish(operation: Operation, response: ApiResponse) -> None:
    if response.status == 202:
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
        ledger.succeed(operation, response, remote_id=str(event.get("id") or ""))
        _send_signal(operation)
    else:
        operation.state = State.FAILED
        operation.completed_at = timezone.now()
        operation.error_message = str((event.get("error") or {}).get("message") or "Dintero refused it")
        operation.save()
    return True


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
        # Read back after the grace period and absent: it was never applied.
        operation.state = State.FAILED
        operation.completed_at = timezone.now()
        operation.error_message = (operation.error_message + " (not applied at Dintero)").strip()
        operation.save()
    return operation


def _send_signal(operation: Operation) -> None:
    signal = SIGNAL_OF[operation.kind]
    pk = operation.pk

    def send() -> None:
        fresh = Operation.objects.select_related("payment", "order").get(pk=pk)
        send_robustly(signal, payment=fresh.payment, order=fresh.order, operation=fresh, amount=fresh.amount)

    transaction.on_commit(send, robust=True)


# -- recording in the Orders API -------------------------------------------------


def record_in_orders(operation_pk: int) -> Operation:
    """Record a succeeded money operation on the Dintero order, exactly once."""
    parent = Operation.objects.select_related("payment", "order").get(pk=operation_pk)
    kind, collection = RECORD_OF[parent.kind]
    if parent.kind == Kind.REFUND and parent.payment is not None:
        # The Orders API refuses a refund of money it was never told was captured: make
        # sure captures made outside exist as rows (recorded below, as predecessors).
        _adopt_rows(parent.payment)
    record = _record_operation(parent, kind)
    if record.state == State.SUCCEEDED:
        return record
    if not _predecessors_recorded(parent):
        return record  # still open: the reconciler tries again
    # One writer per order: two recorders of one operation (a caller and the reconciler,
    # two syncs adopting one Backoffice capture) would both read "absent" and both post.
    try:
        with order_lease(parent.order_id):
            record.refresh_from_db()
            if record.state != State.SUCCEEDED:
                _post_record(parent, record, collection)
    except Busy:
        logger.info("Recording %s %s: another worker is recording this order", parent.kind, parent.reference)
    return record


def _post_record(parent: Operation, record: Operation, collection: OperationCollection) -> None:
    client = OrdersClient()
    order_id = str(parent.order.dintero_order_id)
    # Read before write only if an earlier attempt may have been applied with its answer
    # lost: the first attempt is claimed atomically, so winning it means nothing was sent.
    if not _claim_first_attempt(record):
        for existing in client.list_operations(order_id, collection):
            if (existing.get("metadata") or {}).get("dintero_django_reference") == parent.reference:
                ledger.succeed(record, remote_id=str(existing.get("id") or ""))
                return
        ledger.attempt(record)
    try:
        response = client.record_operation(order_id, collection, _record_body(parent, record))
    except DinteroError as error:
        _record_failed(record, error)
        logger.warning("Recording %s %s in the Orders API failed: %s", parent.kind, parent.reference, error)
        return
    ledger.succeed(record, response, remote_id=str((response.data or {}).get("id") or ""))


def _predecessors_recorded(parent: Operation) -> bool:
    """The Orders API checks each record against the ones before it: the authorization
    first, and every capture before a refund or a cancellation. Record those first."""
    payment = parent.payment
    if payment is None:
        return True
    try:
        authorization = record_authorization(payment)
    except (DinteroError, RetryLater) as error:
        logger.info(
            "Recording %s %s waits for the authorization record: %s", parent.kind, parent.reference, error
        )
        return False
    if authorization is None or authorization.state != State.SUCCEEDED:
        return False
    if parent.kind == Kind.CAPTURE:
        return True
    captures = Operation.objects.filter(payment=payment, kind=Kind.CAPTURE, state=State.SUCCEEDED)
    for capture in captures.exclude(pk=parent.pk).order_by("created_at", "pk"):
        if record_in_orders(capture.pk).state != State.SUCCEEDED:
            return False
    return True


def _claim_first_attempt(record: Operation) -> bool:
    """Count the first attempt (0 -> 1) in one conditional UPDATE; False if one was made before."""
    claimed = Operation.objects.filter(pk=record.pk, attempts=0).update(attempts=1, updated_at=timezone.now())
    if claimed:
        record.attempts = 1
    return bool(claimed)


def _record_failed(record: Operation, error: DinteroError) -> None:
    """A record is retried until it exists (read first), so it stays open."""
    ledger.fail(record, error)
    if record.state == State.FAILED:
        record.state = State.UNKNOWN
        record.completed_at = None
    if record.attempts >= get_settings().RECORD_MAX_ATTEMPTS:
        record.state = State.NEEDS_ATTENTION
    record.save()


def _record_operation(parent: Operation, kind: str) -> Operation:
    items = parent.items or _cancellation_items(parent)
    with transaction.atomic():
        record, _ = Operation.objects.get_or_create(
            parent=parent,
            defaults={
                "kind": kind,
                "order": parent.order,
                "payment": parent.payment,
                "amount": sum(int(i["amount"]) for i in items),
                "items": [{"line_id": int(i["line_id"]), "amount": int(i["amount"])} for i in items],
                "created_by": parent.created_by,
            },
        )
    return record


def _cancellation_items(parent: Operation) -> list[dict[str, Any]]:
    assert parent.payment is not None
    return [
        {"line_id": b.line.line_id, "amount": b.capturable}
        for b in line_balances(parent.payment)
        if b.capturable > 0
    ]


def _record_body(parent: Operation, record: Operation) -> dict[str, Any]:
    assert parent.payment is not None
    return {
        "items": record.items,
        "payment_details": {"payment_id": parent.payment.transaction_id},
        "success": True,
        "processed_by": "dintero-checkout",
        "processed_at": (parent.completed_at or timezone.now()).isoformat(),
        "metadata": {"dintero_django_reference": parent.reference},
    }


def adopt_external_moves(payment: Payment) -> list[Operation]:
    """Captures and refunds made outside our operations (auto-capture, Dintero's Backoffice)
    become succeeded ledger rows, recorded in the Orders API like our own (read before write).

    Idempotent: the reference is derived from the transaction and event ids.
    """
    adopted = _adopt_rows(payment)
    for operation in adopted:
        record_in_orders(operation.pk)
    return adopted


def _adopt_rows(payment: Payment) -> list[Operation]:
    """The ledger rows of :func:`adopt_external_moves`, without recording them."""
    payment = Payment.objects.select_related("order").get(pk=payment.pk)
    events = (payment.raw or {}).get("events") or []
    if not any(event.get("success") and event.get("event") in ("CAPTURE", "REFUND") for event in events):
        return []  # nothing moved yet (a fresh authorization): no ledger or lines to read
    ours = set(
        Operation.objects.filter(payment=payment, kind__in=MONEY_KINDS).values_list("reference", flat=True)
    )
    lines = list(payment.order.lines.order_by("line_id"))
    moved: dict[str, dict[int, int]] = {"CAPTURE": defaultdict(int), "REFUND": defaultdict(int)}
    adopted: list[Operation] = []
    for event in events:
        name = event.get("event")
        if not event.get("success") or name not in moved:
            continue
        items = [
            {"line_id": _line_id(i.get("line_id")), "amount": int(i.get("amount") or 0)}
            for i in event.get("items") or []
        ] or _spread(lines, moved, name, int(event.get("amount") or 0))
        for item in items:
            moved[name][item["line_id"]] += item["amount"]
        if event.get("event_reference") in ours:
            continue
        digest = hashlib.sha256(f"{payment.transaction_id}:{event.get('id')}".encode()).hexdigest()
        operation, _ = Operation.objects.get_or_create(
            reference=f"dx-{digest[:20]}",
            defaults={
                "kind": Kind.CAPTURE if name == "CAPTURE" else Kind.REFUND,
                "state": State.SUCCEEDED,
                "order": payment.order,
                "payment": payment,
                "amount": int(event.get("amount") or 0),
                "items": items,
                "remote_id": str(event.get("id") or ""),
                "reason": f"made outside dintero-django by {event.get('created_by') or 'Dintero'}"[:255],
                "completed_at": timezone.now(),
            },
        )
        adopted.append(operation)
    return adopted


def _spread(
    lines: list[OrderLine], moved: dict[str, dict[int, int]], name: str, amount: int
) -> list[dict[str, Any]]:
    """Items for an item-less capture/refund: filled line by line, as items_for does."""
    items = []
    for line in lines:
        ceiling = line.amount if name == "CAPTURE" else moved["CAPTURE"][line.line_id]
        take = min(amount, max(ceiling - moved[name][line.line_id], 0))
        if take > 0:
            items.append({"line_id": line.line_id, "amount": take})
            amount -= take
    return items


def open_operations() -> Any:
    """Money operations and Orders-API records not settled yet (for the reconciler)."""
    return Operation.objects.filter(state__in=Operation.OPEN_STATES, kind__in=[*MONEY_KINDS, *_RECORD_KINDS])


_RECORD_KINDS = [kind for kind, _ in RECORD_OF.values()]


__all__ = [
    "LineBalance",
    "adopt_external_moves",
    "cancel",
    "capture",
    "find_event",
    "items_for",
    "line_balances",
    "open_operations",
    "record_in_orders",
    "refund",
    "remote_amounts",
    "resolve",
]
