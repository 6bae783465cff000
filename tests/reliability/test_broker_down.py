"""Broker down at enqueue time (issue 19): Redis is stopped while customers check out,
Dintero sends callbacks and staff press the money buttons; then it comes back.

The Redis is the scenario's own (tests/private_redis.py: a free port, a temporary
folder), with a real ``celery worker`` on it; the machine's Redis is never touched.
While it is down:
* the storefront answers: creating an order 201, checkout 202 ("being prepared") or a
  clear 503, never a 500, and no order is half-placed (placed without its Dintero order);
* every callback answered 200 has its payment's sync durably claimed (``sync_pending``),
  so the reconciler finds it; a callback that could not claim it would have to get a 5xx;
* the admin's capture button answers with a message (the capture itself needs no broker).
After the broker returns the customers post checkout again and pay, the queue drains, and
ONE reconciler pass settles everything: the zeros, and every payment paid during the
outage authorized locally.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from dintero_django.models import Order, Payment
from dintero_django.money_format import format_major_input
from tests.private_redis import private_redis

from .harness import e2e, invariants, report
from .harness.admin import Browser, make_user, messages_of
from .harness.config import rng, size
from .harness.shopping import new_order, open_checkout, paid_payment
from .harness.workers import worker_running
from .test_e2e import compress

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.timeout(size(600, 1200))]

CUSTOMERS = size(4, 30)  # storefront customers arriving during the outage
PAYERS = size(4, 30)  # sessions paid during the outage (their callbacks arrive then)


def storefront_during_outage(
    shop: Any, rnd: Any, answers: Counter[str]
) -> tuple[list[tuple[e2e.Customer, str]], float]:
    """Each customer creates an order and posts checkout (a guest: the order is theirs by
    their session cookie)."""
    customers, slowest = [], 0.0
    for _ in range(CUSTOMERS):
        customer = e2e.Customer(shop.url, rnd)
        started = time.monotonic()
        public_id = customer.create_order()  # asserts 201
        response = customer.call("POST", f"/api/dintero/orders/{public_id}/checkout/", json={})
        slowest = max(slowest, time.monotonic() - started)
        answers[f"checkout_{response.status_code}"] += 1
        customers.append((customer, public_id))
    return customers, slowest


def admin_capture(shop: Any, payment: Payment) -> tuple[int, list[str]]:
    browser = Browser(shop.url, "ops")
    path = f"/admin/dintero_django/order/{payment.order_id}/capture/"
    # Typed in kroner as a clerk would, and confirmed on the review page (issue 14).
    amount = format_major_input(payment.authorized_amount, payment.currency, "en")
    done = browser.post_form(path, {"amount": amount, "confirmed": "1"})
    page = browser.get(done.headers.get("Location", path)) if done.status_code == 302 else done
    return done.status_code, messages_of(page.text)


def checkout_after(customers: list[tuple[e2e.Customer, str]]) -> list[str]:
    """The customers post checkout again (as a storefront does) until their sessions are there."""
    sessions = []
    for customer, public_id in customers:
        session = customer.checkout(public_id, time.monotonic() + 120, e2e.Tally(), 5)
        assert session, f"no session for {public_id} after the broker came back"
        sessions.append(session)
    return sessions


def test_broker_down_at_enqueue(shop: Any, settings: Any, tmp_path: Path) -> None:
    compress(shop, settings)
    rnd = rng("broker-down")
    make_user(get_user_model(), "ops", superuser=True)
    # Before the worker (tasks eager): an authorized payment for staff, sessions to pay.
    staff_payment, _ = paid_payment(rnd, shop.control)
    payers = [open_checkout(new_order(rnd)) for _ in range(PAYERS)]
    answers: Counter[str] = Counter()
    with (
        private_redis(tmp_path) as broker,
        worker_running(shop, settings, "broker-down", redis_url=broker.url) as worker,
    ):
        broker.shutdown()
        customers, slowest = storefront_during_outage(shop, rnd, answers)
        since = len(shop.control.callbacks_log())
        for payment in payers:
            shop.control.pay(payment.session_id, "AUTHORIZED")
        shop.control.wait_callbacks(timeout=120)
        statuses = Counter(str(c["status"]) for c in shop.control.callbacks_log(since=since))
        claimed = Payment.objects.filter(pk__in=[p.pk for p in payers], sync_pending=True).count()
        half_placed = Order.objects.filter(status=Order.Status.PLACED, completed=False).count()
        admin_status, admin_messages = admin_capture(shop, staff_payment)

        broker.start()  # the broker is back (empty: nothing queued survived)
        sessions = checkout_after(customers)
        for session in sessions:
            shop.control.pay(session, "AUTHORIZED")
        e2e.settle(shop.control, lambda: worker.drain(timeout=30))
        reconciled = e2e.reconcile_once()
        shop.control.wait_callbacks(timeout=60)
        worker.drain(timeout=30)
        audit = invariants.audit(shop.control.state())
    authorized = Payment.objects.filter(pk__in=[p.pk for p in payers], state=Payment.State.AUTHORIZED).count()
    report.record(
        "broker_down",
        customers=CUSTOMERS,
        payers=PAYERS,
        storefront=dict(answers),
        slowest_storefront_s=round(slowest, 2),
        callback_statuses=dict(statuses),
        sync_claimed=claimed,
        half_placed=half_placed,
        admin_status=admin_status,
        reconciler=reconciled,
        outage_payers_authorized=authorized,
        **{name: audit[name] for name in invariants.ZEROS},
    )
    assert set(answers) <= {"checkout_202", "checkout_503"}, answers
    # Every callback answered 200 left a durable claim the reconciler finds.
    assert statuses["200"] <= claimed == PAYERS and set(statuses) <= {"200", "503", "None"}, statuses
    assert half_placed == 0
    assert admin_status == 302 and any("succeeded" in m for m in admin_messages), admin_messages
    assert authorized == PAYERS, reconciled
    assert invariants.nonzero(audit) == {}, audit["examples"]
