"""Checkout sessions: create from a profile, read, cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import transitions
from . import validation as v
from .customer import check_customer
from .discounts import check_discounts
from .routing import ApiError, JSONDict, Request, Response, Router, invalid, not_found
from .state import Session, checkout_id, new_uuid, parse_iso
from .views import session_json

if TYPE_CHECKING:
    from .runtime import Runtime

SYSTEM_HEADERS = (
    "Dintero-System-Name",
    "Dintero-System-Version",
    "Dintero-System-Plugin-Name",
    "Dintero-System-Plugin-Version",
)
DEFAULT_CONFIGURATION: JSONDict = {
    "auto_capture": False,
    "dintero_psp": {"type": "payment_type", "creditcard": {"enabled": True}},
}


def register(router: Router) -> None:
    router.add("POST", "/v1/sessions-profile", "session_create", create_session)
    router.add("GET", "/v1/sessions/{session_id}", "session_get", get_session)
    router.add("POST", "/v1/sessions/{session_id}/cancel", "session_cancel", cancel_session)


# --- validation ------------------------------------------------------------------------


def _check_items(order: JSONDict) -> list[JSONDict] | None:
    items = v.array(order, "items", "order", required=False)
    if items is None:
        return None
    for index, item in enumerate(items):
        path = f"order.items[{index}]"
        if not isinstance(item, dict):
            raise invalid(path, "must be an object")
        v.string(item, "line_id", path, required=False)
        v.amount(item, "amount", path)
        v.amount(item, "vat_amount", path, required=False)
        v.number(item, "quantity", path)
        v.number(item, "vat", path)
        v.string(item, "id", path, required=False)
        v.string(item, "description", path, required=False)
    return items


def _check_shipping(order: JSONDict) -> JSONDict | None:
    shipping = v.obj(order, "shipping_option", "order", required=False)
    if shipping is None:
        return None
    path = "order.shipping_option"
    for key in ("id", "line_id", "operator", "title"):
        v.string(shipping, key, path)
    v.amount(shipping, "amount", path)
    v.amount(shipping, "vat_amount", path, required=False)
    return shipping


def _check_line_ids(items: list[JSONDict], shipping: JSONDict | None) -> None:
    pairs = [(i, item["line_id"]) for i, item in enumerate(items) if "line_id" in item]
    v.unique(pairs, "order.items", "line_id")
    if shipping is not None and shipping["line_id"] in {line for _, line in pairs}:
        raise invalid("order.shipping_option.line_id", "duplicates an order.items line_id")


def _feature_toggles(request: Request) -> set[str]:
    raw = request.header("Dintero-Feature-Toggles") or ""
    return {part.strip() for part in raw.split(",") if part.strip()}


def _check_amount_sum(
    rt: Runtime,
    request: Request,
    order: JSONDict,
    items: list[JSONDict] | None,
    shipping: JSONDict | None,
) -> None:
    wanted = rt.config.session_amount_check == "always"
    if not wanted and "strict-session-amounts" not in _feature_toggles(request):
        return
    if items is None and shipping is None:
        return
    total = sum(item["amount"] for item in items or []) + (shipping or {}).get("amount", 0)
    amount = order["amount"]
    if order.get("partial_payment") is True:
        if amount > total:
            raise invalid("order.amount", f"must not exceed the sum of items + shipping ({total})")
    elif amount != total:
        raise invalid(
            "order.amount",
            f"must equal the sum of order.items[].amount + order.shipping_option.amount ({total})",
        )


def _check_order(rt: Runtime, request: Request, body: JSONDict) -> JSONDict:
    order = v.obj(body, "order", "")
    assert order is not None
    v.amount(order, "amount", "order", minimum=0)
    v.currency(order, "currency", "order")
    v.string(order, "merchant_reference", "order")
    v.string(order, "merchant_reference_2", "order", required=False)
    v.amount(order, "vat_amount", "order", required=False)
    v.boolean(order, "partial_payment", "order")
    items = _check_items(order)
    shipping = _check_shipping(order)
    _check_line_ids(items or [], shipping)
    _check_amount_sum(rt, request, order, items, shipping)
    return order


def _check_urls(body: JSONDict) -> JSONDict:
    urls = v.obj(body, "url", "")
    assert urls is not None
    v.http_url(urls.get("return_url"), "url.return_url")
    if urls.get("callback_url") is not None:
        v.callback_url(urls["callback_url"], "url.callback_url")
    return urls


def _expires_at(rt: Runtime, body: JSONDict) -> float:
    raw = body.get("expires_at")
    if raw is None:
        return rt.clock.now() + rt.config.session_ttl
    if not isinstance(raw, str):
        raise invalid("expires_at", "must be an ISO 8601 date-time string")
    try:
        return parse_iso(raw)
    except ValueError:
        raise invalid("expires_at", "must be an ISO 8601 date-time string") from None


def _system_headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in SYSTEM_HEADERS:
        value = request.header(name)
        if value is None:
            continue
        if len(value) > 120:
            raise invalid(name, "must be at most 120 characters")
        headers[name.lower()] = value
    agent = request.header("User-Agent")
    if agent:
        headers["user-agent"] = agent
    return headers


# --- views -----------------------------------------------------------------------------


def session_event(rt: Runtime, session: Session, name: str, **details: Any) -> None:
    event: JSONDict = {
        "id": new_uuid(),
        "name": name,
        "created_at": rt.clock.iso(),
        "request_id": new_uuid(),
    }
    if details:
        event["details"] = details
    session.events.append(event)
    session.updated_at = rt.clock.now()


def view_url(rt: Runtime, request: Request | None, session_id: str) -> str:
    host = request.header("Host") if request is not None else None
    base = f"http://{host}" if host else rt.base_url
    return f"{base}/v1/view/{session_id}/"


# --- handlers --------------------------------------------------------------------------


def create_session(rt: Runtime, request: Request) -> Response:
    body = request.json_object()
    profile_id = v.string(body, "profile_id", "")
    urls = _check_urls(body)
    order = _check_order(rt, request, body)
    metadata = v.string_map(body, "metadata", "") or {}
    configuration = v.obj(body, "configuration", "", required=False) or {}
    customer = v.obj(body, "customer", "", required=False)
    check_customer(body)
    check_discounts(body)
    now = rt.clock.now()
    stored: JSONDict = {
        "profile_id": profile_id,
        "url": urls,
        "order": order,
        "configuration": {**DEFAULT_CONFIGURATION, **configuration},
        "metadata": {**metadata, "session:profile_id": profile_id},
    }
    for key in ("express", "checkboxes", "merchant"):
        if key in body:
            stored[key] = body[key]
    if customer is not None:
        stored["customer"] = customer
    session = Session(
        id=checkout_id(rt.account_id),
        body=stored,
        created_at=now,
        updated_at=now,
        expires_at=_expires_at(rt, body),
        system_headers=_system_headers(request),
        created_by=request.principal,
    )
    session_event(rt, session, "INITIATED")
    with rt.store.lock:
        rt.store.sessions[session.id] = session
        created: JSONDict = {"id": session.id, "url": view_url(rt, request, session.id)}
        if request.flag("include_session"):
            created["session"] = session_json(rt, session)
        return Response.json(200, created)


def get_session(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        session = rt.store.sessions.get(request.params["session_id"])
        if session is None:
            raise not_found("session")
        return Response.json(200, session_json(rt, session))


def cancel_session(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        session = rt.store.sessions.get(request.params["session_id"])
        if session is None:
            raise not_found("session")
        if session.cancelled_at is None:
            _void_session_transaction(rt, session, request.principal)
            session.cancelled_at = rt.clock.now()
            session.cancelled_by = request.principal
            session_event(rt, session, "CANCELLED")
        return Response.json(200, session_json(rt, session))


def _void_session_transaction(rt: Runtime, session: Session, principal: str) -> None:
    """Dintero voids an initiated/authorized transaction and refuses any other state."""
    if session.transaction_id is None:
        return
    transaction = rt.store.transactions[session.transaction_id]
    if transaction.status not in transitions.VOIDABLE or transaction.captured:
        raise ApiError(
            rt.config.illegal_transition_status,
            f"cannot cancel the session: its transaction is {transaction.status}",
            "INVALID_STATE",
        )
    amount = transitions.void_amount(transaction)
    transitions.apply(transaction, "void", amount, [], rt.config)
    transaction.updated_at = rt.clock.now()
    event = transitions.add_event(transaction, "VOID", rt.clock.iso(), principal, amount=amount)
    rt.callbacks.event(session, transaction, event)
