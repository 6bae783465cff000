"""Recording payment facts in the Orders API, exactly once each.

Every fact (the authorization, each capture, refund and void) is its own ledger
row, read before write when an earlier attempt may have been applied with its
answer lost. The Orders API checks each record against the ones before it, so
predecessors are recorded first. One writer per order at a time (the lease).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..client import OrdersClient
from ..client.orders import OperationCollection
from ..conf import get_settings
from ..exceptions import DinteroError
from ..models import Operation, Payment
from . import ledger
from .adoption import adopt_rows
from .balances import line_balances
from .leases import Busy, order_lease
from .retry import RetryLater

logger = logging.getLogger("dintero_django.money")

Kind = Operation.Kind
State = Operation.State
RECORD_OF: dict[str, tuple[str, OperationCollection]] = {
    Kind.CAPTURE: (Kind.RECORD_CAPTURE, "captures"),
    Kind.REFUND: (Kind.RECORD_REFUND, "refunds"),
    Kind.VOID: (Kind.RECORD_CANCELLATION, "cancellations"),
}


# -- the authorization -----------------------------------------------------------


def record_authorization(payment: Payment) -> Operation | None:
    """Record the authorization on the Dintero order exactly once (read before write)."""
    operation = _authorization_operation(payment)
    if operation.state == State.SUCCEEDED:
        return operation
    try:
        with order_lease(payment.order_id):
            operation.refresh_from_db()
            if operation.state != State.SUCCEEDED:
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
                kind=Kind.RECORD_AUTHORIZATION,
                payment=payment,
                defaults={"order": order, "amount": payment.authorized_amount, "items": items},
            )
    except IntegrityError:  # a concurrent sync created it first
        operation = Operation.objects.get(kind=Kind.RECORD_AUTHORIZATION, payment=payment)
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


# -- captures, refunds and voids ---------------------------------------------------


def record_in_orders(operation_pk: int) -> Operation:
    """Record a succeeded money operation on the Dintero order, exactly once."""
    parent = Operation.objects.select_related("payment", "order").get(pk=operation_pk)
    kind, collection = RECORD_OF[parent.kind]
    if parent.kind == Kind.REFUND and parent.payment is not None:
        # The Orders API refuses a refund of money it was never told was captured: make
        # sure captures made outside exist as rows (recorded below, as predecessors).
        adopt_rows(parent.payment)
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


def adopt_external_moves(payment: Payment) -> list[Operation]:
    """Captures and refunds made outside our operations (auto-capture, Dintero's Backoffice)
    become succeeded ledger rows, recorded in the Orders API like our own (read before write).
    """
    adopted = adopt_rows(payment)
    for operation in adopted:
        record_in_orders(operation.pk)
    return adopted


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
