"""The test-control API under ``/_emulator/`` (no authentication, never faulted).

Tests drive the customer's side (pay, resolve ON_HOLD), act as Dintero's Backoffice,
read the request and callback logs, move the virtual clock, inject faults, change
config knobs and inspect state. :class:`~.client.EmulatorControl` wraps every route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import orders, payments, transactions
from . import validation as v
from .config import ConfigError, EmulatorConfig
from .faults import OPERATIONS, FaultError
from .routing import ApiError, Handler, JSONDict, Request, Response, Router, invalid, not_found
from .views import session_json, transaction_json

if TYPE_CHECKING:
    from .runtime import Runtime

P = "/_emulator"


def register(router: Router) -> None:
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/health", health),
        ("POST", "/sessions/{session_id}/pay", pay),
        ("GET", "/sessions/{session_id}", get_session),
        ("POST", "/transactions/{transaction_id}/resolve", resolve),
        ("POST", "/transactions/{transaction_id}/{kind}", backoffice),
        ("GET", "/transactions/{transaction_id}", get_transaction),
        ("GET", "/orders/{order_id}", get_order),
        ("GET", "/requests", requests_log),
        ("GET", "/callbacks", callbacks_log),
        ("POST", "/callbacks/wait", wait_callbacks),
        ("POST", "/reset", reset),
        ("GET", "/clock", clock),
        ("POST", "/clock/advance", advance_clock),
        ("GET", "/config", get_config),
        ("POST", "/config", set_config),
        ("GET", "/config/knobs", knobs),
        ("GET", "/state", state),
        ("GET", "/faults", list_faults),
        ("POST", "/faults", add_fault),
        ("DELETE", "/faults", clear_faults),
        ("DELETE", "/faults/{fault_id}", remove_fault),
        ("GET", "/operations", operations),
        ("GET", "/pending", pending),
        ("POST", "/pending/complete", complete_pending),
    ]
    for method, path, handler in routes:
        router.add(method, P + path, "control", handler, auth=False, public=False)


def _body(request: Request) -> JSONDict:
    return request.json_object(required=False)


def _ok() -> Response:
    return Response.json(200, {"ok": True})


def health(rt: Runtime, request: Request) -> Response:
    return Response.json(200, {"ok": True, "account_id": rt.account_id, "url": rt.base_url})


# --- customer side ---------------------------------------------------------------------


def pay(rt: Runtime, request: Request) -> Response:
    body = _body(request)
    outcome = v.string(body, "outcome", "") or ""
    product = v.string(body, "payment_product_type", "", required=False)
    result = payments.pay(rt, request.params["session_id"], outcome.upper(), payment_product_type=product)
    return Response.json(200, {"transaction_id": result.transaction_id, "redirect_url": result.redirect_url})


def resolve(rt: Runtime, request: Request) -> Response:
    outcome = v.string(_body(request), "outcome", "") or ""
    data = payments.resolve(rt, request.params["transaction_id"], outcome.upper())
    return Response.json(200, data)


def backoffice(rt: Runtime, request: Request) -> Response:
    kind = request.params["kind"]
    if kind not in ("capture", "refund", "void"):
        raise not_found(f"control route {request.path}")
    body = _body(request)
    amount = v.amount(body, "amount", "", required=False, minimum=1)
    if kind == "void" and amount is not None:
        raise invalid("amount", "void takes no amount")
    items = v.array(body, "items", "", required=False) or []
    if not items and amount is None and kind != "void":
        items = transactions.whole_lines_left(rt, request.params["transaction_id"], kind)
    return transactions.perform(
        rt,
        request.params["transaction_id"],
        kind,
        amount,
        items,
        created_by="backoffice",
        reference=body.get("reference"),
    )


# --- reading state ---------------------------------------------------------------------


def get_session(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        session = rt.store.sessions.get(request.params["session_id"])
        if session is None:
            raise not_found("session")
        return Response.json(200, session_json(rt, session))


def get_transaction(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        transaction = transactions.find(rt, request.params["transaction_id"])
        return Response.json(200, transaction_json(rt, transaction))


def get_order(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        order = rt.store.find_order(request.params["order_id"])
        if order is None:
            raise not_found("order")
        return Response.json(200, orders.order_json(rt, order, include_events=True))


def state(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        store = rt.store
        data = {
            "clock": rt.clock.iso(),
            "tokens": len(store.tokens),
            "sessions": [session_json(rt, s) for s in store.sessions.values()],
            "transactions": [transaction_json(rt, t) for t in store.transactions.values()],
            "drafts": [orders.draft_json(rt, d) for d in store.drafts.values()],
            "orders": [orders.order_json(rt, o, include_events=True) for o in store.orders.values()],
        }
        return Response.json(200, data)


def _since(request: Request) -> int:
    raw = request.arg("since") or "0"
    if not raw.isdigit():
        raise invalid("since", "must be a non-negative integer")
    return int(raw)


def requests_log(rt: Runtime, request: Request) -> Response:
    entries = rt.request_log.entries(_since(request))
    operation = request.arg("operation")
    if operation:
        entries = [entry for entry in entries if entry["operation"] == operation]
    return Response.json(200, {"requests": entries})


def callbacks_log(rt: Runtime, request: Request) -> Response:
    return Response.json(200, {"callbacks": rt.callback_log.entries(_since(request))})


def wait_callbacks(rt: Runtime, request: Request) -> Response:
    timeout = v.number(_body(request), "timeout", "")
    report = rt.scheduler.wait_idle(10.0 if timeout is None else timeout)
    return Response.json(
        200,
        {
            "idle": report.idle,
            "scheduled": report.scheduled,
            "busy": report.running,
            "pending_operations": len(rt.store.pending),
        },
    )


# --- clock, config, reset --------------------------------------------------------------


def reset(rt: Runtime, request: Request) -> Response:
    keep = v.boolean(_body(request), "keep_config", "") is True
    rt.reset(keep_config=keep)
    return _ok()


def _clock_json(rt: Runtime) -> JSONDict:
    return {"now": rt.clock.iso(), "timestamp": rt.clock.now(), "offset": rt.clock.offset}


def clock(rt: Runtime, request: Request) -> Response:
    return Response.json(200, _clock_json(rt))


def advance_clock(rt: Runtime, request: Request) -> Response:
    seconds = v.number(_body(request), "seconds", "", required=True)
    assert seconds is not None
    if seconds < 0:
        raise invalid("seconds", "the clock only moves forward")
    rt.clock.advance(seconds)
    return Response.json(200, _clock_json(rt))


def get_config(rt: Runtime, request: Request) -> Response:
    return Response.json(200, rt.config.to_dict())


def set_config(rt: Runtime, request: Request) -> Response:
    try:
        rt.config.update(_body(request))
    except ConfigError as error:
        raise ApiError(400, str(error), "INVALID_CONFIG") from None
    return Response.json(200, rt.config.to_dict())


def knobs(rt: Runtime, request: Request) -> Response:
    return Response.json(200, EmulatorConfig.describe())


# --- faults and pending operations -----------------------------------------------------


def list_faults(rt: Runtime, request: Request) -> Response:
    return Response.json(200, {"faults": rt.faults.list()})


def add_fault(rt: Runtime, request: Request) -> Response:
    try:
        fault = rt.faults.add(_body(request))
    except FaultError as error:
        raise ApiError(400, str(error), "INVALID_FAULT") from None
    return Response.json(200, fault.to_dict())


def clear_faults(rt: Runtime, request: Request) -> Response:
    rt.faults.clear()
    return _ok()


def remove_fault(rt: Runtime, request: Request) -> Response:
    raw = request.params["fault_id"]
    if not raw.isdigit() or not rt.faults.remove(int(raw)):
        raise not_found("fault")
    return _ok()


def operations(rt: Runtime, request: Request) -> Response:
    return Response.json(200, {"operations": [*OPERATIONS, "callback"]})


def pending(rt: Runtime, request: Request) -> Response:
    return Response.json(200, {"pending": transactions.pending_json(rt)})


def complete_pending(rt: Runtime, request: Request) -> Response:
    request_id = v.string(_body(request), "request_id", "", required=False)
    if request_id is not None and request_id not in rt.store.pending:
        raise not_found("pending operation")
    # A scheduled completion of the same operation later finds nothing left to do.
    events = transactions.complete_pending(rt, request_id)
    return Response.json(200, {"completed": events})
