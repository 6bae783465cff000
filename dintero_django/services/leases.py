"""A per-order lease: one worker at a time pushes an order to Dintero.

A conditional UPDATE claims the order for a short time without holding a
database lock across HTTP calls, and works the same on SQLite and PostgreSQL.
A crashed holder's lease simply expires.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ..conf import get_settings
from ..models import Order


class Busy(Exception):
    """Another worker holds the order's lease; try again shortly."""


@contextmanager
def order_lease(order_pk: int, seconds: float | None = None) -> Iterator[None]:
    """Hold the order for ``seconds`` (default ``LEASE_SECONDS``) or until the block ends."""
    now = timezone.now()
    until = now + timedelta(seconds=get_settings().LEASE_SECONDS if seconds is None else seconds)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    if not Order.objects.filter(free, pk=order_pk).update(lease_until=until):
        raise Busy(f"order {order_pk} is being pushed by another worker")
    try:
        yield
    finally:
        Order.objects.filter(pk=order_pk, lease_until=until).update(lease_until=None)
