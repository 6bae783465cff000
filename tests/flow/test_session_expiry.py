"""Sessions carry expires_at; an abandoned one ends, is read no more, and checkout restarts.

Issue 12 item 6: no session had expires_at, the no-transaction branch of a sync never
looked at expiry, and its queryset update() left updated_at alone, so every reconciler
pass read every awaiting payment again (two GETs each), for ever.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dintero_django.emulator import EmulatorControlError
from dintero_django.models import Payment
from dintero_django.services.reconcile import reconcile
from tests.helpers import active_payment

pytestmark = pytest.mark.timeout(90)

READS = ("session_get", "transaction_list", "transaction_get")


def reads(shop: Any) -> int:
    return sum(1 for e in shop.control.requests_log() if e.get("operation") in READS)


def awaiting(shop: Any) -> tuple[dict[str, Any], Payment]:
    order = shop.create_order()
    assert shop.checkout(order["id"]).status_code == 200
    payment = active_payment(order["id"])
    assert payment.state == Payment.State.AWAITING
    return order, payment


def age(payment: Payment, *, expired_for: float | None = None) -> None:
    """Make the payment look untouched for an hour (and its session expired, if asked)."""
    fields: dict[str, Any] = {"updated_at": timezone.now() - timedelta(hours=1)}
    if expired_for is not None:
        fields["expires_at"] = timezone.now() - timedelta(seconds=expired_for)
    Payment.objects.filter(pk=payment.pk).update(**fields)


def test_the_session_is_sent_with_expires_at(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "SESSION_LIFETIME": 600}
    before = timezone.now()
    _order, payment = awaiting(shop)
    assert payment.expires_at is not None
    assert before + timedelta(seconds=599) <= payment.expires_at <= timezone.now() + timedelta(seconds=600)
    session = shop.control.session(payment.session_id)
    assert session["expires_at"].startswith(payment.expires_at.strftime("%Y-%m-%dT%H:%M"))
    shop.control.advance_clock(601)  # the emulator honours it: past it, no payment
    with pytest.raises(EmulatorControlError, match="expired"):
        shop.control.pay(payment.session_id)


def test_an_awaiting_payment_is_read_once_per_reconcile_period(shop: Any) -> None:
    _order, payment = awaiting(shop)
    age(payment)
    reconcile(older_than=300)
    first = reads(shop)
    assert first > 0
    reconcile(older_than=300)  # the read stamped updated_at: nothing is due yet
    assert reads(shop) == first
    payment.refresh_from_db()
    assert payment.state == Payment.State.AWAITING


def test_an_expired_session_is_still_read_during_the_grace(shop: Any) -> None:
    _order, payment = awaiting(shop)
    age(payment, expired_for=1)
    reconcile(older_than=0)
    payment.refresh_from_db()
    assert payment.state == Payment.State.AWAITING


def test_past_the_grace_the_payment_expires_and_is_read_no_more(shop: Any) -> None:
    order, payment = awaiting(shop)
    age(payment, expired_for=3600)
    reconcile(older_than=0)
    payment.refresh_from_db()
    assert (payment.state, payment.failure) == (Payment.State.EXPIRED, "expired")
    settled = reads(shop)
    age(payment)
    reconcile(older_than=0)
    reconcile(older_than=0)
    assert reads(shop) == settled
    # The storefront restarts from it: a new payment with a new session.
    again = shop.checkout(order["id"])
    assert again.status_code == 200, again.text
    fresh = active_payment(order["id"])
    assert fresh.pk != payment.pk and fresh.state == Payment.State.AWAITING
    assert fresh.session_id != payment.session_id
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUPERSEDED


def test_checkout_does_not_hand_out_an_expired_session(shop: Any) -> None:
    order, payment = awaiting(shop)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = shop.checkout(order["id"])
    assert response.status_code == 200, response.text
    fresh = active_payment(order["id"])
    assert fresh.session_id != payment.session_id
