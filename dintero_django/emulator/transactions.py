"""Checkout transactions: read, list, capture, refund, void (200 or 202 + later)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import transitions
from . import validation as v
from .routing import ApiError, JSONDict, Request, Response, Router, invalid, not_found
from .state import PendingOperation, Transaction, new_uuid
from .views import transaction_json

if TYPE_CHECKING:
    from .faults import Fault
    from .runtime import Runtime
    from .scheduler import Task, TaskBody


def register(router: Router) -> None:
    router.add("GET", "/v1/transactions", "transaction_list", list_transactions)
    router.add("GET", "/v1/transactions/{transaction_id}", "transaction_get", get_transaction)
    for kind in ("capture", "refund", "void"):
        router.add("POST", f"/v1/transactions/{{transaction_id}}/{kind}", kind, operate)


def find(rt: Runtime, transaction_id: str) -> Transaction:
    transaction = rt.store.transactions.get(transaction_id)
    if transaction is None:
        raise not_found("transaction")
    return transaction


# --- reads -----------------------------------------------------------------------------


def get_transaction(rt: Runtime, request: Request) -> Response:
    include_session = "session" in _includes(request)
    with rt.store.lock:
        transaction = find(rt, request.params["transaction_id"])
        return Response.json(200, transaction_json(rt, transaction, include_session=include_session))


def _includes(request: Request) -> set[str]:
    return {part for value in request.query.get("includes", []) for part in value.split(",")}


def _limit(request: Request) -> int:
    raw = request.arg("limit")
    if raw is None:
        return 10
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise invalid("limit", "must be an integer from 1 to 100")
    return int(raw)


def list_transactions(rt: Runtime, request: Request) -> Response:
    limit = _limit(request)
    wanted = {
        "id": set(request.query.get("id", [])),
        "session_id": set(request.query.get("session_id", [])),
        "status": set(request.query.get("status", [])),
    }
    reference = request.arg("merchant_reference")
    after = request.arg("starting_after")
    with rt.store.lock:
        # Newest first, like Dintero's listing; starting_after is the last id seen.
        found = list(reversed(rt.store.transactions.values()))
        if after is not None:
            ids = [t.id for t in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        selected = [
            transaction_json(rt, t)
            for t in found
            if (not wanted["id"] or t.id in wanted["id"])
            and (not wanted["session_id"] or t.session_id in wanted["session_id"])
            and (not wanted["status"] or t.status in wanted["status"])
            and (reference is None or t.merchant_reference == reference)
        ]
        return Response.json(200, selected[:limit])


# --- operations ------------------------------------------------------------------------


def _check_body(kind: str, request: Request) -> tuple[int | None, list[JSONDict], JSONDict]:
    if kind == "void":
        return None, [], {}
    body = request.json_object()
    amount = v.amount(body, "amount", "", minimum=1)
    items = v.array(body, "items", "", required=False) or []
    for index, item in enumerate(items):
        path = f"items[{index}]"
        if not isinstance(item, dict):
            raise invalid(path, "must be an object")
        v.string(item, "line_id", path)
        v.amount(item, "amount", path, minimum=0)
        quantity = v.number(item, "quantity", path)
        if quantity is not None and quantity <= 0:
            raise invalid(f"{path}.quantity", "must be > 0")
    reference_key = "capture_reference" if kind == "capture" else "refund_reference"
    v.string(body, reference_key, "", required=False)
    v.string(body, "reason", "", required=False)
    v.string_map(body, "metadata", "")
    return amount, items, body


def operate(rt: Runtime, request: Request) -> Response:
    kind = request.operation
    amount, items, body = _check_body(kind, request)
    reference = body.get("capture_reference" if kind == "capture" else "refund_reference")
    return perform(
        rt,
        request.params["transaction_id"],
        kind,
        amount,
        items,
        created_by=request.principal,
        reference=reference,
        metadata=body.get("metadata"),
        accept=request.fault if request.fault and request.fault.action == "accept_202" else None,
    )


def perform(
    rt: Runtime,
    transaction_id: str,
    kind: str,
    amount: int | None,
    items: list[JSONDict],
    *,
    created_by: str,
    reference: str | None = None,
    metadata: JSONDict | None = None,
    accept: Fault | None = None,
) -> Response:
    """Run a capture/refund/void (API or backoffice); ``accept`` answers 202 instead."""
    with rt.store.lock:
        transaction = find(rt, transaction_id)
        if amount is None:
            amount = _default_amount(transaction, kind)
        try:
            transitions.check(transaction, kind, amount, items, rt.config)
        except transitions.IllegalOperation as error:
            raise ApiError(rt.config.illegal_transition_status, error.message, error.code) from None
        operation = PendingOperation(
            request_id=new_uuid(),
            transaction_id=transaction.id,
            kind=kind,
            amount=amount,
            items=items or None,
            reference=reference,
            metadata=metadata,
            created_by=created_by,
            accepted_at=rt.clock.now(),
            due=None,
        )
        if accept is not None:
            return _accept(rt, transaction, operation, accept)
        _complete(rt, transaction, operation, correlation=None)
        return Response.json(200, transaction_json(rt, transaction))


def whole_lines_left(rt: Runtime, transaction_id: str, kind: str) -> list[JSONDict]:
    """Backoffice "capture/refund all" on a whole-line product (Instabank, Collector) names
    every line left, as Dintero's Backoffice does for them; other products need no items."""
    with rt.store.lock:
        transaction = find(rt, transaction_id)
        if not transitions.needs_whole_lines(transaction.payment_product_type):
            return []
        items = []
        for item in transaction.items:
            line = str(item["line_id"])
            captured = transaction.line_captured.get(line, 0)
            left = (
                int(item["amount"]) - captured
                if kind == "capture"
                else captured - transaction.line_refunded.get(line, 0)
            )
            if left > 0:
                items.append({"line_id": line, "quantity": item.get("quantity", 1), "amount": left})
        return items


