"""Clock skew (issue 19): two real workers, one whose clock runs 90 s ahead of the
machine's and the database's, one 90 s behind (time-machine in the worker processes,
tests/reliability/worker_settings.py), run the end-to-end fault scenario together
(CI: 20 orders, nightly: 300) with 15 s leases.

Before leases used the database's clock, the worker ahead saw every live lease as
expired and the one behind took leases that were already expired for everyone else
(tests/services/test_leases.py shows both on one lease). Here the whole flow must give
the zeros. The skew is checked, not assumed: each worker's log stamps its lines with
its own clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from .harness import report
from .harness.config import size
from .harness.workers import Worker, worker_running
from .test_e2e import compress, run

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.timeout(size(900, 2400))]

SKEW = 90
ORDERS = size(20, 300, "DINTERO_SKEW_ORDERS")
STAMP = re.compile(rb"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+: ", re.M)


def observed_skew(worker: Worker) -> float:
    """The worker's own clock against ours, from the last line its logger stamped."""
    now = datetime.now()  # the worker's log uses local time, as this does
    stamps = STAMP.findall(worker.log.read_bytes())
    assert stamps, "the worker logged nothing"
    return (datetime.strptime(stamps[-1].decode(), "%Y-%m-%d %H:%M:%S") - now).total_seconds()


def test_clock_skew(shop: Any, settings: Any) -> None:
    compress(shop, settings)
    with (
        worker_running(shop, settings, "ahead", extra_env={"DINTERO_CLOCK_SKEW": str(SKEW)}) as ahead,
        worker_running(shop, settings, "behind", extra_env={"DINTERO_CLOCK_SKEW": str(-SKEW)}) as behind,
    ):
        skews = [round(observed_skew(ahead)), round(observed_skew(behind))]
        figures = run(shop, ORDERS, "clock-skew", drain=ahead.drain, threads=6, repost_after=5)
        log = ahead.log.read_text(errors="replace") + behind.log.read_text(errors="replace")
    report.record(
        "clock_skew_workers",
        skew_observed_s=skews,
        lease_lost=log.count("LeaseLost"),
        orders=figures["orders"],
    )
    # Within a few seconds (the log line was written a moment before we read the clock).
    assert SKEW - 10 <= skews[0] <= SKEW + 1 and -SKEW - 10 <= skews[1] <= -SKEW + 1, skews
