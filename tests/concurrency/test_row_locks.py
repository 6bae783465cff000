"""Concurrency on PostgreSQL (row locks do nothing on SQLite): many threads
capturing one payment move money once; callbacks racing the admin do no harm."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from dintero_django.exceptions import PaymentError
from dintero_django.models import Operation, Payment
from dintero_django.services import money
from tests.helpers import remote_records, signed_callback, start_and_pay

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


def _in_thread(func: Any) -> Any:
    def run(*args: Any) -> Any:
        try:
            return func(*args)
        finally:
            connection.close()

    return run


@pytest.fixture
def paid(shop: Any) -> Payment:
    _order, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    return payment


@pytest.mark.parametrize("threads", [25])
def test_many_threads_capture_the_same_payment_once(shop: Any, paid: Payment, threads: int) -> None:
    assert connection.vendor == "postgresql"
    barrier = threading.Barrier(threads)

    @_in_thread
    def capture(_: int) -> str:
        barrier.wait(timeout=30)
        try:
            return money.capture(paid.pk).state
        except PaymentError:
            return "refused"

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = Counter(pool.map(capture, range(threads)))

    assert outcomes == {"succeeded": 1, "refused": threads - 1}
    tx = shop.control.transaction(paid.transaction_id)
    assert [e["event"] for e in tx["events"] if e["event"] == "CAPTURE"] == ["CAPTURE"]
    assert len(remote_records(paid.order.dintero_order_id, "captures")) == 1
    paid.refresh_from_db()
    assert paid.captured_amount == paid.authorized_amount


def test_callbacks_admin_captures_and_reconciler_interleaved(shop: Any, paid: Payment) -> None:
    from django.core.management import call_command

    params = {
        "transaction_id": str(paid.transaction_id),
        "session_id": str(paid.session_id),
        "merchant_reference": str(paid.order.dintero_order_id),
    }
    barrier = threading.Barrier(23)

    @_in_thread
    def work(index: int) -> str:
        barrier.wait(timeout=30)
        if index < 20:
            return str(signed_callback(shop, params).status_code)
        if index < 22:
            try:
                return money.capture(paid.pk, amount=10000).state
            except PaymentError:
                return "refused"
        call_command("dintero_reconcile", "--older-than", "0")
        return "reconciled"

    with ThreadPoolExecutor(max_workers=23) as pool:
        outcomes = Counter(pool.map(work, range(23)))

    assert outcomes["200"] == 20
    assert outcomes["succeeded"] + outcomes["refused"] == 2 and outcomes["succeeded"] >= 1
    captures = [e for e in shop.control.transaction(paid.transaction_id)["events"] if e["event"] == "CAPTURE"]
    assert len(captures) == outcomes["succeeded"]
    paid.refresh_from_db()
    assert paid.captured_amount == 10000 * outcomes["succeeded"]
    assert len(remote_records(paid.order.dintero_order_id, "authorizations")) == 1
    assert Operation.objects.filter(kind=Operation.Kind.RECORD_AUTHORIZATION, payment=paid).count() == 1