def _default_amount(transaction: Transaction, kind: str) -> int:
    """Backoffice without an amount: everything that is left."""
    if kind == "capture":
        return transitions.capturable(transaction)
    if kind == "refund":
        return transitions.refundable(transaction)
    return transitions.void_amount(transaction)


def _complete(
    rt: Runtime, transaction: Transaction, operation: PendingOperation, correlation: str | None
) -> JSONDict:
    amount = operation.amount
    transitions.apply(transaction, operation.kind, amount, operation.items or [], rt.config)
    transaction.updated_at = rt.clock.now()
    event = transitions.add_event(
        transaction,
        transitions.EVENT_NAMES[operation.kind],
        rt.clock.iso(),
        operation.created_by,
        amount=amount,
        items=operation.items,
        # Dintero promises correlation_request_id (= the 202's event-request-id) on the
        # event that completes an accepted operation, not the reference: not copied then.
        event_reference=operation.reference if correlation is None else None,
        metadata=operation.metadata,
        correlation_request_id=correlation,
    )
    session = rt.store.sessions.get(transaction.session_id)
    if session is not None:
        rt.callbacks.event(session, transaction, event)
    return event


# --- 202 accepted, completed later -----------------------------------------------------


def _accept(rt: Runtime, transaction: Transaction, operation: PendingOperation, fault: Fault) -> Response:
    if operation.kind == "capture":
        transaction.reserved_capture += operation.amount
    elif operation.kind == "refund":
        transaction.reserved_refund += operation.amount
    initiate = transitions.add_event(
        transaction,
        transitions.INITIATE_NAMES[operation.kind],
        rt.clock.iso(),
        operation.created_by,
        amount=operation.amount,
        items=operation.items,
        event_reference=operation.reference,
    )
    operation.request_id = initiate["request_id"]
    transaction.updated_at = rt.clock.now()
    rt.store.pending[operation.request_id] = operation
    if fault.complete_after is not None:
        operation.due = rt.clock.now() + fault.complete_after
        rt.scheduler.submit(
            "pending",
            operation.due,
            _completer(rt, operation.request_id),
            delayed=fault.complete_after > 0,
        )
    headers = [("event-request-id", operation.request_id)]
    return Response.json(202, transaction_json(rt, transaction), headers)


def _completer(rt: Runtime, request_id: str) -> TaskBody:
    def run(task: Task) -> float | None:
        complete_pending(rt, request_id)
        return None

    return run


def complete_pending(rt: Runtime, request_id: str | None = None) -> list[JSONDict]:
    """Finish one (or every) accepted operation; returns the completing events."""
    with rt.store.lock:
        ids = list(rt.store.pending) if request_id is None else [request_id]
        events = []
        for pending_id in ids:
            operation = rt.store.pending.pop(pending_id, None)
            if operation is not None:
                events.append(_finish(rt, operation))
        return events


def _finish(rt: Runtime, operation: PendingOperation) -> JSONDict:
    transaction = rt.store.transactions[operation.transaction_id]
    if operation.kind == "capture":
        transaction.reserved_capture -= operation.amount
    elif operation.kind == "refund":
        transaction.reserved_refund -= operation.amount
    try:
        transitions.check(transaction, operation.kind, operation.amount, operation.items or [], rt.config)
    except transitions.IllegalOperation as error:
        # The world changed while it was pending: record a failed event, move nothing.
        transaction.updated_at = rt.clock.now()
        return transitions.add_event(
            transaction,
            transitions.EVENT_NAMES[operation.kind],
            rt.clock.iso(),
            operation.created_by,
            amount=operation.amount,
            success=False,
            error={"code": error.code, "message": error.message, "type": "DO_NOT_RETRY"},
            correlation_request_id=operation.request_id,
        )
    return _complete(rt, transaction, operation, correlation=operation.request_id)


def pending_json(rt: Runtime) -> list[JSONDict]:
    with rt.store.lock:
        return [
            {
                "request_id": op.request_id,
                "transaction_id": op.transaction_id,
                "kind": op.kind,
                "amount": op.amount,
                "accepted_at": rt.clock.iso(op.accepted_at),
                "due": None if op.due is None else rt.clock.iso(op.due),
            }
            for op in rt.store.pending.values()
        ]
