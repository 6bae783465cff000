"""SQL queries per request stay the same whatever the database holds (no N+1).

Each request runs once to warm per-process caches (content types, permissions),
then is counted with 20 and with 100 orders (realistic rows: tests/perf/data.py)
against the same ceiling. bench/queries.py measures 100 and 10,000 orders on
PostgreSQL. These are query counts, never timings.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from dintero_django.contrib.rest_framework.views import GUEST_KEY
from dintero_django.models import Operation, Order, Payment
from dintero_django.signature import signature_header
from tests.perf.data import populate

pytestmark = pytest.mark.django_db

SECRET = "perf-signature-secret"


@pytest.fixture(params=[20, 100], ids=lambda n: f"{n}-orders")
def staff(request: Any, django_user_model: Any, settings: Any) -> Any:
    settings.DINTERO = {**settings.DINTERO, "SIGNATURE_SECRET": SECRET}
    user = django_user_model.objects.create_superuser("perf-admin", "admin@example.com", "x")
    populate(request.param, staff=user)
    return user


def paid_payments() -> list[Payment]:
    return list(
        Payment.objects.filter(state=Payment.State.AUTHORIZED, captured_amount__gt=0)
        .select_related("order")
        .order_by("pk")
    )


def callback(payment: Payment, **extra: str) -> Callable[[], Any]:
    query = urlencode(
        {
            "transaction_id": str(payment.transaction_id),
            "session_id": str(payment.session_id),
            "merchant_reference": str(payment.order.dintero_order_id),
            **extra,
        }
    )
    signature = signature_header(
        SECRET, "T12345678", "GET", f"http://testserver/dintero/callback/?{query}", int(time.time())
    )
    client = Client()
    return lambda: client.get(
        f"/dintero/callback/?{query}",
        HTTP_DINTERO_SIGNATURE=signature,
        HTTP_EVENT_DELIVERY=str(uuid.uuid4()),
    )


def test_callback(staff: Any, django_assert_max_num_queries: Any) -> None:
    """Find the payment, claim the sync (its task is queued at once), store the delivery."""
    warm, counted = paid_payments()[:2]
    assert callback(warm)().status_code == 200
    with django_assert_max_num_queries(3):
        assert callback(counted)().status_code == 200
    assert Payment.objects.get(pk=counted.pk).sync_pending


def test_event_callback(staff: Any, django_assert_max_num_queries: Any) -> None:
    warm, counted = paid_payments()[:2]
    assert callback(warm, event="CAPTURE", event_id="ev-1")().status_code == 200
    with django_assert_max_num_queries(3):
        assert callback(counted, event="CAPTURE", event_id="ev-2")().status_code == 200


def guest(order: Order) -> Client:
    session = SessionStore()
    session[GUEST_KEY] = order.guest_key
    session.save()
    client = Client(HTTP_ACCEPT="application/json")
    client.cookies["sessionid"] = str(session.session_key)
    return client


def test_storefront_status_read(staff: Any, django_assert_max_num_queries: Any) -> None:
    """The guest's session, the order with its active payment (one join), its lines."""
    orders = [p.order for p in paid_payments() if p.order.guest_key][:2]
    for order in orders[:1]:
        assert guest(order).get(f"/api/dintero/orders/{order.public_id}/").status_code == 200
    client = guest(orders[1])
    with django_assert_max_num_queries(3):
        response = client.get(f"/api/dintero/orders/{orders[1].public_id}/")
    assert response.status_code == 200
    assert response.json()["payment"]["state"] == "authorized"


def test_storefront_order_without_payment(staff: Any, django_assert_max_num_queries: Any) -> None:
    order = Order.objects.filter(payments__isnull=True).exclude(guest_key="").first()
    assert order is not None
    client = guest(order)
    with django_assert_max_num_queries(3):
        response = client.get(f"/api/dintero/orders/{order.public_id}/")
    assert response.status_code == 200 and response.json()["payment"] is None


def test_storefront_order_creation(staff: Any, django_assert_max_num_queries: Any) -> None:
    body = {
        "currency": "NOK",
        "lines": [
            {"description": "Stacking chair", "quantity": 2, "unit_amount": 19900},
            {"description": "Shipping", "type": "shipping", "quantity": 1, "unit_amount": 9900},
        ],
    }
    post = Client(HTTP_ACCEPT="application/json").post
    assert post("/api/dintero/orders/", body, content_type="application/json").status_code == 201
    with django_assert_max_num_queries(12):
        response = Client(HTTP_ACCEPT="application/json").post(
            "/api/dintero/orders/", body, content_type="application/json"
        )
    assert response.status_code == 201, response.content


def test_admin_order_list(staff: Any, django_assert_max_num_queries: Any) -> None:
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/dintero_django/order/").status_code == 200
    # 9 (was 6): the payment, amount and method columns read prefetched payments and lines
    # (two queries for the page), and the method filter lists the methods seen (one).
    with django_assert_max_num_queries(9):
        assert client.get("/admin/dintero_django/order/").status_code == 200


@pytest.mark.parametrize("operations", [1, 20])
def test_admin_order_change(staff: Any, operations: int, django_assert_max_num_queries: Any) -> None:
    """The same count whatever the order's ledger holds (its rows name who made them)."""
    payment = next(p for p in paid_payments() if p.order.customer_id)  # shown on the page
    for _ in range(operations):
        Operation.objects.create(
            kind=Operation.Kind.CAPTURE,
            state=Operation.State.FAILED,
            order=payment.order,
            payment=payment,
            amount=100,
            created_by=staff,
        )
    client = Client()
    client.force_login(staff)
    url = f"/admin/dintero_django/order/{payment.order_id}/change/"
    assert client.get(url).status_code == 200
    # 18 (was 8): the money buttons say why they are disabled (one query for an open
    # operation); the timeline reads the ledger, the callbacks, the flags, the return
    # visits and the lines once each, whatever their number; the payment-link button
    # reads the order and its payments.
    with django_assert_max_num_queries(18):
        assert client.get(url).status_code == 200
