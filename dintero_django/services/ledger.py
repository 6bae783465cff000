"""Ledger helpers: an Operation row is written before a remote call and
completed after it, each in its own short transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import F
from django.utils import timezone

from ..client import ApiResponse
from ..exceptions import DinteroAPIError, DinteroError, is_outcome_unknown
from ..models import Operation, Order, Payment


def begin(
    kind: str,
    order: Order,
    *,
    payment: Payment | None = None,
    amount: int = 0,
    items: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Operation:
    return Operation.objects.create(
        kind=kind, order=order, payment=payment, amount=amount, items=items or [], **fields
    )


def attempt(operation: Operation) -> None:
    Operation.objects.filter(pk=operation.pk).update(attempts=F("attempts") + 1, updated_at=timezone.now())
    operation.attempts += 1


def succeed(operation: Operation, response: ApiResponse | None = None, *, remote_id: str = "") -> None:
    operation.state = Operation.State.SUCCEEDED
    operation.completed_at = timezone.now()
    operation.remote_id = remote_id or operation.remote_id
    if response is not None:
        operation.http_status = response.status
        operation.request_id = response.request_id or operation.request_id
    operation.error_code = operation.error_message = ""
    operation.save()
    if operation.kind in Operation.RETRIED_STEPS:
        settle_earlier(operation.order_id, operation.kind, before=operation)


def settle_earlier(order_pk: int, kind: str, *, before: Operation | None = None) -> int:
    """Close the open attempts of a retried step (``Operation.RETRIED_STEPS``) whose goal
    is now reached: a later attempt succeeded, or a read showed it done. Their own
    outcome stays unknown (a lost draft creation may have left an unused draft), but
    nothing is left to do, so they no longer show as waiting to be read back.
    """
    earlier = Operation.objects.filter(order_id=order_pk, kind=kind, state__in=Operation.OPEN_STATES)
    if before is not None:
        earlier = earlier.filter(pk__lt=before.pk)
    now = timezone.now()
    return earlier.update(state=Operation.State.SETTLED, completed_at=now, updated_at=now)


def fail(operation: Operation, error: DinteroError) -> None:
    """Record a failure: definite (4xx) → failed; otherwise → unknown."""
    operation.state = Operation.State.UNKNOWN if is_outcome_unknown(error) else Operation.State.FAILED
    if operation.state == Operation.State.FAILED:
        operation.completed_at = timezone.now()
    operation.http_status = error.status
    operation.error_code = (error.code or type(error).__name__)[:64]
    operation.error_message = error.message[:2000]
    operation.save()


def api_status(error: DinteroError) -> int | None:
    return error.status if isinstance(error, DinteroAPIError) else None


def ours(payment: Payment, events: list[dict[str, Any]]) -> Callable[[dict[str, Any]], bool]:
    """Whether an event is one of our own operations (whatever its state).

    A 200 answer's event carries our reference (``event_reference``); the event that
    completes a 202 carries ``correlation_request_id`` = the 202's ``event-request-id``
    (spec: TransactionOperationAccepted), which we store as the operation's request_id,
    and which is also the ``request_id`` of the INITIATE_* event that may carry our
    reference (when the completion is read before our 202 answer was recorded).
    """
    rows = Operation.objects.filter(payment=payment, kind__in=Operation.MONEY_KINDS).values_list(
        "reference", "request_id"
    )
    references = {reference for reference, _ in rows}
    request_ids = {request_id for _, request_id in rows if request_id}
    request_ids |= {
        str(event.get("request_id"))
        for event in events
        if str(event.get("event") or "").startswith("INITIATE_")
        and event.get("event_reference") in references
    }

    def check(event: dict[str, Any]) -> bool:
        return event.get("event_reference") in references or (
            event.get("correlation_request_id") is not None
            and event.get("correlation_request_id") in request_ids
        )

    return check
