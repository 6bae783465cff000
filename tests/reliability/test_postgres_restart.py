"""PostgreSQL restart in the middle of a burst (issue 19).

The scenario runs on a PostgreSQL server of its own (tests/private_postgres.py: initdb
into a temporary folder, a free port; never the machine's 127.0.0.1:5432): the test
process, its live server and a real ``celery worker`` are pointed at it. While sessions
are paid (their callbacks arrive), staff capture and a reconciler pass runs, the server
is stopped (``pg_ctl stop -m fast``: connections cut, open transactions rolled back),
left down until a callback has been refused, then started again.
* No callback is answered 200 unless its delivery is stored: a callback during the
  outage gets a 5xx, so Dintero retries it.
* A money operation in flight never ends ``succeeded`` without Dintero's event: one staff
  capture is stopped right after its request was sent, across the restart, and resumed
  on a dead connection; it must stay open (pending), and the reconciler reads it back.
* After recovery, the queue drained and ONE reconciler pass, the zeros hold and every
  paid session is authorized locally.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import connections

from dintero_django.models import CallbackDelivery, Operation, Payment
from dintero_django.services import money
from tests.celery_worker import wait_until
from tests.private_postgres import PrivatePostgres, private_postgres
from tests.private_redis import HOST

from .harness import e2e, invariants, report
from .harness.config import SEED, rng, size
from .harness.shopping import new_order, open_checkout, paid_payment
from .harness.workers import worker_running
from .test_e2e import compress
from .test_pause import StoppedCall, capture_in_thread

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.timeout(size(600, 1800))]

PAYERS = size(6, 60)
STAFF = size(4, 30)
DATABASE = f"dintero_restart_{SEED}"


@contextmanager
def django_on(server: PrivatePostgres) -> Iterator[None]:
    """Point Django (this process, its live server's threads, workers started inside)
    at the private server, migrated; the test database is restored afterwards."""
    conf = connections.databases["default"]
    saved = {key: conf[key] for key in ("HOST", "PORT", "NAME")}
    saved_env = {key: os.environ.get(key) for key in ("PGHOST", "PGPORT")}
    server.create_database(DATABASE)
    connections.close_all()
    conf.update(HOST=HOST, PORT=str(server.port), NAME=DATABASE)
    os.environ.update(PGHOST=HOST, PGPORT=str(server.port))
    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connections.close_all()
        conf.update(saved)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Burst(threading.Thread):
    """Pays the sessions and captures for staff, one after another, noting what fails."""

    def __init__(self, shop: Any, payers: list[Payment], staff: list[Payment]) -> None:
        super().__init__(name="burst", daemon=True)
        self.shop, self.payers, self.staff = shop, payers, staff
        self.outcomes: Counter[str] = Counter()

    def run(self) -> None:
        try:
            for payer, staffed in zip(self.payers, self.staff + [None] * len(self.payers), strict=False):
                self.shop.control.pay(payer.session_id, "AUTHORIZED")
                if staffed is not None:
                    self.capture(staffed)
        finally:
            connections.close_all()

    def capture(self, payment: Payment) -> None:
        try:
            operation = money.capture(payment.pk)
            self.outcomes[f"capture_{operation.state}"] += 1
        except Exception as error:  # the database went away: a clear error, nothing moved
            self.outcomes[f"capture_{type(error).__name__}"] += 1
        finally:
            connections.close_all()


def refused_callbacks(control: Any, since: int) -> int:
    return sum(1 for c in control.callbacks_log(since=since) if c["status"] is None or c["status"] >= 500)


def answered_200_unstored(control: Any, since: int) -> list[str]:
    """Callbacks answered 200 whose delivery is not stored (by transaction_id)."""
    missing = []
    for entry in control.callbacks_log(since=since):
        if entry["status"] != 200:
            continue
        tx = (parse_qs(urlsplit(entry["url"]).query).get("transaction_id") or [""])[0]
        if tx and not CallbackDelivery.objects.filter(transaction_id=tx).exists():
            missing.append(tx)
    return missing


def test_postgres_restart_mid_burst(shop: Any, settings: Any, monkeypatch: Any) -> None:
    compress(shop, settings)
    rnd = rng("postgres-restart")
    with private_postgres() as server, django_on(server):
        staff = [paid_payment(rnd, shop.control)[0] for _ in range(STAFF)]
        in_flight = paid_payment(rnd, shop.control)[0]
        payers = [open_checkout(new_order(rnd)) for _ in range(PAYERS)]
        with worker_running(shop, settings, "pg-restart") as worker:
            since = len(shop.control.callbacks_log())
            call = StoppedCall(monkeypatch, "capture", after=True)
            flight, flown = capture_in_thread(in_flight, in_flight.authorized_amount)
            assert call.paused.wait(60), flown  # sent; its outcome not recorded yet
            burst = Burst(shop, payers, staff)
            burst.start()
            wait_until(lambda: len(shop.control.callbacks_log(since=since)) >= 1, 120, "the first callback")
            server.stop("fast")
            wait_until(lambda: refused_callbacks(shop.control, since) >= 1, 120, "a callback refused")
            server.start()
            call.resume()
            flight.join(timeout=120)
            burst.join(timeout=300)
            assert not burst.is_alive() and not flight.is_alive()
            # This thread's connection died with the server; the reconciler command runs in
            # a fresh process in production (cron, a celery task closes unusable ones first).
            connections.close_all()
            flight_before = Operation.objects.get(payment=in_flight, kind=Operation.Kind.CAPTURE).state
            reconciler_during = e2e.reconcile_once()
            e2e.settle(shop.control, lambda: worker.drain(timeout=30))
            unstored = answered_200_unstored(shop.control, since)
            flight_state = Operation.objects.get(payment=in_flight, kind=Operation.Kind.CAPTURE).state
            before = invariants.audit(shop.control.state())
            reconciled = e2e.reconcile_once()
            shop.control.wait_callbacks(timeout=60)
            worker.drain(timeout=30)
            audit = invariants.audit(shop.control.state())
            statuses = Counter(str(c["status"]) for c in shop.control.callbacks_log(since=since))
            authorized = Payment.objects.filter(
                pk__in=[p.pk for p in payers], state=Payment.State.AUTHORIZED
            ).count()
    report.record(
        "postgres_restart",
        payers=PAYERS,
        staff=STAFF,
        callback_statuses=dict(statuses),
        staff_outcomes=dict(burst.outcomes),
        in_flight=f"{type(flown.get('error')).__name__} {flight_before} -> {flight_state}",
        reconciler_after_restart=reconciler_during,
        reconciler=reconciled,
        unsettled_before_reconcile=invariants.nonzero(before),
        payers_authorized=authorized,
        **{name: audit[name] for name in invariants.ZEROS},
    )
    assert unstored == [], unstored
    assert flight_before in Operation.OPEN_STATES and flight_state == Operation.State.SUCCEEDED, flown
    assert before["local_moves_remote_lacks"] == 0, before["examples"]
    assert authorized == PAYERS, reconciled
    assert invariants.nonzero(audit) == {}, audit["examples"]
