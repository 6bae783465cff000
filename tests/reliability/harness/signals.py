"""Count the app's payment signals per payment: the observable "state changes"."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dintero_django import signals

NAMES = (
    "payment_authorized",
    "payment_failed",
    "payment_cancelled",
    "payment_captured",
    "payment_refunded",
    "payment_needs_attention",
)


class SignalLog:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, int]] = Counter()
        self.amounts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def of(self, name: str, payment_pk: int) -> int:
        return self.counts[(name, payment_pk)]

    def total(self, name: str) -> int:
        return sum(n for (signal, _), n in self.counts.items() if signal == name)


@contextmanager
def counting() -> Iterator[SignalLog]:
    log = SignalLog()
    receivers = []
    for name in NAMES:

        def receiver(sender: Any, payment: Any = None, amount: int = 0, _name: str = name, **kw: Any) -> None:
            with log._lock:
                log.counts[(_name, payment.pk)] += 1
                log.amounts[(_name, payment.pk)] += int(amount or 0)

        getattr(signals, name).connect(receiver, weak=False, dispatch_uid=f"reliability-{name}")
        receivers.append(name)
    try:
        yield log
    finally:
        for name in receivers:
            getattr(signals, name).disconnect(dispatch_uid=f"reliability-{name}")
