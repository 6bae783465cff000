"""Chaos with real processes: a ``celery worker`` over Redis on PostgreSQL, killed at random.

While customers pay and staff capture/refund/cancel (as in the end-to-end run, without
emulator faults: here the faults are the processes), a schedule kills a pool process
with SIGKILL every 3 to 7 seconds (at least 20 kills), kills the whole worker (main
process and pool) 3 times and restarts it, and restarts Redis once with nothing saved
(``SHUTDOWN NOSAVE``; every queued and unacknowledged message is lost). That Redis is
the scenario's own (tests/private_redis.py: a free port, a temporary folder, no
persistence); the machine's Redis is never touched. The
Redis visibility timeout is 10 s for this run (production: 1 h), task HTTP timeouts
0.25 s. Then the queue drains, ONE reconciler pass runs, and the audit must show the
same zeros as the end-to-end run.

First, a poison payment whose sync always kills its worker process: it must be
attempted at most 3 times (TASK_MAX_ATTEMPTS), then flagged for staff.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dintero_django.conf import get_settings
from dintero_django.models import Payment
from tests.celery_worker import wait_until
from tests.private_redis import PrivateRedis, private_redis

from .harness import e2e, invariants, report
from .harness.config import SEED, rng, size
from .harness.shopping import new_order, open_checkout
from .harness.workers import Worker, redis_client, worker_running
from .test_e2e import compress

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.timeout(size(900, 3600))]

ORDERS = size(60, 300)
POOL_KILLS = size(20, 40)
POISON_KEY = f"dintero:poison:{SEED}"


class Chaos(threading.Thread):
    """The kill schedule (a schedule, not synchronisation): every 3-7 s one blow."""

    def __init__(self, worker: Worker, redis: PrivateRedis, rnd: Any) -> None:
        super().__init__(name="chaos", daemon=True)
        self.worker = worker
        self.redis = redis
        self.rnd = rnd
        self.customers_done = threading.Event()
        self.stop = threading.Event()
        self.pool_kills = self.main_kills = self.redis_restarts = 0
        self.redis_downtime = 0.0
        self.errors: list[str] = []
        # Which blow is what: 3 whole-worker kills and 1 Redis restart among the pool kills.
        self.plan = {4: "main", 9: "redis", 13: "main", 19: "main"}

    def finished(self) -> bool:
        return (
            self.customers_done.is_set()
            and self.pool_kills >= POOL_KILLS
            and self.main_kills >= 3
            and self.redis_restarts >= 1
        )

    def run(self) -> None:
        blow = 0
        while not self.finished() and not self.stop.is_set():
            self.stop.wait(self.rnd.uniform(3, 7))
            blow += 1
            try:
                what = self.plan.get(blow, "pool")
                if what == "main":
                    self.worker.kill_all()
                    self.worker.start()
                    self.main_kills += 1
                elif what == "redis":
                    self.redis_downtime = self.redis.restart()
                    self.redis_restarts += 1
                elif self.worker.kill_pool_process(self.rnd):
                    self.pool_kills += 1
            except Exception as error:  # reported and asserted by the test
                self.errors.append(f"blow {blow}: {type(error).__name__}: {error}")
                if not self.worker.alive():
                    self.worker.start()


def test_chaos_with_real_processes(shop: Any, settings: Any, tmp_path: Path) -> None:
    started = time.monotonic()
    compress(shop, settings)
    rnd = rng("chaos")
    # The poison payment: created while tasks are still eager, paid once the worker runs.
    poison = open_checkout(new_order(rnd))
    with (
        private_redis(tmp_path) as broker,
        worker_running(
            shop,
            settings,
            "chaos",
            visibility_timeout=10,
            extra_env={"DINTERO_POISON_KEY": POISON_KEY},
            redis_url=broker.url,
        ) as worker,
    ):
        client = redis_client(broker.url)
        client.sadd(POISON_KEY, str(poison.pk))
        shop.control.pay(poison.session_id, "AUTHORIZED")
        wait_until(
            lambda: Payment.objects.get(pk=poison.pk).needs_attention, 120, "the poison payment flagged"
        )
        crashes = int(client.get(f"{POISON_KEY}:crashes:{poison.pk}") or 0)
        flagged = Payment.objects.get(pk=poison.pk)

        chaos = Chaos(worker, broker, rnd)
        chaos.start()
        try:
            tally = e2e.customers(shop, ORDERS, rnd, threads=4, deadline_s=180, repost_after=5)
            e2e.staff(rnd, tally, threads=4)
        finally:
            chaos.customers_done.set()
            chaos.join(timeout=size(400, 1200))
            chaos.stop.set()
        drain_started = time.monotonic()
        if not worker.alive():
            worker.start()
        worker.drain(timeout=8)
        e2e.settle(shop.control, lambda: worker.drain(timeout=8))
        stuck = Payment.objects.filter(sync_pending=True).count()
        before = invariants.audit(shop.control.state())
        reconciled = e2e.reconcile_once()
        shop.control.wait_callbacks(timeout=60)
        worker.drain(timeout=8)
        audit = invariants.audit(shop.control.state())
        drain_seconds = time.monotonic() - drain_started
        log = worker.log.read_text(errors="replace")

    report.record(
        "chaos",
        orders=ORDERS,
        pool_kills=chaos.pool_kills,
        main_kills=chaos.main_kills,
        worker_starts=worker.starts,
        redis_restarts=chaos.redis_restarts,
        redis_downtime_s=chaos.redis_downtime,
        worker_lost_errors=log.count("WorkerLostError"),
        poison_crashes=crashes,
        poison_flagged=flagged.needs_attention,
        outcomes=dict(tally.outcomes),
        staff=dict(tally.staff),
        storefront_errors=len(tally.errors),
        sync_pending_stuck_before_reconcile=stuck,
        unsettled_before_reconcile=invariants.nonzero(before),
        reconciler=reconciled,
        paid=audit.get("remote_paid", 0),
        settle_seconds=drain_seconds,
        seconds=time.monotonic() - started,
        **{name: audit[name] for name in invariants.ZEROS},
    )
    assert chaos.errors == [], chaos.errors
    assert chaos.pool_kills >= POOL_KILLS and chaos.main_kills == 3 and chaos.redis_restarts == 1
    assert 1 <= crashes <= get_settings().TASK_MAX_ATTEMPTS, f"the poison task ran {crashes} times"
    assert flagged.needs_attention and "crashed" in flagged.attention_reason, flagged.attention_reason
    assert tally.errors == [], tally.errors[:5]
    assert invariants.nonzero(audit) == {}, audit["examples"]
    assert audit.get("remote_paid", 0) > ORDERS // 2
