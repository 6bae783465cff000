"""A fixed-rate, open-loop HTTP client in Python threads (loopback only, bounded).

Request i is due at ``start + i / rate`` whatever happened to the others, and its
latency is measured from that due time, so a slow server cannot slow the client down
and hide its own queueing (no coordinated omission). Bounded by count and time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class LoadResult:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    late_starts: int = 0
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "200")


def open_loop(
    make_request: Callable[[int], tuple[str, dict[str, str]]],
    *,
    rate: float,
    seconds: float,
    threads: int = 48,
    timeout: float = 10.0,
) -> LoadResult:
    """Send ``rate * seconds`` GETs; ``make_request(i)`` gives (url, headers) at send time."""
    total = int(rate * seconds)
    result = LoadResult()
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.monotonic() + 0.5

    def worker() -> None:
        http = requests.Session()
        http.trust_env = False
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing to the schedule, not synchronisation
            elif delay < -0.05:
                with lock:
                    result.late_starts += 1
            url, headers = make_request(index)
            try:
                status = str(http.get(url, headers=headers, timeout=timeout).status_code)
            except requests.RequestException as error:
                status = type(error).__name__
            latency = time.monotonic() - due
            with lock:
                result.sent += 1
                result.statuses[status] += 1
                result.latencies.append(latency)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + timeout + 30)
    result.seconds = time.monotonic() - start
    return result


def summary(result: LoadResult) -> dict[str, Any]:
    return {
        "sent": result.sent,
        "achieved_rps": round(result.sent / result.seconds, 1) if result.seconds else 0,
        "errors": result.errors,
        "statuses": dict(result.statuses),
        "p50_ms": round(result.percentile(0.50) * 1000, 1),
        "p95_ms": round(result.percentile(0.95) * 1000, 1),
        "p99_ms": round(result.percentile(0.99) * 1000, 1),
        "max_ms": round(max(result.latencies, default=0) * 1000, 1),
        "late_starts": result.late_starts,
    }
