"""Signals dintero-django sends to the shop, always after the database commit.

Every signal is sent with ``sender=Payment`` and these keyword arguments:

* ``payment``: the :class:`~dintero_django.models.Payment` (fresh from the database);
* ``order``: its :class:`~dintero_django.models.Order`;
* ``operation``: the :class:`~dintero_django.models.Operation` for money
  operations (capture, refund, cancel), else ``None``;
* ``amount``: minor units moved by this event (0 where nothing moved).

Receivers run in the process that made the change (a Celery worker, or the web
process for admin actions). Keep them quick, or enqueue your own task.
"""

from __future__ import annotations

from django.dispatch import Signal

#: The payment was authorized by Dintero and the amounts match the order.
payment_authorized = Signal()
#: The customer's payment failed, was declined or cancelled.
payment_failed = Signal()
#: Money was captured (``amount`` = this capture).
payment_captured = Signal()
#: Money was refunded (``amount`` = this refund).
payment_refunded = Signal()
#: The authorization was voided (order cancelled before capture).
payment_cancelled = Signal()
#: Something needs a human: amount/currency/reference mismatch, a second
#: payment for one order, an operation that cannot be resolved, a poison task.
#: ``reason`` (str) is also passed.
payment_needs_attention = Signal()
