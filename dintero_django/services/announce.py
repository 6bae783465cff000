"""Signals to the shop, sent after commit, each receiver on its own."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from ..models import Payment

logger = logging.getLogger("dintero_django.sync")


def send_robustly(signal: Any, **kwargs: Any) -> None:
    """Send to every receiver even if one raises; a failing receiver is logged."""
    for receiver, result in signal.send_robust(sender=Payment, **kwargs):
        if isinstance(result, Exception):
            logger.error("Signal receiver %r failed", receiver, exc_info=result)


def announce_on_commit(signal: Any, payment: Payment, **kwargs: Any) -> None:
    """Send ``signal`` for ``payment`` (read afresh) once the transaction commits."""

    def send() -> None:
        fresh = Payment.objects.select_related("order").get(pk=payment.pk)
        send_robustly(signal, payment=fresh, order=fresh.order, **{"operation": None, "amount": 0, **kwargs})

    transaction.on_commit(send, robust=True)
