"""Ledger helpers: an Operation row is written before a remote call and
completed after it, each in its own short transaction."""

from __future__ import annotations

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
