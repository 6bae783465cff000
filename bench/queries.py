"""SQL queries per operation with 100 and with 10,000 orders in the database.

    .venv/bin/python bench/queries.py [--sizes 100,10000] [--show]

Each operation goes through Django's test client (the whole middleware stack)
and is counted with ``CaptureQueriesContext`` after one warm-up call (one-off
per-process lookups, such as content types, are not per-request costs). The
database is PostgreSQL (``BENCH_DB``, default ``dintero_bench_queries``), filled
with realistic rows (tests/perf/data.py): per order three lines, a payment,
ledger operations and a callback delivery. Tasks are published to an in-memory
broker, never run. ``--show`` prints the SQL of every counted request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import support

COMMAND = ".venv/bin/python bench/queries.py"
TIMED_RUNS = 10


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--show", action="store_true", help="print the SQL of each counted request")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    os.environ.setdefault("BENCH_DB", "dintero_bench_queries")
    support.setup_django(CELERY_BROKER_URL="memory://", BENCH_EAGER="0")
    support.header("SQL queries per operation", COMMAND)
    support.recreate_database(os.environ["BENCH_DB"])

    from tests.perf.data import populate

    staff = make_staff()
    results: dict[str, dict[int, tuple[int, float]]] = {}
    present = 0
    for size in sizes:
        started = time.monotonic()
        populate(size - present, staff=staff)
        present = size
        print(f"-- {size} orders in the database (filled in {time.monotonic() - started:.1f} s)")
        for name, operation in operations(staff).items():
            count, ms, sql = measure(operation)
            results.setdefault(name, {})[size] = (count, ms)
            print(f"   {name:<32} {count:>3} queries   {ms:7.1f} ms (median of {TIMED_RUNS})")
            if args.show:
                for statement in sql:
                    print(f"        {statement[:300]}")
        print()

    print("| operation | " + " | ".join(f"queries @ {s:,}" for s in sizes) + " | same count |")
    print("| --- | " + " | ".join("---" for _ in sizes) + " | --- |")
    for name, by_size in results.items():
        counts = [by_size[s][0] for s in sizes]
        same = "yes" if len(set(counts)) == 1 else "NO"
        print(f"| {name} | " + " | ".join(str(c) for c in counts) + f" | {same} |")
    return 0


def make_staff() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("bench-admin", "admin@example.com", "x")


def measure(operation: Callable[[], Callable[[], Any]]) -> tuple[int, float, list[str]]:
    """Warm up once, count one call, then time a few (each call gets fresh arguments)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    operation()()
    call = operation()
    with CaptureQueriesContext(connection) as captured:
        call()
    # captured_queries reads the connection's log, which the next request clears: copy it now.
    sql = [query["sql"] for query in captured.captured_queries]
    timings = []
    for _ in range(TIMED_RUNS):
        call = operation()
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return len(sql), statistics.median(timings), sql


def operations(staff: Any) -> dict[str, Callable[[], Callable[[], Any]]]:
    """Each entry prepares one request (outside the count) and returns the call to count."""
    return {
        "callback (payment)": lambda: callback_call(event=False),
        "callback (CAPTURE event)": lambda: callback_call(event=True),
        "callback (repeated delivery)": repeat_callback_call,
        "GET /api/dintero/orders/{id}/": status_read_call,
        "POST /api/dintero/orders/": order_create_call,
        "admin order list": lambda: admin_call(staff, "/admin/dintero_django/order/"),
        "admin order change": lambda: admin_call(staff, change_url()),
        "admin order change (draft)": lambda: admin_call(staff, change_url(draft=True)),
    }


def _assert_status(response: Any, expected: int) -> Any:
    if response.status_code != expected:
        raise AssertionError(f"{response.status_code}: {response.content[:500]!r}")
    return response


# -- callbacks -----------------------------------------------------------------------------


_used: set[int] = set()


def _fresh_payment(*, captured: bool) -> Any:
    """A paid payment no earlier call touched, so its callback queues a sync."""
    from dintero_django.models import Payment

    payments = Payment.objects.filter(state="authorized", sync_pending=False).exclude(pk__in=_used)
    payments = payments.filter(captured_amount__gt=0) if captured else payments
    payment = payments.select_related("order").order_by("?").first()
    assert payment is not None
    _used.add(payment.pk)
    return payment


