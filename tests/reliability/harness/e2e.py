"""The end-to-end driver: storefront customers, the emulator as Dintero, staff, faults.

Customers create orders and start checkout over the REST API (polling and re-posting
like a storefront while the session is prepared), pay on the emulator in a mix of
outcomes, and half of them come back through the return URL. Staff then capture,
refund and cancel through the services (what the admin and staff API call). Then the
faults are cleared, things settle, ONE reconciler pass runs, and the audit compares
the database with the emulator's ``state()``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dintero_django.conf import get_settings
from dintero_django.exceptions import DinteroError, PaymentError
from dintero_django.models import Order, Payment
from dintero_django.services import money
from tests.celery_worker import wait_until

OUTCOMES = {
    "AUTHORIZED": 70,
    "CAPTURED": 5,
    "ON_HOLD": 5,
    "DECLINED": 5,
    "CANCELLED": 5,
    "abandoned": 5,
    "AUTHORIZED+backoffice": 5,
}
PLANS = (
    ("capture_half", "capture_rest", "refund_some"),
    ("capture_all", "refund_all"),
    ("capture_all",),
    ("void",),
    ("capture_half", "void"),
    ("capture_some", "capture_some", "refund_some", "refund_some"),
    ("refund_some",),
)


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    checkout_attempts: int = 0
    staff: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def in_thread(func: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        try:
            return func(*args)
        finally:
            connection.close()

    return run


class Customer:
    def __init__(self, base: str, rnd: random.Random) -> None:
        self.base = base
        self.rnd = rnd
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Accept"] = "application/json"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=60, **kwargs)

    def create_order(self) -> str:
        rnd = self.rnd
        lines = [
            {
                "description": f"item {n}",
                "quantity": rnd.randint(1, 3),
                "unit_amount": rnd.randint(101, 49_999),
            }
            for n in range(rnd.randint(1, 3))
        ]
        response = self.call("POST", "/api/dintero/orders/", json={"currency": "NOK", "lines": lines})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def checkout(self, public_id: str, deadline: float, tally: Tally, repost_after: float) -> str | None:
        """Post checkout, then poll the order until the session URL is there; post again
        after ``repost_after`` seconds without one (0: every time, for eager tasks)."""
        posted = float("-inf")
        while time.monotonic() < deadline:
            tally.checkout_attempts += 1
            if time.monotonic() - posted >= repost_after:
                posted = time.monotonic()
                response = self.call("POST", f"/api/dintero/orders/{public_id}/checkout/", json={})
            else:
                response = self.call("GET", f"/api/dintero/orders/{public_id}/")
            if response.status_code in (200, 202):
                payment = response.json().get("payment") or {}
                if payment.get("checkout_url") and payment.get("state") == "awaiting":
                    # The URL carries a ?language= query (the checkout's language).
                    return urlsplit(str(payment["checkout_url"])).path.rstrip("/").rsplit("/", 1)[-1]
            if repost_after:
                time.sleep(0.2)  # a storefront's poll interval (the loop has a deadline)
        return None


def customers(
    shop: Any, n: int, rnd: random.Random, *, threads: int, deadline_s: float, repost_after: float = 0
) -> Tally:
    tally = Tally()
    kinds = rnd.choices(list(OUTCOMES), weights=list(OUTCOMES.values()), k=n)
    seeds = [rnd.randrange(2**31) for _ in range(n)]

    @in_thread
    def one(index: int) -> None:
        own = random.Random(seeds[index])
        customer = Customer(shop.url, own)
        kind = kinds[index]
        public_id = customer.create_order()
        session_id = customer.checkout(public_id, time.monotonic() + deadline_s, tally, repost_after)
        if session_id is None:
            tally.outcomes["no_session"] += 1
            return
        tally.outcomes[kind] += 1
        if kind == "abandoned":
            return
        outcome = kind.split("+")[0]
        paid = shop.control.pay(session_id, outcome)
        if outcome == "ON_HOLD":
            shop.control.resolve(paid["transaction_id"], "AUTHORIZED")
        if kind.endswith("backoffice"):
            amount = Payment.objects.get(session_id=session_id).amount
            shop.control.backoffice_capture(paid["transaction_id"], own.randint(1, amount))
        if paid.get("redirect_url") and own.random() < 0.5:
            customer.http.get(paid["redirect_url"], timeout=60, allow_redirects=False)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(one, i) for i in range(n)]:
            try:
                future.result()
            except Exception as error:  # a storefront error is a finding, reported by the test
                tally.errors.append(f"{type(error).__name__}: {error}"[:300])
    return tally


def staff(rnd: random.Random, tally: Tally, *, threads: int) -> None:
    """Capture / refund / cancel the payments that are authorized locally, by plan."""
    pks = list(Payment.objects.filter(state=Payment.State.AUTHORIZED).values_list("pk", flat=True))
    plans = {pk: rnd.choice(PLANS) for pk in pks}
    amounts = {pk: rnd.random() for pk in pks}

    @in_thread
    def one(pk: int) -> None:
        for step in plans[pk]:
            payment = Payment.objects.get(pk=pk)
            share = amounts[pk]
            try:
                if step.startswith("capture"):
                    limit = payment.capturable
                    amount = {"capture_half": limit // 2, "capture_some": max(1, int(limit * share))}.get(
                        step
                    )
                    op = money.capture(pk, amount=amount)
                elif step.startswith("refund"):
                    limit = payment.refundable
                    amount = limit if step == "refund_all" else max(1, int(limit * share))
                    op = money.refund(pk, amount=amount, reason="e2e")
                else:
                    op = money.cancel(pk)
            except PaymentError:
                tally.staff[f"{step.split('_')[0]}_refused"] += 1
                continue
            except DinteroError:
                tally.staff[f"{step.split('_')[0]}_dintero_error"] += 1
                continue
            tally.staff[f"{op.kind}_{op.state}"] += 1

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(one, pk) for pk in pks]:
            try:
                future.result()
            except Exception as error:
                tally.errors.append(f"staff {type(error).__name__}: {error}"[:300])


def settle(control: Any, drain: Callable[[], None]) -> None:
    """Faults off, pending 202s completed, delayed callbacks released and delivered."""
    control.clear_faults()
    control.complete_pending()
    control.advance_clock(5)  # release delayed callbacks and scheduled 202 completions
    control.wait_callbacks(timeout=120)
    drain()
    leases_expired()


def leases_expired() -> None:
    """Settled includes this: a worker killed while holding an order's lease holds it
    until ``LEASE_SECONDS`` have passed (the reconciler would find it busy)."""
    wait_until(
        lambda: not Order.objects.filter(lease_until__gt=timezone.now()).exists(),
        get_settings().LEASE_SECONDS + 10,
        "the orders' leases to be released or to expire",
    )


def reconcile_once() -> dict[str, int]:
    import io
    import json

    out = io.StringIO()
    call_command("dintero_reconcile", "--older-than", "0", stdout=out)
    return dict(json.loads(out.getvalue() or "{}"))
