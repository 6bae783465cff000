"""Use cases for local orders: create, place, and push them to the Orders API."""

from __future__ import annotations

import contextlib
import secrets
import string
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..adapters import LineInput, get_adapter
from ..client import OrdersClient
from ..exceptions import DinteroClientError, DinteroError, DinteroNotFound
from ..models import Operation, Order, OrderLine
from . import dispatch, ledger
from .leases import order_lease

ORDER_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_order_id() -> str:
    """A 9-character [A-Z0-9] order_id, the shape of Dintero's ALPHANUMERIC_9."""
    return "".join(secrets.choice(ORDER_ID_ALPHABET) for _ in range(9))


def create_order(
    lines: Iterable[LineInput],
    *,
    currency: str = "NOK",
    customer: Any = None,
    guest_key: str = "",
    email: str = "",
    phone: str = "",
    shop_reference: str = "",
    discount_codes: Sequence[str] = (),
    order_discounts: Sequence[dict[str, Any]] = (),
) -> Order:
    """Create an order with its lines in one transaction (the draft follows on commit)."""
    with transaction.atomic():
        for _ in range(5):
            try:
                with transaction.atomic():
                    order = Order.objects.create(
                        currency=currency,
                        customer=customer,
                        guest_key=guest_key,
                        email=email,
                        phone=phone,
                        discount_codes=list(discount_codes),
                        order_discounts=list(order_discounts),
                        shop_reference=shop_reference,
                        dintero_order_id=new_order_id(),
                    )
                break
            except IntegrityError:  # an order_id collision: draw again
                continue
        else:  # pragma: no cover - 36**9 ids make this practically impossible
            raise RuntimeError("could not allocate a unique order_id")
        OrderLine.objects.bulk_create(
            OrderLine(order=order, line_id=number, **line.as_fields())
            for number, line in enumerate(lines, start=1)
        )
    # The post_save receiver already scheduled the draft; it reads the lines
    # after commit, so they are included.
    return order


def touch(order: Order) -> None:
    """Note a local change; the draft is brought up to date after commit."""
    Order.objects.filter(pk=order.pk).update(revision=F("revision") + 1)
    dispatch.push_order(order.pk)


def place_order(order: Order, *, push: bool = True) -> Order:
    """The customer committed: the draft will be completed in Dintero.

    ``push=False`` when the caller completes the draft itself, under the order's lease
    (checkout): then no push task is queued, which would only find the lease taken.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        if locked.status == Order.Status.DRAFT:
            locked.status = Order.Status.PLACED
            locked.placed_at = locked.updated_at = timezone.now()
            if push:  # the post_save receiver queues the push after commit
                locked.save(update_fields=["status", "placed_at", "updated_at"])
            else:
                Order.objects.filter(pk=locked.pk).update(
                    status=locked.status, placed_at=locked.placed_at, updated_at=locked.updated_at
                )
    return locked


def push_order(order_pk: int) -> Order:
    """Bring the Dintero draft/order up to date. Idempotent; safe to re-run.

    Never creates a second draft once one is stored, and never completes twice:
    a lost complete response is resolved by reading the order back by the
    order_id we chose.
    """
    with order_lease(order_pk):
        return push_order_locked(order_pk)


def push_order_locked(order_pk: int) -> Order:
    """:func:`push_order` for a caller that already holds the order's lease."""
    order = Order.objects.get(pk=order_pk)
    if order.status == Order.Status.CANCELLED or order.completed:
        return order
    client = OrdersClient()
    if not order.dintero_draft_id:
        _create_draft(client, order)
    elif order.synced_revision < order.revision:
        _update_draft(client, order)
    if order.status == Order.Status.PLACED:
        _complete(client, order)
    return order


def _lines(order: Order) -> list[OrderLine]:
    return list(order.lines.order_by("line_id"))


def _create_draft(client: OrdersClient, order: Order) -> None:
    revision = order.revision
    body = get_adapter().draft_body(order, _lines(order))
    operation = ledger.begin(Operation.Kind.CREATE_DRAFT, order)
    ledger.attempt(operation)
    try:
        draft = client.create_draft(body)
    except DinteroError as error:
        ledger.fail(operation, error)
        _note_error(order, error)
        raise
    order.dintero_draft_id = str(draft["id"])
    order.synced_revision = revision
    order.remote_error = ""
    order.save(update_fields=["dintero_draft_id", "synced_revision", "remote_error", "updated_at"])
    ledger.succeed(operation, remote_id=order.dintero_draft_id)


