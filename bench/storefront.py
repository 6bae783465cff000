"""What the customer waits for, measured as the example shop's browser code runs it.

Shared by ``bench/time_to_pay.py`` and ``bench/time_to_paid.py``: the processes
(emulator, gunicorn, a real celery worker, PostgreSQL, Redis), the emulator's
``latency`` fault on every API call, and a storefront client that follows
``example_project/shop/static/shop/shop.js`` step by step:

- Pay: ``POST /api/dintero/orders/`` (the order, unless it exists), then
  ``POST …/checkout/``; while the answer has no ``payment.checkout_url`` (202),
  ``GET`` the order every 0.75 s (``PREPARE_POLL_MS``).
- Back from Dintero: the browser follows ``return_url`` (the app's return view
  redirects to the result page); the shop's order page then ``GET``s the order at
  once and every 1.5 s (``POLL_MS``) until the payment is final.

Every figure is a wall-clock time seen by this client, in one run; the load is
printed with it (other processes on the machine change times, not counts).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import support

PREPARE_POLL = 0.75  # shop.js PREPARE_POLL_MS
STATUS_POLL = 1.5  # shop.js POLL_MS
PREPARE_POLLS = 40
LINES = [
    {"product_id": "chair", "description": "Stacking chair", "quantity": 2, "unit_amount": 19900},
    {"product_id": "table", "description": "Garden table", "quantity": 1, "unit_amount": 49900},
    {"description": "Shipping", "type": "shipping", "quantity": 1, "unit_amount": 9900},
]


@dataclass
class Stack:
    emulator_url: str
    site_url: str
    web: support.Proc
    worker: support.Proc
    logdir: Path


@contextmanager
def running_stack(database: str, *, latency: float) -> Iterator[Stack]:
    """Emulator, gunicorn (2 sync workers), celery worker (prefork, 2 children), a fresh
    PostgreSQL database; this process prepares data with in-process tasks."""
    # SIGTERM (kill) stops the processes started here too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ.setdefault("BENCH_DB", database)
    support.setup_django(BENCH_EAGER="1")
    from django.conf import settings

    support.recreate_database(os.environ["BENCH_DB"])
    support.flush_redis(str(settings.CELERY_BROKER_URL))
    support.flush_redis(settings.CACHES["default"]["LOCATION"])
    logdir = Path(tempfile.mkdtemp(prefix="bench-customer-"))
    with ExitStack() as stack:
        emulator, emulator_url = support.start_emulator(logdir)
        stack.enter_context(support.stopping(emulator))
        remote = {"API_URL": emulator_url, "CHECKOUT_URL": emulator_url}
        env = support.bench_env(
            BENCH_DB=os.environ["BENCH_DB"], BENCH_EAGER="0", BENCH_DINTERO=json.dumps(remote)
        )
        web, site_url = support.start_gunicorn(logdir, env)
        stack.enter_context(support.stopping(web))
        env["BENCH_DINTERO"] = json.dumps({**remote, "SITE_URL": site_url})
        worker = support.start_celery_worker(logdir, env)
        stack.enter_context(support.stopping(worker))
        settings.DINTERO = {**settings.DINTERO, **remote, "SITE_URL": site_url}
        from dintero_django.client import reset

        reset()
        print(f"emulator {emulator_url}, gunicorn {site_url}, celery worker {worker.pid}; logs in {logdir}")
        print(f"emulator latency fault: {latency * 1000:.0f} ms on every API call (the token too)")
        print()
        yield Stack(emulator_url, site_url, web, worker, logdir)


def add_latency(emulator_url: str, seconds: float) -> None:
    from dintero_django.emulator.client import EmulatorControl

    with EmulatorControl(emulator_url) as control:
        control.clear_faults()
        if seconds > 0:
            control.add_fault("*", "latency", seconds=seconds)


class Browser:
    """One customer's browser: its own cookies (the guest key), shop.js's protocol."""

    def __init__(self, site_url: str) -> None:
        import requests

        self.site_url = site_url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Accept"] = "application/json"
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, payload: Any = None) -> tuple[int, dict[str, Any]]:
        self.requests += 1
        response = self.http.request(method, f"{self.site_url}{path}", json=payload, timeout=60)
        assert response.status_code < 300, (method, path, response.status_code, response.text[:300])
        return response.status_code, response.json()

    def create_order(self) -> str:
        _status, order = self._json("POST", "/api/dintero/orders/", {"currency": "NOK", "lines": LINES})
        return str(order["id"])

    def open_payment(self, public_id: str, query: str = "") -> tuple[str, int]:
        """shop.js ``openPayment``: the checkout URL, and how many polls it took."""
        _status, order = self._json("POST", f"/api/dintero/orders/{public_id}/checkout/{query}", {})
        polls = 0
        while not payment_ready(order):
            assert polls < PREPARE_POLLS, f"no checkout URL after {polls} polls: {order}"
            time.sleep(PREPARE_POLL)
            polls += 1
            _status, order = self._json("GET", f"/api/dintero/orders/{public_id}/")
        return str(order["payment"]["checkout_url"]), polls

    def back_from_dintero(self, redirect_url: str, public_id: str) -> tuple[str, int]:
        """Follow ``return_url`` to the result page, then poll the order as the shop's
        order page does. Returns where ``authorized`` was first seen, and the polls."""
        self.requests += 1
        page = self.http.get(redirect_url, timeout=60, headers={"Accept": "text/html"})
        assert page.status_code == 200, (page.status_code, page.text[:300])
        if 'data-state="authorized"' in page.text:
            return "result page", 0
        polls = 0
        while True:
            _status, order = self._json("GET", f"/api/dintero/orders/{public_id}/")
            state = (order.get("payment") or {}).get("state")
            if state == "authorized":
                return "order GET", polls
            assert state in ("created", "awaiting", "pending"), order
            assert polls < 240, "not authorized after 6 minutes"
            polls += 1
            time.sleep(STATUS_POLL)


def payment_ready(order: dict[str, Any]) -> bool:
    payment = order.get("payment") or {}
    return bool(payment.get("state") == "awaiting" and payment.get("checkout_url"))


def session_of(public_id: str) -> str:
    from dintero_django.models import Payment

    payment = Payment.objects.get(order__public_id=public_id, is_active=True)
    return str(payment.session_id)


def drafted(public_id: str) -> bool:
    from dintero_django.models import Order

    return Order.objects.filter(public_id=public_id).exclude(dintero_draft_id="").exists()


def queue_length() -> int:
    """Tasks waiting in the broker (Redis list ``celery``), not counting those a child holds."""
    import redis
    from django.conf import settings

    return int(redis.Redis.from_url(str(settings.CELERY_BROKER_URL)).llen("celery"))


def summarize(label: str, seconds: list[float], extra: str = "") -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    figures = {
        "label": label,
        "n": len(ms),
        "p50": support.percentile(ms, 50),
        "p95": support.percentile(ms, 95),
        "max": max(ms) if ms else float("nan"),
        "load": support.load(),
        "extra": extra,
    }
    print(
        f"{label}: n {figures['n']}, p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, "
        f"max {figures['max']:.0f} ms{'; ' + extra if extra else ''}; load {figures['load']}"
    )
    return figures


def table(rows: list[dict[str, Any]], round_trip: float) -> None:
    rt = round_trip * 1000
    print()
    print("| scenario | n | p50 ms | p95 ms | p50 / round trip | p95 / round trip | notes | load after |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for row in rows:
        print(
            f"| {row['label']} | {row['n']} | {row['p50']:.0f} | {row['p95']:.0f} | "
            f"{row['p50'] / rt:.2f} | {row['p95'] / rt:.2f} | {row['extra']} | {row['load']} |"
        )
