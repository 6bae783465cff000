"""Charge on dispatch: the shop captures an order's payment when the parcel leaves.

This is the Nordic norm (and what card schemes expect for physical goods): the
customer's money is reserved at checkout and taken when the goods ship. The shop
calls :mod:`dintero_django.api`, which records the capture before sending it and
never sends it twice, so marking an order shipped again is harmless.
"""

from __future__ import annotations

from typing import Any

from dintero_django import api


def mark_shipped(order: Any) -> api.Operation:
    """Capture what is left of the order's authorization (all of it, for a whole shipment).

    ``order`` is a dintero_django Order, its public id, or its Dintero order id.
    Raises ``api.PaymentError`` when nothing is left to capture or nothing was authorized.
    """
    return api.capture(order)
