"""A project that names no rate for ``dintero_orders`` (a fresh one, as the README's
quickstart makes) gets the storefront at the default rate, not a 500 (issue 20)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.throttling import SimpleRateThrottle

from dintero_django.contrib.rest_framework.views import DEFAULT_ORDER_RATE, OrderRateThrottle


@pytest.mark.django_db
def test_storefront_without_a_throttle_rate_answers(client: Any, monkeypatch: Any) -> None:
    # DRF reads DEFAULT_THROTTLE_RATES once, into this class attribute.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {})

    response = client.get("/api/dintero/orders/")

    assert response.status_code == 200, response.content[:500]
    throttle = OrderRateThrottle()
    throttle.scope = "dintero_orders"
    assert throttle.get_rate() == DEFAULT_ORDER_RATE