def _update_draft(client: OrdersClient, order: Order) -> None:
    """Bring the draft's lines in line with ours by Dintero's documented item calls.

    Dintero documents ``POST …/draft_orders/{id}/items`` and ``PUT`` / ``DELETE
    …/items/{line_id}``, not a whole-draft PUT. The draft is read first (``GET
    …/draft_orders/{id}``), so a retry after a lost answer only sends what still differs.
    Draft-level fields (order_id, currency, customer) stay as the first push sent them.
    """
    revision = order.revision
    adapter = get_adapter()
    wanted = {line.line_id: adapter.draft_item(line) for line in _lines(order)}
    operation = ledger.begin(Operation.Kind.UPDATE_DRAFT, order)
    ledger.attempt(operation)
    try:
        _sync_items(client, order.dintero_draft_id, wanted)
    except DinteroError as error:
        ledger.fail(operation, error)
        _note_error(order, error)
        raise
    Order.objects.filter(pk=order.pk, synced_revision__lt=revision).update(synced_revision=revision)
    order.synced_revision = max(order.synced_revision, revision)
    ledger.succeed(operation, remote_id=order.dintero_draft_id)


def _sync_items(client: OrdersClient, draft_id: str, wanted: dict[int, dict[str, Any]]) -> None:
    draft = client.get_draft(draft_id)
    remote = {_int(item.get("line_id")): item for item in (draft.get("order") or {}).get("items") or []}
    for line_id in sorted(set(remote) - set(wanted)):
        with contextlib.suppress(DinteroNotFound):  # already gone: a retry after a lost answer
            client.delete_draft_item(draft_id, line_id)
    for line_id, item in sorted(wanted.items()):
        if line_id not in remote:
            client.add_draft_item(draft_id, item)
        elif not _covers(remote[line_id], item):
            client.update_draft_item(draft_id, line_id, item)


def _covers(remote: Any, sent: Any) -> bool:
    """Whether ``remote`` holds everything we send (Dintero may add fields of its own)."""
    if isinstance(sent, dict):
        return isinstance(remote, dict) and all(_covers(remote.get(k), v) for k, v in sent.items())
    if isinstance(sent, list):
        return (
            isinstance(remote, list)
            and len(remote) == len(sent)
            and all(_covers(r, v) for r, v in zip(remote, sent, strict=True))
        )
    return bool(remote == sent)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _complete(client: OrdersClient, order: Order) -> None:
    if order.synced_revision < order.revision:
        _update_draft(client, order)
    # Read back first only if an earlier attempt may have completed it (its answer
    # lost); the first attempt needs no read, and a 4xx below is read back anyway.
    if _attempted_before(order) and _already_completed(client, order):
        ledger.settle_earlier(order.pk, Operation.Kind.COMPLETE_ORDER)
        return
    operation = ledger.begin(Operation.Kind.COMPLETE_ORDER, order)
    ledger.attempt(operation)
    try:
        orders = client.complete_draft(order.dintero_draft_id)
    except DinteroClientError as error:
        # "Already completed" (a lost response earlier) reads back as success.
        if _already_completed(client, order):
            ledger.succeed(operation, remote_id=order.dintero_order_uuid)
            return
        ledger.fail(operation, error)
        _note_error(order, error)
        raise
    except DinteroError as error:
        ledger.fail(operation, error)
        _note_error(order, error)
        raise
    _mark_completed(order, orders[0] if orders else {})
    ledger.succeed(operation, remote_id=order.dintero_order_uuid)


def _attempted_before(order: Order) -> bool:
    return Operation.objects.filter(order=order, kind=Operation.Kind.COMPLETE_ORDER).exists()


def _already_completed(client: OrdersClient, order: Order) -> bool:
    if not order.dintero_order_id:
        return False
    # GET …/orders/{order_id} is not documented; the order's events list is.
    if not client.order_exists(order.dintero_order_id):
        return False
    _mark_completed(order, {})
    return True


def _mark_completed(order: Order, remote: dict[str, Any]) -> None:
    # Dintero keeps the order_id we chose; adopt theirs if it ever differs.
    order.dintero_order_id = str(remote.get("order_id") or order.dintero_order_id or remote.get("id"))
    order.dintero_order_uuid = str(remote.get("id") or order.dintero_order_uuid or "")
    order.completed = True
    order.status = Order.Status.OPEN
    order.remote_error = ""
    order.save(
        update_fields=[
            "dintero_order_id",
            "dintero_order_uuid",
            "completed",
            "status",
            "remote_error",
            "updated_at",
        ]
    )


def _note_error(order: Order, error: DinteroError) -> None:
    Order.objects.filter(pk=order.pk).update(remote_error=str(error)[:2000])
