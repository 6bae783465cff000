"""Helpers shared by the integration tests (no assertions hidden in here)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import requests

from dintero_django.client import OrdersClient
from dintero_django.conf import get_settings
from dintero_django.models import Operation, Order, Payment
from dintero_django.signature import signature_header


def order_row(public_id: str) -> Order:
    return Order.objects.get(public_id=public_id)


def active_payment(public_id: str) -> Payment:
    return Payment.objects.get(order__public_id=public_id, is_active=True)


def start_and_pay(
    shop: Any, outcome: str = "AUTHORIZED", lines: Any = None
) -> tuple[dict[str, Any], Payment, str | None]:
    """Create an order over REST, start checkout, pay it on the emulator."""
    order = shop.create_order(lines)
    response = shop.checkout(order["id"])
    assert response.status_code == 200, response.text
    payment = active_payment(order["id"])
    paid = shop.control.pay(payment.session_id, outcome)
    return order, payment, paid.get("transaction_id")


def remote_records(order_id: str, collection: str) -> list[dict[str, Any]]:
    """What the emulator's Orders API holds (read with the app's own client)."""
    return OrdersClient().list_operations(order_id, collection)  # type: ignore[arg-type]


def operations(public_id: str, kind: str) -> list[Operation]:
    return list(Operation.objects.filter(order__public_id=public_id, kind=kind))


def signed_callback(
    shop: Any,
    params: dict[str, str],
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """Call the callback view as Dintero would, signed with ``secret``."""
    conf = get_settings()
    url = f"{shop.url}/dintero/callback/?{urlencode(params)}"
    signing_secret = conf.signature_secrets[0] if secret is None else secret
    sent_headers = dict(headers or {})
    if signing_secret:
        stamp = int(time.time()) if timestamp is None else timestamp
        sent_headers["Dintero-Signature"] = signature_header(
            signing_secret, conf.ACCOUNT_ID, method, url, stamp
        )
    return requests.request(method, url, headers=sent_headers, timeout=30)


def request_count(shop: Any, operation: str) -> int:
    return sum(1 for entry in shop.control.requests_log() if entry.get("operation") == operation)
