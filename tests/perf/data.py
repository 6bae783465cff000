"""Realistic rows in bulk: orders with lines, payments, ledger operations and callbacks.

Used by the query-count tests (small sizes) and by the benchmarks (100 and 10,000
orders). ``bulk_create`` fires no signals, so no task is queued and Dintero is
never called.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from dintero_django.models import CallbackDelivery, Operation, Order, OrderLine, Payment

T = TypeVar("T", bound=models.Model)
BATCH = 2000
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LINES = [
    ("chair", "Stacking chair", 2, 19900),
    ("table", "Garden table", 1, 49900),
    ("", "Shipping", 1, 9900),
]
TOTAL = sum(quantity * unit for _, _, quantity, unit in LINES)
_serial = itertools.count(1)


def order_id(number: int) -> str:
    """A unique 9-character [A-Z0-9] order_id ("Z" + base 36), never drawn by new_order_id clashes."""
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = ALPHABET[rest] + digits
        if not number:
            break
    return "Z" + digits.rjust(8, "0")


def _batches(rows: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk(model: type[T], rows: Iterable[T]) -> list[T]:
    created: list[T] = []
    for batch in _batches(rows):
        created += model.objects.bulk_create(batch)  # type: ignore[attr-defined]
    return created


def transaction_json(tx_id: str, session_id: str, reference: str, captured: int) -> dict[str, Any]:
    """A transaction as Dintero returns it (about 1.5 KB with its events)."""
    events: list[dict[str, Any]] = [
        {
            "id": f"ev-{tx_id}-1",
            "event": "AUTHORIZE",
            "success": True,
            "amount": TOTAL,
            "created_at": "2025-01-01T12:00:00Z",
        }
    ]
    if captured:
        events.append(
            {
                "id": f"ev-{tx_id}-2",
                "event": "CAPTURE",
                "success": True,
                "amount": captured,
                "event_reference": f"dd-{tx_id}",
                "items": [{"line_id": "1", "amount": captured}],
                "created_at": "2025-01-01T12:05:00Z",
            }
        )
    return {
        "id": tx_id,
        "session_id": session_id,
        "merchant_reference": reference,
        "status": "PARTIALLY_CAPTURED" if captured else "AUTHORIZED",
        "amount": TOTAL,
        "currency": "NOK",
        "payment_product_type": "dintero_psp.creditcard",
        "items": [
            {"id": pid or "ship", "line_id": str(n), "amount": q * u, "quantity": q, "description": d}
            for n, (pid, d, q, u) in enumerate(LINES, start=1)
        ],
        "events": events,
        "created_at": "2025-01-01T12:00:00Z",
    }


def populate(count: int, *, customers: int | None = None, staff: Any = None) -> list[Order]:
    """Create ``count`` orders in the shapes a live shop has.

    Per ten orders: one still a draft, one waiting for payment, eight paid (authorized,
    half of them partially captured), each paid one with four to six ledger operations and a
    callback delivery. A third of the orders belong to customer accounts (one account per
    ten orders unless ``customers`` is given), the rest to guests.
    """
    User = get_user_model()
    customers = count // 10 + 1 if customers is None else customers
    batch_no = next(_serial)
    users = _bulk(
        User,
        (User(username=f"bench-{batch_no}-{n}", email=f"c{n}@example.com") for n in range(customers)),
    )
    now = timezone.now()
    base = batch_no * 1_000_000

    def make_order(n: int) -> Order:
        kind = n % 10
        completed = kind != 0
        return Order(
            public_id=uuid.uuid4(),
            customer=users[n % len(users)] if n % 3 == 0 and users else None,
            guest_key="" if n % 3 == 0 else f"guest-{base + n}",
            currency="NOK",
            status=Order.Status.OPEN if completed else Order.Status.DRAFT,
            email=f"buyer{n}@example.com",
            revision=1,
            synced_revision=1,
            dintero_draft_id=f"draft-{base + n}",
            dintero_order_id=order_id(base + n),
            dintero_order_uuid=str(uuid.uuid4()) if completed else "",
            completed=completed,
            placed_at=now if completed else None,
        )

    orders = _bulk(Order, (make_order(n) for n in range(count)))
    _bulk(
        OrderLine,
        (
            OrderLine(
                order=order,
                line_id=number,
                product_id=product,
                description=text,
                quantity=quantity,
                unit_amount=unit,
                amount=quantity * unit,
            )
            for order in orders
            for number, (product, text, quantity, unit) in enumerate(LINES, start=1)
        ),
    )

    def make_payment(n: int, order: Order) -> Payment:
        paid = n % 10 >= 2
        captured = 39800 if paid and n % 2 else 0
        tx_id = f"T{base + n:011d}" if paid else None
        session_id = f"S{base + n:011d}"
        return Payment(
            order=order,
            state=Payment.State.AUTHORIZED if paid else Payment.State.AWAITING,
            status="PARTIALLY_CAPTURED" if captured else ("AUTHORIZED" if paid else ""),
            amount=TOTAL,
            currency="NOK",
            session_id=session_id,
            session_url=f"https://checkout.example.com/v1/view/{session_id}",
            transaction_id=tx_id,
            authorized_amount=TOTAL if paid else 0,
            captured_amount=captured,
            payment_product_type="dintero_psp.creditcard" if paid else "",
            raw=transaction_json(tx_id, session_id, str(order.dintero_order_id), captured) if tx_id else {},
            last_synced_at=now if paid else None,
        )

    payments = _bulk(Payment, (make_payment(n, order) for n, order in enumerate(orders) if n % 10 != 0))
    done = Operation.State.SUCCEEDED

    def make_operations(payment: Payment) -> Iterator[Operation]:
        order = payment.order
        items = [{"line_id": n, "amount": q * u} for n, (_, _, q, u) in enumerate(LINES, start=1)]
        when = now - timedelta(minutes=5)
        yield Operation(kind=Operation.Kind.CREATE_DRAFT, state=done, order=order, completed_at=when)
        yield Operation(kind=Operation.Kind.COMPLETE_ORDER, state=done, order=order, completed_at=when)
        yield Operation(
            kind=Operation.Kind.CREATE_SESSION,
            state=done,
            order=order,
            payment=payment,
            amount=TOTAL,
            remote_id=str(payment.session_id),
            completed_at=when,
        )
        if payment.state != Payment.State.AUTHORIZED:
            return
        yield Operation(
            kind=Operation.Kind.RECORD_AUTHORIZATION,
            state=done,
            order=order,
            payment=payment,
            amount=TOTAL,
            items=items,
            completed_at=when,
        )
        if payment.captured_amount:
            yield Operation(
                kind=Operation.Kind.CAPTURE,
                state=done,
                order=order,
                payment=payment,
                amount=payment.captured_amount,
                items=[{"line_id": 1, "amount": payment.captured_amount, "quantity": 2}],
                remote_id=f"ev-{payment.transaction_id}-2",
                created_by=staff,
                completed_at=when,
            )

    operations = _bulk(Operation, (op for payment in payments for op in make_operations(payment)))
    captures = [op for op in operations if op.kind == Operation.Kind.CAPTURE]
    _bulk(
        Operation,
        (
            Operation(
                kind=Operation.Kind.RECORD_CAPTURE,
                state=done,
                order=capture.order,
                payment=capture.payment,
                parent=capture,
                amount=capture.amount,
                items=[{"line_id": 1, "amount": capture.amount}],
                created_by=staff,
                completed_at=now,
            )
            for capture in captures
        ),
    )
    _bulk(
        CallbackDelivery,
        (
            CallbackDelivery(
                method="GET",
                query={
                    "transaction_id": str(payment.transaction_id),
                    "session_id": str(payment.session_id),
                    "merchant_reference": str(payment.order.dintero_order_id),
                },
                headers={"user-agent": "Dintero", "event-delivery": str(uuid.uuid4())},
                event_delivery=str(uuid.uuid4()),
                transaction_id=str(payment.transaction_id),
                session_id=str(payment.session_id),
                merchant_reference=str(payment.order.dintero_order_id),
                signature_valid=True,
                outcome=CallbackDelivery.Outcome.ACCEPTED,
                payment=payment,
            )
            for payment in payments
            if payment.transaction_id
        ),
    )
    return orders
