"""The order lease: the database's clock, and a fencing token on every write (issue 19)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db.models.functions import Now

from dintero_django.adapters import LineInput
from dintero_django.client import OrdersClient
from dintero_django.models import Order
from dintero_django.services.leases import Busy, Lease, LeaseLost, order_lease
from dintero_django.services.orders import create_order

pytestmark = pytest.mark.timeout(90)

SKEW = timedelta(seconds=90)


@pytest.fixture
def order(shop: Any) -> Order:
    return create_order([LineInput(description="Chair", quantity=1, unit_amount=19900)])


def expire(order: Order) -> None:
    """The holder was paused past its lease: by the database's clock, it has run out."""
    Order.objects.filter(pk=order.pk).update(lease_until=Now() - timedelta(seconds=1))


def skewed(by: timedelta) -> Any:
    """This process's clock (``timezone.now()``, ``time.time()``) off by ``by``; the
    database's clock is left alone."""
    return time_machine.travel(by) if by else nullcontext()


@pytest.mark.parametrize(
    ("holder", "taker"), [(timedelta(0), SKEW), (-SKEW, timedelta(0))], ids=["taker-ahead", "holder-behind"]
)
def test_a_skewed_worker_clock_neither_steals_nor_loses_a_lease(
    order: Order, holder: timedelta, taker: timedelta
) -> None:
    """A worker 90 s ahead saw a live 15 s lease as expired and took the order; a worker
    90 s behind took a lease that was already expired for everyone else."""
    with skewed(holder):
        lease = order_lease(order.pk, seconds=15)
        lease.__enter__()
    try:
        with skewed(taker), pytest.raises(Busy), order_lease(order.pk, seconds=15):
            pass
    finally:
        lease.__exit__(None, None, None)


def test_a_holder_paused_past_its_lease_cannot_write(shop: Any, order: Order) -> None:
    """The first holder resumes after another took the order: its next write to Dintero
    is stopped before the request goes out (nothing reaches the emulator)."""
    with order_lease(order.pk, seconds=15) as first:
        expire(order)
        with order_lease(order.pk, seconds=15):
            pass  # the second holder did its work and let go
        before = len(shop.control.requests_log())
        with pytest.raises(LeaseLost):
            OrdersClient().create_draft({"order_id": "X"})
        assert len(shop.control.requests_log()) == before
        with pytest.raises(LeaseLost):
            first.fence()
    assert Order.objects.get(pk=order.pk).lease_until is None


def test_a_holder_renews_its_lease_at_each_write(order: Order) -> None:
    """Expired but not taken: nobody wrote meanwhile, so the holder may go on, for a full term."""
    with order_lease(order.pk, seconds=15) as lease:
        expire(order)
        lease.fence()
        assert Order.objects.filter(pk=order.pk, lease_until__gt=Now() + timedelta(seconds=10)).exists()
        with pytest.raises(Busy), order_lease(order.pk, seconds=15):
            pass


def test_a_lost_lease_is_not_released_by_its_old_holder(order: Order) -> None:
    first = Lease(order.pk, 15)
    assert first.acquire()
    expire(order)
    second = Lease(order.pk, 15)
    assert second.acquire()
    first.release()  # the old holder lets go: the new holder's lease stays
    assert not Lease(order.pk, 15).acquire()
    second.release()
    assert Lease(order.pk, 15).acquire()
