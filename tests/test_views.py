"""The public views (callback, return, result) against input no Dintero sends.

These run on both legs: PostgreSQL refuses a NUL character in any text or JSON
value, so a NUL that reached a query or a stored row would be a 500 there only.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from dintero_django.models import CallbackDelivery, Order, Payment
from tests.helpers import active_payment

pytestmark = [pytest.mark.timeout(60)]

NUL = "\x00"


def test_a_nul_in_the_return_url_is_an_unknown_order_not_a_500(shop: Any) -> None:
    order = shop.create_order()
    reference = str(Order.objects.get(public_id=order["id"]).dintero_order_id)
    for query in (
        {"merchant_reference": NUL},
        {"merchant_reference": reference + NUL},
        {"merchant_reference": reference, "transaction_id": "T" + NUL},
    ):
        answer = requests.get(f"{shop.url}/dintero/return/", params=query, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 404), (query, answer.status_code)


def test_a_nul_in_an_unsigned_callback_is_stored_without_it(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "SIGNATURE_SECRET": ""}
    order = shop.create_order()
    assert shop.checkout(order["id"]).status_code == 200
    payment = active_payment(order["id"])
    query = {"session_id": str(payment.session_id), "merchant_reference": "X" + NUL, NUL + "junk": NUL}
    answer = requests.get(
        f"{shop.url}/dintero/callback/", params=query, headers={"event-delivery": "d" + NUL}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    stored = CallbackDelivery.objects.get(payment=payment)
    assert stored.query == {"session_id": payment.session_id, "merchant_reference": "X", "junk": ""}
    assert stored.event_delivery == "d"
    assert Payment.objects.get(pk=payment.pk).state == payment.state, "nothing changed but a read"
