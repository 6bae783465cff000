"""The whole flow with a real celery worker process over Redis (not eager mode)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dintero_django.models import Operation, Order, Payment
from dintero_django.services import money
from tests.celery_worker import wait_until
from tests.helpers import remote_records, signed_callback

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.timeout(180)]


def test_full_flow_with_a_real_worker(shop: Any, celery_worker_process: Any) -> None:
    order = shop.create_order()
    started = shop.checkout(order["id"])
    assert started.status_code in (200, 202)

    checkout_url = wait_until(
        lambda: (shop.order(order["id"]).get("payment") or {}).get("checkout_url"), 60, "the checkout URL"
    )
    assert checkout_url.startswith(shop.emulator.url)
    payment = Payment.objects.get(order__public_id=order["id"], is_active=True)
    tx = shop.control.pay(payment.session_id, "AUTHORIZED")["transaction_id"]

    wait_until(lambda: shop.order(order["id"])["payment"]["state"] == "authorized", 60, "authorization")
    payment.refresh_from_db()
    assert payment.transaction_id == tx
    wait_for_authorization_record(payment)
    # Duplicate and late callbacks, handled by the worker, change nothing.
    params = {
        "transaction_id": tx,
        "session_id": str(payment.session_id),
        "merchant_reference": order_id(payment),
    }
    for _ in range(5):
        assert signed_callback(shop, params).status_code == 200
    wait_until(lambda: not Payment.objects.get(pk=payment.pk).sync_pending, 60, "the duplicate syncs")
    assert len(remote_records(order_id(payment), "authorizations")) == 1

    capture = money.capture(payment.pk, amount=10000)
    assert capture.state == Operation.State.SUCCEEDED
    assert len(remote_records(order_id(payment), "captures")) == 1


def order_id(payment: Payment) -> str:
    return str(payment.order.dintero_order_id)


def wait_for_authorization_record(payment: Payment) -> None:
    wait_until(
        lambda: Operation.objects.filter(
            payment=payment, kind="record_authorization", state="succeeded"
        ).exists(),
        60,
        "the authorization record",
    )


def test_a_record_left_open_by_a_busy_order_is_written_by_the_task(
    shop: Any, celery_worker_process: Any
) -> None:
    """Another writer holds the order while staff capture: the capture succeeds at once,
    its Orders API record waits, and the record task writes it when the order is free,
    without the reconciler (which this worker does not run)."""
    payment = _authorized(shop)
    # Long enough that the inline record surely finds it held, short enough to wait out.
    Order.objects.filter(pk=payment.order_id).update(lease_until=timezone.now() + timedelta(seconds=5))

    capture = money.capture(payment.pk, amount=10000)

    assert capture.state == Operation.State.SUCCEEDED
    record = Operation.objects.get(parent=capture)
    assert record.kind == "record_capture" and record.is_open, record
    assert remote_records(order_id(payment), "captures") == []
    wait_until(
        lambda: Operation.objects.get(pk=record.pk).state == Operation.State.SUCCEEDED,
        60,
        "the record task",
    )
    assert len(remote_records(order_id(payment), "captures")) == 1


def _authorized(shop: Any) -> Payment:
    order = shop.create_order()
    assert shop.checkout(order["id"]).status_code in (200, 202)
    wait_until(
        lambda: (shop.order(order["id"]).get("payment") or {}).get("checkout_url"), 60, "the checkout URL"
    )
    payment = Payment.objects.get(order__public_id=order["id"], is_active=True)
    shop.control.pay(payment.session_id, "AUTHORIZED")
    wait_for_authorization_record(payment)
    payment.refresh_from_db()
    return payment
