"""The shop listens to dintero-django's signals (sent after the database commit).

A real shop would mark its own order paid, send a receipt or release stock
here; the demo logs. Receivers run in whichever process made the change (a
Celery worker, or the web process with eager tasks), so keep them quick.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from dintero_django import signals

logger = logging.getLogger("example_project.shop")


@receiver(signals.payment_authorized, dispatch_uid="shop_payment_authorized")
def payment_authorized(order: Any, amount: int, **kwargs: Any) -> None:
    logger.info("Order %s is paid: %s minor units authorized.", order.public_id, amount)


@receiver(signals.payment_captured, dispatch_uid="shop_payment_captured")
def payment_captured(order: Any, amount: int, **kwargs: Any) -> None:
    logger.info("Order %s: %s minor units captured; ship it.", order.public_id, amount)


@receiver(signals.payment_refunded, dispatch_uid="shop_payment_refunded")
def payment_refunded(order: Any, amount: int, **kwargs: Any) -> None:
    logger.info("Order %s: %s minor units refunded.", order.public_id, amount)


@receiver(signals.payment_failed, dispatch_uid="shop_payment_failed")
@receiver(signals.payment_cancelled, dispatch_uid="shop_payment_cancelled")
def payment_not_completed(order: Any, payment: Any, **kwargs: Any) -> None:
    logger.info("Order %s: payment %s.", order.public_id, payment.state)


@receiver(signals.payment_needs_attention, dispatch_uid="shop_payment_needs_attention")
def payment_needs_attention(order: Any, reason: str, **kwargs: Any) -> None:
    logger.warning("Order %s needs a human: %s", order.public_id, reason)
