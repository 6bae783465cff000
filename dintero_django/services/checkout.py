"""Start (or restart) checkout: one active Dintero session per order."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ..adapters import get_adapter
from ..client import CheckoutClient
from ..conf import get_settings
from ..exceptions import DinteroError, PaymentError
from ..models import Operation, Order, Payment
from . import ledger
from .leases import order_lease
from .orders import place_order, push_order_locked

logger = logging.getLogger("dintero_django.checkout")

#: Payment states in which the customer may still be sent to the session.
REUSABLE = (Payment.State.AWAITING,)
#: Payment states that forbid starting another checkout.
SETTLED = (Payment.State.PENDING, Payment.State.AUTHORIZED, Payment.State.VOIDED)


class NotReady(Exception):
    """The order is not completed in Dintero yet; try again shortly."""


def start_checkout(order_pk: int, *, restart: bool = False, expires_at: datetime | None = None) -> Payment:
    """Return the order's active payment with a session URL, creating it if needed.

    The local payment row is committed *before* the session exists at Dintero,
    so a fast callback always finds the order. A new session for the same
    order cancels the previous one. ``expires_at`` (a payment link) asks Dintero
    to end the session then.
    """
    with order_lease(order_pk):
        return _start_checkout_locked(order_pk, restart=restart, expires_at=expires_at)


def _start_checkout_locked(order_pk: int, *, restart: bool, expires_at: datetime | None) -> Payment:
    order = place_order(Order.objects.get(pk=order_pk), push=False)  # pushed just below
    if not order.completed:
        order = push_order_locked(order_pk)
    if not order.completed:
        raise NotReady(f"order {order_pk} is not completed in Dintero yet")
    payment, superseded = _claim_payment(order, restart=restart, expires_at=expires_at)
    if payment.session_url:
        return payment
    if superseded and superseded.session_id:
        _cancel_session(superseded)
    _create_session(order, payment)
    return payment


def _claim_payment(
    order: Order, *, restart: bool, expires_at: datetime | None = None
) -> tuple[Payment, Payment | None]:
    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        lines = list(locked.lines.order_by("line_id"))
        amount = sum(line.amount for line in lines)
        current = locked.payments.filter(is_active=True).first()
        if current and current.state in SETTLED:
            raise PaymentError(
                _("Order %(order)s already has a %(state)s payment.")
                % {"order": locked, "state": current.get_state_display().lower()}
            )
        if current and current.amount == amount and (_never_opened(current) or _reusable(current, restart)):
            if expires_at is not None and current.expires_at != expires_at:  # a link's own lifetime
                current.expires_at = expires_at
                current.save(update_fields=["expires_at", "updated_at"])
            return current, None
        if current:
            current.is_active = False
            current.state = Payment.State.SUPERSEDED
            current.save(update_fields=["is_active", "state", "updated_at"])
        payment = Payment.objects.create(
            order=locked, amount=amount, currency=locked.currency, expires_at=expires_at
        )
    return payment, current


def _reusable(payment: Payment, restart: bool) -> bool:
    return payment.state in REUSABLE and not restart and not payment.session_expired()


def _never_opened(payment: Payment) -> bool:
    """Its session creation failed: the next attempt is for the same payment.

    A new row per attempt would let a session Dintero keeps refusing add one
    payment per storefront POST; restarting has no session to replace either.
    """
    return payment.state == Payment.State.CREATED and not payment.session_id


def _create_session(order: Order, payment: Payment) -> None:
    lines = list(order.lines.order_by("line_id"))
    body = get_adapter().session_body(order, payment, lines)
    expires_at = timezone.now() + timedelta(seconds=get_settings().SESSION_LIFETIME)
    # Sent on every session (Checkout spec: SessionBase.expires_at), so an abandoned one
    # ends: an adapter's own expires_at wins.
    body.setdefault("expires_at", expires_at.isoformat().replace("+00:00", "Z"))
    operation = ledger.begin(Operation.Kind.CREATE_SESSION, order, payment=payment, amount=payment.amount)
    ledger.attempt(operation)
    try:
        created = CheckoutClient().create_session(body)
    except DinteroError as error:
        ledger.fail(operation, error)
        Order.objects.filter(pk=order.pk).update(remote_error=f"Checkout session: {error.message}"[:2000])
        raise
    payment.session_id = str(created["id"])
    payment.session_url = str(created["url"])
    payment.state = Payment.State.AWAITING
    payment.expires_at = _parse_time(body["expires_at"]) or expires_at
    payment.save(update_fields=["session_id", "session_url", "state", "expires_at", "updated_at"])
    Order.objects.filter(pk=order.pk).exclude(remote_error="").update(remote_error="")
    ledger.succeed(operation, remote_id=payment.session_id)


def _cancel_session(payment: Payment) -> None:
    """Best effort: a stale session left open is caught by the sync cross-checks."""
    assert payment.session_id
    operation = ledger.begin(Operation.Kind.CANCEL_SESSION, payment.order, payment=payment)
    ledger.attempt(operation)
    try:
        CheckoutClient().cancel_session(payment.session_id)
    except DinteroError as error:
        ledger.fail(operation, error)
        logger.warning("Could not cancel superseded session of payment %s: %s", payment.pk, error)
        return
    ledger.succeed(operation, remote_id=payment.session_id)


def _parse_time(value: object) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed if parsed is None or parsed.tzinfo else None
