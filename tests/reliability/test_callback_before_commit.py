"""A callback that arrives before the order is committed (a fast payer): 503, then success.

PostgreSQL only: the payment row and the session are created inside a transaction that
stays open while Dintero pays and calls back; the callback view cannot see the payment
yet and must answer 503 (Dintero retries 5xx, never a 4xx). After the commit, the
emulator's next retry (its compressed schedule: 10-200 ms) finds it and succeeds.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from dintero_django.models import CallbackDelivery, Payment
from dintero_django.services import checkout
from dintero_django.services.orders import place_order, push_order
from tests.celery_worker import wait_until

from .harness import report
from .harness.config import rng, size
from .harness.shopping import new_order

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]


def test_callback_before_commit_gets_503_then_succeeds(shop: Any) -> None:
    shop.control.config(callback_retry_initial=0.01, callback_retry_max=0.2)
    rnd = rng("before-commit")
    rounds = size(5, 20)
    firsts = [_one_round(shop, new_order(rnd)) for _ in range(rounds)]
    report.record("callback-before-commit", rounds=rounds, first_answers=firsts, final="authorized")


def _one_round(shop: Any, order: Any) -> int:
    place_order(order)
    push_order(order.pk)  # completed in Dintero, committed
    errors: list[BaseException] = []

    def pay_inside_transaction() -> None:
        try:
            with transaction.atomic():
                payment = Payment.objects.create(order_id=order.pk, amount=order.amount, currency="NOK")
                checkout._create_session(payment.order, payment)
                shop.control.pay(payment.session_id, "AUTHORIZED")
                # Hold the commit until Dintero's callback has been answered at least once.
                wait_until(lambda: _attempts(shop, payment.session_id), 30, "the first callback attempt")
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=pay_inside_transaction)
    thread.start()
    thread.join(timeout=60)
    assert not errors, errors
    shop.control.wait_callbacks(timeout=30)
    payment = Payment.objects.get(order=order, is_active=True)
    attempts = _attempts(shop, payment.session_id)
    assert attempts[0] == 503, attempts
    assert attempts[-1] == 200, attempts
    assert payment.state == Payment.State.AUTHORIZED
    unknown = CallbackDelivery.objects.filter(session_id=payment.session_id, outcome="unknown_order")
    assert unknown.exists()
    return attempts[0]


def _attempts(shop: Any, session_id: str | None) -> list[int]:
    return [
        entry["status"]
        for entry in shop.control.callbacks_log()
        if session_id and session_id in entry.get("url", "") and entry.get("status") is not None
    ]
