"""A per-order lease: one worker at a time pushes an order to Dintero.

A conditional UPDATE claims the order for a short time without holding a
database lock across HTTP calls, and works the same on SQLite and PostgreSQL.
A crashed holder's lease simply expires.

Time is the database's (``now()``), never the worker's: a worker whose clock runs
ahead would otherwise see live leases as expired, and one behind would hold its own
too long (issue 19, clock skew).

A holder can be paused past its lease (GC, VM steal, SIGSTOP) and resume still
believing it holds the order, after another worker took it. So each acquisition
draws a fencing token, and every write to Dintero inside the block is fenced
(``client.fencing``): right before the request goes out, a conditional UPDATE renews
the lease only if the token is still ours, else :class:`LeaseLost` stops the write;
the same check after the answer keeps a holder that lost the order during the call
from recording its outcome over the new holder's. What is left is a pause longer than
the lease between that UPDATE and the request's first byte: Dintero's Orders API has
no conditional write to close it, and the new holder reads before it writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db.models import Q
from django.db.models.functions import Now

from ..client.fencing import fenced
from ..conf import get_settings
from ..models import Order


class Busy(Exception):
    """Another worker holds the order's lease; try again shortly."""


class LeaseLost(Busy):
    """This worker's lease ran out and another worker took the order: stop writing."""


class Lease:
    def __init__(self, order_pk: int, seconds: float) -> None:
        self.order_pk = order_pk
        self.length = timedelta(seconds=seconds)
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=Now())
        claimed = Order.objects.filter(free, pk=self.order_pk).update(
            lease_until=Now() + self.length, lease_token=self.token
        )
        return bool(claimed)

    def fence(self) -> None:
        """Still ours? Then renew it for a full term; otherwise raise :class:`LeaseLost`."""
        renewed = Order.objects.filter(pk=self.order_pk, lease_token=self.token).update(
            lease_until=Now() + self.length
        )
        if not renewed:
            raise LeaseLost(f"order {self.order_pk}: the lease expired and another worker took it")

    def release(self) -> None:
        Order.objects.filter(pk=self.order_pk, lease_token=self.token).update(lease_until=None)


@contextmanager
def order_lease(order_pk: int, seconds: float | None = None) -> Iterator[Lease]:
    """Hold the order for ``seconds`` (default ``LEASE_SECONDS``) or until the block ends;
    every write to Dintero in the block is fenced by the lease's token."""
    lease = Lease(order_pk, get_settings().LEASE_SECONDS if seconds is None else seconds)
    if not lease.acquire():
        raise Busy(f"order {order_pk} is being pushed by another worker")
    try:
        with fenced(lease.fence, lease.fence):
            yield lease
    finally:
        lease.release()
