"""Orders ("Shopping") API: drafts, completion into orders, and recorded operations.

The Orders API only records payment facts. Which amounts Dintero enforces is unknown
([U]), so by default the emulator applies the strict per-line rules recommended in
``dintero-orders-api.md`` §8 and ``orders_strict=false`` turns it into a plain ledger.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import validation as v
from .routing import ApiError, JSONDict, Request, Response, Router, invalid, not_found
from .state import OPERATION_KINDS, Draft, Order, alphanumeric_9, new_uuid

if TYPE_CHECKING:
    from .runtime import Runtime

BASE = "/v1/accounts/{aid}/shopping"
#: Path segment -> operation list; ``cancel`` is the overview page's alias [U].
KIND_BY_SEGMENT = {kind: kind for kind in OPERATION_KINDS} | {"cancel": "cancellations"}


def register(router: Router) -> None:
    drafts = f"{BASE}/draft_orders"
    router.add("POST", drafts, "draft_create", create_draft)
    router.add("GET", drafts, "draft_list", list_drafts)
    router.add("GET", drafts + "/{draft_id}", "draft_get", get_draft)
    router.add("PUT", drafts + "/{draft_id}", "draft_update", update_draft)
    router.add("POST", drafts + "/{draft_id}/items", "draft_item_add", add_item)
    router.add("PUT", drafts + "/{draft_id}/items/{line_id}", "draft_item_update", update_item)
    router.add("DELETE", drafts + "/{draft_id}/items/{line_id}", "draft_item_delete", delete_item)
    router.add("PUT", drafts + "/{draft_id}/complete", "draft_complete", complete_draft)
    orders = f"{BASE}/orders/{{order_id}}"
    router.add("GET", orders, "order_get", get_order)
    router.add("GET", orders + "/events", "order_events", list_events)
    router.add("POST", orders + "/{kind}", "order_op_create", create_operation)
    router.add("GET", orders + "/{kind}", "order_op_list", list_operations)
    router.add("GET", orders + "/{kind}/{op_id}", "order_op_get", get_operation)


# --- validation ------------------------------------------------------------------------


def check_item(item: Any, path: str) -> JSONDict:
    if not isinstance(item, dict):
        raise invalid(path, "must be an object")
    line_id = item.get("line_id")
    if isinstance(line_id, bool) or not isinstance(line_id, int):
        raise invalid(f"{path}.line_id", "is required (an integer)")
    v.amount(item, "gross_amount", path)
    v.number(item, "quantity", path, required=True)
    v.string(item, "id", path, required=False)
    v.string(item, "description", path, required=False)
    for index, line in enumerate(v.array(item, "tax_lines", path, required=False) or []):
        line_path = f"{path}.tax_lines[{index}]"
        if not isinstance(line, dict):
            raise invalid(line_path, "must be an object")
        v.amount(line, "amount", line_path)
        v.number(line, "percentage", line_path)
    return item


def _check_draft_body(body: JSONDict) -> tuple[JSONDict, JSONDict]:
    options = v.obj(body, "options", "", required=False) or {}
    generate = options.get("generate_order_id")
    if generate is not None and generate != "ALPHANUMERIC_9":
        raise invalid("options.generate_order_id", "only 'ALPHANUMERIC_9' is supported")
    if "order_id" in options:
        raise invalid("options.order_id", "adding a draft to an existing order is not emulated")
    split = v.boolean(options, "split_draft", "options")
    order = v.obj(body, "order", "")
    assert order is not None
    v.currency(order, "currency", "order")
    items = v.array(order, "items", "order") or []
    for index, item in enumerate(items):
        check_item(item, f"order.items[{index}]")
    v.unique(((i, item["line_id"]) for i, item in enumerate(items)), "order.items", "line_id")
    if v.string(order, "order_id", "order", required=False) and split:
        raise invalid("options.split_draft", "must be false when order.order_id is given")
    v.string(order, "merchant_reference", "order", required=False)
    return options, order


def _check_op_items(body: JSONDict, kind: str, strict: bool) -> list[JSONDict]:
    needs_items = strict and kind in ("captures", "refunds")
    items = v.array(body, "items", "", required=needs_items) or []
    if needs_items and not items:
        raise invalid("items", f"must list the order lines for {kind}")
    for index, item in enumerate(items):
        path = f"items[{index}]"
        if not isinstance(item, dict):
            raise invalid(path, "must be an object")
        line_id = item.get("line_id")
        if isinstance(line_id, bool) or not isinstance(line_id, int):
            raise invalid(f"{path}.line_id", "is required (an integer)")
        v.amount(item, "amount", path)
    return items


# --- amounts ---------------------------------------------------------------------------


def _totals(items: list[JSONDict]) -> JSONDict:
    gross = sum(int(item["gross_amount"]) for item in items)
    tax = sum(int(line["amount"]) for item in items for line in item.get("tax_lines") or [])
    return {
        "gross_amount": gross,
        "net_amount": gross - tax,
        "total_discount": 0,
        "total_manual_discount_amount": 0,
    }


def _per_line(order: Order, kind: str) -> dict[int, int]:
    sums: dict[int, int] = {}
    for op in order.operations[kind]:
        if op.get("success", True):
            for item in op.get("items") or []:
                sums[item["line_id"]] = sums.get(item["line_id"], 0) + item["amount"]
    return sums


def _sum(order: Order, kind: str) -> int:
    return sum(_per_line(order, kind).values())


def _has(order: Order, kind: str) -> bool:
    return any(op.get("success", True) for op in order.operations[kind])


#: Derived payment state, first match wins. Names come from orders_payment_status_names.
PAYMENT_STATUS_RULES: tuple[tuple[str, Callable[[dict[str, int], bool], bool]], ...] = (
    ("refunded", lambda t, _: t["refunded"] > 0 and t["refunded"] >= t["captured"]),
    ("partially_refunded", lambda t, _: t["refunded"] > 0),
    ("captured", lambda t, _: t["captured"] > 0 and t["captured"] >= t["gross"]),
    ("partially_captured", lambda t, _: t["captured"] > 0),
    ("cancelled", lambda _, cancelled: cancelled),
    ("authorized", lambda t, _: t["authorized"] > 0 and t["authorized"] >= t["gross"]),
    ("partially_authorized", lambda t, _: t["authorized"] > 0),
    ("pending", lambda _t, _c: True),
)


def payment_status(rt: Runtime, order: Order) -> str:
    totals = {
        "gross": _totals(order.data["items"])["gross_amount"],
        "authorized": _sum(order, "authorizations"),
        "captured": _sum(order, "captures"),
        "refunded": _sum(order, "refunds"),
    }
    cancelled = _has(order, "cancellations")
    state = next(name for name, rule in PAYMENT_STATUS_RULES if rule(totals, cancelled))
    return rt.config.orders_payment_status_names.get(state, state)


def _limits(order: Order, kind: str) -> dict[int, int]:
    gross = {item["line_id"]: item["gross_amount"] for item in order.data["items"]}
    authorized = _per_line(order, "authorizations")
    captured = _per_line(order, "captures")
    refunded = _per_line(order, "refunds")
    cancelled = _per_line(order, "cancellations")
    limits: dict[int, int] = {}
    for line, total in gross.items():
        auth, cap = authorized.get(line, 0), captured.get(line, 0)
        if kind == "authorizations":
            limits[line] = total - auth
        elif kind == "captures":
            limits[line] = auth - cap - cancelled.get(line, 0)
        elif kind == "refunds":
            limits[line] = cap - refunded.get(line, 0)
        else:
            base = auth if line in authorized else total
            limits[line] = base - cap - cancelled.get(line, 0)
    return limits


def _check_amounts(order: Order, kind: str, items: list[JSONDict]) -> None:
    limits = _limits(order, kind)
    requested: dict[int, int] = {}
    for index, item in enumerate(items):
        if item["line_id"] not in limits:
            raise invalid(f"items[{index}].line_id", f"unknown line_id {item['line_id']}")
        requested[item["line_id"]] = requested.get(item["line_id"], 0) + item["amount"]
    gross = {item["line_id"]: item["gross_amount"] for item in order.data["items"]}
    for line, amount in requested.items():
        sign = -1 if gross[line] < 0 else 1
        if sign * amount < 0 or sign * amount > sign * limits[line]:
            raise ApiError(
                400,
                f"{kind}: {amount} on line_id {line} exceeds the {limits[line]} available",
                "AMOUNT_EXCEEDED",
            )
    if kind == "cancellations" and not items:
        captured, authorized = _sum(order, "captures"), _sum(order, "authorizations")
        if captured > 0 and captured >= authorized:
            raise ApiError(400, "cancellations: the order is fully captured", "AMOUNT_EXCEEDED")


# --- JSON views ------------------------------------------------------------------------


def draft_json(rt: Runtime, draft: Draft) -> JSONDict:
    data: JSONDict = {
        "id": draft.id,
        "options": draft.options,
        "order": {**draft.order, **_totals(draft.order["items"])},
        "events": draft.events,
        "created_at": rt.clock.iso(draft.created_at),
        "created_by": draft.created_by,
        "updated_at": rt.clock.iso(draft.updated_at),
    }
    if draft.completed_at is not None:
        data["completed_at"] = rt.clock.iso(draft.completed_at)
    return data


def order_json(rt: Runtime, order: Order, *, include_events: bool = False) -> JSONDict:
    data: JSONDict = {key: value for key, value in order.data.items() if key != "order_id"}
    data.update(_totals(order.data["items"]))
    data.update(
        {
            "id": order.id,
            "order_id": order.order_id,
            "draft_id": order.draft_id,
            "status": order.status,
            "payment_status": payment_status(rt, order),
            "created_at": rt.clock.iso(order.created_at),
            "created_by": order.created_by,
            "updated_at": rt.clock.iso(order.updated_at),
        }
    )
    for kind in OPERATION_KINDS:
        data[kind] = order.operations[kind]
    if include_events:
        data["events"] = order.events
    return data


# --- handlers: drafts ------------------------------------------------------------------


def _draft(rt: Runtime, request: Request, *, writable: bool = False) -> Draft:
    draft = rt.store.drafts.get(request.params["draft_id"])
    if draft is None:
        raise not_found("draft order")
    if writable and draft.completed_at is not None:
        status = rt.config.orders_completed_draft_status
        raise ApiError(status, "draft order is already completed", "DRAFT_COMPLETED")
    return draft


def _touch(rt: Runtime, draft: Draft, request: Request) -> None:
    draft.updated_at = rt.clock.now()
    draft.events.append(_api_event(rt, request))


def _api_event(rt: Runtime, request: Request) -> JSONDict:
    return {
        "id": new_uuid(),
        "event_type": "api-event",
        "created_at": rt.clock.iso(),
        "created_by": request.principal,
        "request": {
            "path": request.path,
            "method": request.method,
            "body": request.body.decode("utf-8", "replace"),
        },
    }


def create_draft(rt: Runtime, request: Request) -> Response:
    options, order = _check_draft_body(request.json_object())
    now = rt.clock.now()
    draft = Draft(new_uuid(), options, order, now, now, request.principal)
    with rt.store.lock:
        rt.store.drafts[draft.id] = draft
        return Response.json(rt.config.orders_create_status, draft_json(rt, draft))


def list_drafts(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        drafts = [draft_json(rt, draft) for draft in rt.store.drafts.values()]
    return Response.json(200, {"draft_orders": drafts})


def get_draft(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        return Response.json(200, draft_json(rt, _draft(rt, request)))


def update_draft(rt: Runtime, request: Request) -> Response:
    """Whole-draft PUT: not in Dintero's docs ([U]); only served with the ``lenient`` knob.

    Dintero documents the item calls (``/draft_orders/{id}/items[/{line_id}]``) to change a
    draft; an undocumented route answers like any unknown route would, 405.
    """
    if not rt.config.lenient:
        raise ApiError(405, "PUT /draft_orders/{id} is not a documented call", "METHOD_NOT_ALLOWED")
    options, order = _check_draft_body(request.json_object())
    with rt.store.lock:
        draft = _draft(rt, request, writable=True)
        draft.options, draft.order = options, order
        _touch(rt, draft, request)
        return Response.json(200, draft_json(rt, draft))


def _path_line_id(request: Request) -> int:
    raw = request.params["line_id"]
    if not raw.lstrip("-").isdigit():
        raise invalid("line_id", "must be an integer")
    return int(raw)


def add_item(rt: Runtime, request: Request) -> Response:
    item = check_item(request.json_object(), "item")
    with rt.store.lock:
        draft = _draft(rt, request, writable=True)
        if any(existing["line_id"] == item["line_id"] for existing in draft.order["items"]):
            raise invalid("item.line_id", f"duplicate line_id {item['line_id']}")
        draft.order["items"].append(item)
        _touch(rt, draft, request)
        return Response.json(200, draft_json(rt, draft))


def _item_index(draft: Draft, line_id: int) -> int:
    for index, item in enumerate(draft.order["items"]):
        if item["line_id"] == line_id:
            return index
    raise not_found(f"line_id {line_id}")


def update_item(rt: Runtime, request: Request) -> Response:
    line_id = _path_line_id(request)
    body = request.json_object()
    body.setdefault("line_id", line_id)
    item = check_item(body, "item")
    if item["line_id"] != line_id:
        raise invalid("item.line_id", "must match the line_id in the path")
    with rt.store.lock:
        draft = _draft(rt, request, writable=True)
        draft.order["items"][_item_index(draft, line_id)] = item
        _touch(rt, draft, request)
        return Response.json(200, draft_json(rt, draft))


def delete_item(rt: Runtime, request: Request) -> Response:
    line_id = _path_line_id(request)
    with rt.store.lock:
        draft = _draft(rt, request, writable=True)
        del draft.order["items"][_item_index(draft, line_id)]
        _touch(rt, draft, request)
        return Response.json(200, draft_json(rt, draft))


def _new_order_id(rt: Runtime, draft: Draft, order_uuid: str) -> str:
    custom = draft.order.get("order_id")
    if custom:
        if custom in rt.store.order_index:
            raise ApiError(400, f"order.order_id {custom!r} already exists", "DUPLICATE_ORDER_ID")
        return str(custom)
    if draft.options.get("generate_order_id") == "ALPHANUMERIC_9":
        while (candidate := alphanumeric_9()) in rt.store.order_index:
            continue
        return candidate
    return order_uuid


def complete_draft(rt: Runtime, request: Request) -> Response:
    with rt.store.lock:
        draft = _draft(rt, request)
        if draft.completed_at is not None:
            if rt.config.orders_recomplete != "return_existing":
                raise ApiError(400, "draft order is already completed", "DRAFT_COMPLETED")
            orders = [rt.store.orders[order_id] for order_id in draft.order_ids]
            return Response.json(200, {"orders": [order_json(rt, o) for o in orders]})
        order_uuid = new_uuid()
        now = rt.clock.now()
        order = Order(
            id=order_uuid,
            order_id=_new_order_id(rt, draft, order_uuid),
            draft_id=draft.id,
            data=json.loads(json.dumps(draft.order)),
            created_at=now,
            updated_at=now,
            created_by=request.principal,
        )
        order.events.append({**_api_event(rt, request), "draft_id": draft.id})
        rt.store.orders[order.id] = order
        rt.store.order_index[order.order_id] = order.id
        draft.completed_at = now
        draft.order_ids.append(order.id)
        return Response.json(200, {"orders": [order_json(rt, order)]})


# --- handlers: orders and operations ---------------------------------------------------


def _order(rt: Runtime, request: Request) -> Order:
    order = rt.store.find_order(request.params["order_id"])
    if order is None:
        raise not_found("order")
    return order


def _kind(request: Request, *, create: bool) -> str:
    segment = request.params["kind"]
    kind = KIND_BY_SEGMENT.get(segment)
    if kind is None or (segment == "cancel" and not create):
        raise not_found(f"order resource {segment!r}")
    return kind


#: Order reads Dintero does not document ([U]): served only with the ``lenient`` knob.
#: ``GET …/orders/{order_id}`` (only the store-scoped GET is documented), the
#: cancellations list and single authorization / capture / refund reads.
UNDOCUMENTED_READS = frozenset({"authorizations", "captures", "refunds"})


def _documented_only(rt: Runtime, what: str) -> None:
    if not rt.config.lenient:
        raise ApiError(404, f"no such endpoint: GET {what}", "NOT_FOUND")


def get_order(rt: Runtime, request: Request) -> Response:
    _documented_only(rt, "…/orders/{order_id}")
    with rt.store.lock:
        order = _order(rt, request)
        return Response.json(200, order_json(rt, order, include_events=request.flag("include_events")))


def create_operation(rt: Runtime, request: Request) -> Response:
    kind = _kind(request, create=True)
    body = request.json_object()
    strict = rt.config.orders_strict
    items = _check_op_items(body, kind, strict)
    success = v.boolean(body, "success", "")
    v.obj(body, "payment_details", "", required=False)
    v.obj(body, "metadata", "", required=False)
    with rt.store.lock:
        order = _order(rt, request)
        if strict and success is not False:
            _check_amounts(order, kind, items)
        operation = {
            **body,
            "success": success is not False,
            "id": new_uuid(),
            "created_at": rt.clock.iso(),
            "created_by": request.principal,
            "amount": sum(item["amount"] for item in items),
            "_links": [],
        }
        order.operations[kind].append(operation)
        order.updated_at = rt.clock.now()
        order.events.append(_api_event(rt, request))
        return Response.json(rt.config.orders_create_status, operation)


def list_events(rt: Runtime, request: Request) -> Response:
    """``GET …/orders/{order_id}/events`` (docs: orderlist/order-events-collection).

    ``state`` follows the documented rule over service events; api events do not count,
    so an order without service events is ``pending``.
    """
    with rt.store.lock:
        events = list(_order(rt, request).events)
    latest: dict[str, str] = {}
    for event in events:
        if event.get("event_type") == "service-event":
            latest[str(event.get("service"))] = str(event.get("state"))
    if any(state in ("error", "failure") for state in latest.values()):
        state = "failure"
    elif not latest or "pending" in latest.values():
        state = "pending"
    else:
        state = "success"
    return Response.json(200, {"events": events, "state": state})


def list_operations(rt: Runtime, request: Request) -> Response:
    kind = _kind(request, create=False)
    if kind == "cancellations":
        _documented_only(rt, "…/orders/{order_id}/cancellations")
    with rt.store.lock:
        return Response.json(200, {kind: list(_order(rt, request).operations[kind])})


def get_operation(rt: Runtime, request: Request) -> Response:
    kind = _kind(request, create=False)
    if kind in UNDOCUMENTED_READS:
        _documented_only(rt, f"…/orders/{{order_id}}/{kind}/{{id}}")
    with rt.store.lock:
        for operation in _order(rt, request).operations[kind]:
            if operation["id"] == request.params["op_id"]:
                return Response.json(200, operation)
    raise not_found(kind[:-1])
