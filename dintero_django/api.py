"""The stable API for shop code: capture, refund or cancel an order's payment.

``from dintero_django import api`` then ``api.capture(order)`` when the order ships
("charge on dispatch"), ``api.refund(order, amount=..., reason=...)`` on a return,
``api.cancel(order)`` when it will never ship. These are the calls the admin and the
staff REST API make (:mod:`dintero_django.services.money`), with the same guarantees:

* the intent is recorded (an ``Operation`` with a unique reference) and committed
  before anything is sent; one operation at a time per payment;
* a lost answer is settled by reading the transaction, never by sending again, so
  calling again after an error never moves money twice;
* more than is left, nothing authorized, or an open operation: :class:`PaymentError`,
  nothing sent; Dintero unreachable before sending: :class:`DinteroError`.

Amounts are integers in minor units (øre), as everywhere in code. Call these after
your transaction commits (``transaction.on_commit``), never inside one: a remote call
inside an open transaction could move money for an intent that is then rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from .exceptions import DinteroError, PaymentError
from .models import Operation, Order, Payment
from .services import money

__all__ = [
    "DinteroError",
    "Operation",
    "PaymentError",
    "cancel",
    "capture",
    "find_order",
    "refund",
]

OrderRef = Order | uuid.UUID | str


def find_order(ref: OrderRef) -> Order:
    """An order by itself, its public id, its shop reference or its Dintero order id."""
    if isinstance(ref, Order):
        return ref
    orders = Order.objects.all()
    found = None
    if isinstance(ref, uuid.UUID) or _is_uuid(ref):
        found = orders.filter(public_id=ref).first()
    found = found or orders.filter(shop_reference=str(ref)).order_by("-created_at").first()
    found = found or orders.filter(dintero_order_id=str(ref)).first()
    if found is None:
        raise PaymentError(_("No Dintero order %(ref)s.") % {"ref": ref})
    return found


def capture(
    order: OrderRef,
    *,
    amount: int | None = None,
    quantities: Mapping[int, int] | None = None,
    user: Any = None,
) -> Operation:
    """Capture what is left (default), ``amount`` minor units, or line quantities {line_id: qty}."""
    return money.capture(_payment(order).pk, amount=amount, quantities=quantities, user=user)


def refund(
    order: OrderRef,
    *,
    reason: str,
    amount: int | None = None,
    quantities: Mapping[int, int] | None = None,
    user: Any = None,
) -> Operation:
    """Refund ``amount`` minor units or line quantities; the reason is kept on the record."""
    if not reason.strip():
        raise PaymentError(_("A refund needs a reason."))
    payment = _payment(order)
    return money.refund(payment.pk, amount=amount, quantities=quantities, reason=reason, user=user)


def cancel(order: OrderRef, *, user: Any = None) -> Operation:
    """Release the authorization (only before anything is captured)."""
    return money.cancel(_payment(order).pk, user=user)


def _payment(ref: OrderRef) -> Payment:
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        raise RuntimeError(
            "dintero_django.api moves money: call it after your transaction commits "
            "(transaction.on_commit), not inside it."
        )
    order = find_order(ref)
    payment = order.payments.filter(is_active=True).first()
    if payment is None or payment.state != Payment.State.AUTHORIZED:
        raise PaymentError(_("%(order)s has no authorized payment.") % {"order": order})
    return payment


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
