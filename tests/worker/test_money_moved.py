"""Once the money has moved, staff never get a 500 (issue 20).

With SQLite and a real worker, staff capture answered 500 "database is locked": the
capture had succeeded at Dintero and locally, only writing its Orders-API record
failed. Here another writer holds the database just after the capture succeeded (a
``payment_captured`` receiver takes the lock in the request's own thread), and the
request's connection gives up on it quickly. The answer is the succeeded capture,
saying that its record follows; the real worker's record task writes it once the
writer lets go. On SQLite (its write lock) and on PostgreSQL (a lock on the ledger
table), so this runs in both legs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from django.db import connection, connections

from dintero_django import signals
from dintero_django.models import Operation, Payment
from dintero_django.services import money
from tests.celery_worker import wait_until
from tests.helpers import remote_records
from tests.test_admin_money import Staff, make_staff, messages_of

pytestmark = [pytest.mark.worker, pytest.mark.timeout(180)]


class OtherWriter:
    """A second connection holding the database (SQLite) or the ledger table (PostgreSQL)
    against writers; the request's connection waits only 200 ms for it."""

    def __init__(self) -> None:
        self.db = connections.create_connection("default")
        self.db.inc_thread_sharing()  # taken in the request's thread, released in the test's
        self.held = False

    def take(self, **kwargs: Any) -> None:
        if self.held:
            return
        self.held = True
        if self.db.vendor == "sqlite":
            self.db.cursor().execute("BEGIN IMMEDIATE")
            connection.cursor().execute("PRAGMA busy_timeout = 200")
        else:
            self.db.set_autocommit(False)
            self.db.cursor().execute(f"LOCK TABLE {Operation._meta.db_table} IN EXCLUSIVE MODE")
            connection.cursor().execute("SET lock_timeout = '200ms'")

    def release(self) -> None:
        if not self.held or self.db.connection is None:
            return  # never taken, or let go already
        if self.db.vendor == "sqlite":
            self.db.cursor().execute("COMMIT")
        else:
            self.db.rollback()
            self.db.set_autocommit(True)
        self.db.close()


@contextmanager
def writer_after(signal: Any) -> Iterator[OtherWriter]:
    """Another writer takes the database as soon as ``signal`` says the money moved."""
    writer = OtherWriter()
    signal.connect(writer.take, dispatch_uid="test_other_writer")
    try:
        yield writer
    finally:
        signal.disconnect(dispatch_uid="test_other_writer")
        writer.release()


@pytest.fixture
def writer_after_capture() -> Iterator[OtherWriter]:
    with writer_after(signals.payment_captured) as writer:
        yield writer


def test_a_locked_database_after_the_capture_is_no_500(
    shop: Any, celery_worker_process: Any, admin_user: Any, writer_after_capture: OtherWriter
) -> None:
    payment = _authorized(shop)

    answer = requests.post(
        f"{shop.url}/api/dintero/staff/orders/{payment.order.public_id}/capture/",
        json={},
        auth=(admin_user.username, "password"),
        timeout=60,
    )
    writer_after_capture.release()

    assert writer_after_capture.held, "the receiver never ran: no capture signal"
    assert answer.status_code == 200, answer.text[:3000]
    assert answer.json()["state"] == "succeeded"
    assert answer.json()["follow_up"] == "The capture succeeded; its Orders-API record follows."
    capture = Operation.objects.get(reference=answer.json()["reference"])
    wait_until(
        lambda: Operation.objects.filter(parent=capture, state=Operation.State.SUCCEEDED).exists(),
        60,
        "the record task to write the Orders-API record",
    )
    assert len(remote_records(str(payment.order.dintero_order_id), "captures")) == 1


def test_a_locked_database_after_an_admin_refund_is_no_500(
    shop: Any, celery_worker_process: Any, django_user_model: Any
) -> None:
    payment = _authorized(shop)
    capture = money.capture(payment.pk)
    wait_until(lambda: _recorded(capture), 60, "the capture's record")
    make_staff(django_user_model, "ops", superuser=True)
    staff = Staff(shop.url, "ops")

    with writer_after(signals.payment_refunded) as writer:
        done = staff.submit(
            f"/admin/dintero_django/order/{payment.order_id}/refund/",
            {"amount": "50", "reason": "scratch", "confirmed": "1"},  # 50 kroner, confirmed
        )
        writer.release()

    assert writer.held, "the receiver never ran: no refund signal"
    assert done.status_code == 200, done.text[:3000]
    assert any("The refund succeeded; its Orders-API record follows." in m for m in messages_of(done.text))
    refund = Operation.objects.get(payment=payment, kind="refund")
    assert refund.state == Operation.State.SUCCEEDED
    wait_until(lambda: _recorded(refund), 60, "the record task to write the refund's record")
    assert len(remote_records(str(payment.order.dintero_order_id), "refunds")) == 1


def _recorded(operation: Operation) -> bool:
    return Operation.objects.filter(parent=operation, state=Operation.State.SUCCEEDED).exists()


def _authorized(shop: Any) -> Payment:
    order = shop.create_order()
    assert shop.checkout(order["id"]).status_code in (200, 202)
    wait_until(
        lambda: (shop.order(order["id"]).get("payment") or {}).get("checkout_url"), 60, "the checkout URL"
    )
    payment = Payment.objects.select_related("order").get(order__public_id=order["id"], is_active=True)
    shop.control.pay(payment.session_id, "AUTHORIZED")
    wait_until(
        lambda: Operation.objects.filter(
            payment=payment, kind="record_authorization", state="succeeded"
        ).exists(),
        60,
        "the authorization record",
    )
    payment.refresh_from_db()
    return payment