def signed_get(path: str, params: dict[str, str], headers: dict[str, str] | None = None) -> Callable[[], Any]:
    from django.test import Client

    from dintero_django.conf import get_settings
    from dintero_django.signature import signature_header

    conf = get_settings()
    query = urlencode(params)
    url = f"http://testserver{path}?{query}"
    signature = signature_header(conf.signature_secrets[0], conf.ACCOUNT_ID, "GET", url, int(time.time()))
    client = Client()
    extra: dict[str, Any] = {"HTTP_DINTERO_SIGNATURE": signature}
    for name, value in (headers or {}).items():
        extra["HTTP_" + name.upper().replace("-", "_")] = value
    return lambda: _assert_status(client.get(f"{path}?{query}", **extra), 200)


def _callback_params(payment: Any) -> dict[str, str]:
    return {
        "transaction_id": str(payment.transaction_id),
        "session_id": str(payment.session_id),
        "merchant_reference": str(payment.order.dintero_order_id),
    }


def callback_call(*, event: bool) -> Callable[[], Any]:
    payment = _fresh_payment(captured=event)
    params = _callback_params(payment)
    if event:
        params |= {"event": "CAPTURE", "event_id": f"ev-{payment.transaction_id}-2"}
    return signed_get("/dintero/callback/", params, {"event-delivery": str(uuid.uuid4())})


def repeat_callback_call() -> Callable[[], Any]:
    payment = _fresh_payment(captured=False)
    headers = {"event-delivery": str(uuid.uuid4())}
    first = signed_get("/dintero/callback/", _callback_params(payment), headers)
    first()
    return signed_get("/dintero/callback/", _callback_params(payment), headers)


# -- storefront --------------------------------------------------------------------------


def guest_client(key: str) -> Any:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import Client

    from dintero_django.contrib.rest_framework.views import GUEST_KEY

    session = SessionStore()
    session[GUEST_KEY] = key
    session.save()
    client = Client(HTTP_ACCEPT="application/json")
    client.cookies[settings.SESSION_COOKIE_NAME] = str(session.session_key)
    return client


def status_read_call() -> Callable[[], Any]:
    from dintero_django.models import Order

    order = Order.objects.filter(customer__isnull=True, payments__state="authorized").order_by("?").first()
    assert order is not None
    client = guest_client(order.guest_key)
    path = f"/api/dintero/orders/{order.public_id}/"
    return lambda: _assert_status(client.get(path), 200)


def order_create_call() -> Callable[[], Any]:
    from django.test import Client

    body = {
        "currency": "NOK",
        "email": "buyer@example.com",
        "lines": [
            {"product_id": "chair", "description": "Stacking chair", "quantity": 2, "unit_amount": 19900},
            {"product_id": "table", "description": "Garden table", "quantity": 1, "unit_amount": 49900},
            {"description": "Shipping", "type": "shipping", "quantity": 1, "unit_amount": 9900},
        ],
    }
    client = Client(HTTP_ACCEPT="application/json")  # a new guest: the order creates the session
    return lambda: _assert_status(
        client.post("/api/dintero/orders/", body, content_type="application/json"), 201
    )


# -- admin -------------------------------------------------------------------------------


def change_url(*, draft: bool = False) -> str:
    """A captured order with a customer (its ledger has rows made by staff), or a draft one."""
    from dintero_django.models import Order, Payment

    if draft:
        order = Order.objects.filter(status="draft", customer__isnull=False).order_by("?").first()
        assert order is not None
        return f"/admin/dintero_django/order/{order.pk}/change/"
    captured = Payment.objects.filter(captured_amount__gt=0, order__customer__isnull=False)
    payment = captured.order_by("?").first()
    assert payment is not None
    return f"/admin/dintero_django/order/{payment.order_id}/change/"


def admin_call(staff: Any, path: str) -> Callable[[], Any]:
    from django.test import Client

    client = Client()
    client.force_login(staff)
    return lambda: _assert_status(client.get(path), 200)


if __name__ == "__main__":
    sys.exit(main())
