"""Orders and payments made through the app's own services (in-process, no REST round trip).

With Celery eager (the default test settings) ``create_order`` pushes the draft on
commit and ``start_checkout`` completes it and opens the session: the same code the
REST API and the tasks run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from dintero_django.conf import get_settings
from dintero_django.models import Order, Payment
from dintero_django.services.checkout import start_checkout
from dintero_django.services.orders import LineInput, create_order
from dintero_django.signature import signature_header


def random_lines(rnd: random.Random, *, max_lines: int = 3) -> list[LineInput]:
    """1-3 lines with odd unit amounts (so rounding mistakes would show)."""
    lines = [
        LineInput(
            description=f"item {n}",
            quantity=rnd.randint(1, 3),
            unit_amount=rnd.randint(101, 49_999),
            vat_percent=Decimal(rnd.choice([0, 12, 15, 25])),
            product_id=f"sku-{n}",
        )
        for n in range(1, rnd.randint(1, max_lines) + 1)
    ]
    if rnd.random() < 0.5:
        lines.append(
            LineInput(description="Shipping", quantity=1, unit_amount=rnd.randint(0, 9_900), type="shipping")
        )
    return lines


def new_order(rnd: random.Random, **extra: Any) -> Order:
    return create_order(random_lines(rnd), currency="NOK", **extra)


def open_checkout(order: Order, *, attempts: int = 20) -> Payment:
    """Start checkout until it has a session (transient faults make a try fail)."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            payment = start_checkout(order.pk)
        except Exception as error:  # transient: try again, like a storefront polling
            last = error
            continue
        if payment.session_id:
            return payment
    raise AssertionError(f"no checkout session for order {order.pk} after {attempts} tries: {last!r}")


def paid_payment(
    rnd: random.Random, control: Any, outcome: str = "AUTHORIZED", *, sync: bool = True
) -> tuple[Payment, str | None]:
    """A new order, its session, paid on the emulator; synced unless ``sync=False``."""
    from dintero_django.services.sync import sync_payment

    order = new_order(rnd)
    payment = open_checkout(order)
    if sync:  # we sync it ourselves: its own callback would race us for the order's lease
        control.add_fault("callback", "drop", times=1)
    tx = control.pay(payment.session_id, outcome)["transaction_id"]
    if sync:
        sync_payment(payment.pk)
        payment.refresh_from_db()
    return payment, tx


def callback_params(payment: Payment, tx: str | None, **extra: str) -> dict[str, str]:
    params = {
        "session_id": str(payment.session_id),
        "merchant_reference": str(payment.order.dintero_order_id),
        "time": "2026-11-26T12:00:00.000Z",
        **extra,
    }
    if tx:
        params = {"transaction_id": tx, **params}
    return params


def signed_url_and_header(
    base: str, params: dict[str, str], *, method: str = "GET", timestamp: int | None = None
) -> tuple[str, dict[str, str]]:
    """The callback URL and a valid Dintero-Signature for it, signed now."""
    conf = get_settings()
    url = f"{base}/dintero/callback/?{urlencode(params)}"
    headers: dict[str, str] = {}
    if conf.signature_secrets:
        stamp = int(time.time()) if timestamp is None else timestamp
        headers["Dintero-Signature"] = signature_header(
            conf.signature_secrets[0], conf.ACCOUNT_ID, method, url, stamp
        )
    return url, headers


def client_callback(client: Client, params: dict[str, str], **headers: str) -> int:
    """Deliver a signed callback to the view in-process (Django test client)."""
    url, signed = signed_url_and_header("http://testserver", params)
    path = url.removeprefix("http://testserver")
    response = client.get(path, headers={**signed, **headers})
    return int(response.status_code)


def retry(call: Callable[[], Any], attempts: int = 10) -> Any:
    """Call until it does not raise (for test-side reads during fault storms)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception:
            if attempt == attempts - 1:
                raise
    return None
