"""The fault mix of the end-to-end and chaos runs, registered on the emulator.

The emulator lets the first registered fault win when several pick one call, and each
fault draws on every matching call, so the conditional rates below give the target
marginal rates: 20 % of API calls faulted (6 kinds), 1 % 429, 20 % of captures and
refunds answered 202; callbacks 30 % duplicated, 30 % reordered, 10 % dropped,
5 % delayed.
"""

from __future__ import annotations

from typing import Any

from .config import scenario_seed

HTTP_FAULTS = (
    ("timeout_before", {"hang": 0.5}),
    ("timeout_after", {"hang": 0.5}),
    ("error_before", {"status": 500}),
    ("error_after", {"status": 503}),
    ("reset_before", {}),
    ("reset_after", {}),
)


def conditional(marginals: list[float]) -> list[float]:
    """Per-fault rates that give ``marginals`` when the first registered fault wins."""
    left = 1.0
    rates = []
    for marginal in marginals:
        rates.append(min(1.0, marginal / left) if left > 0 else 0.0)
        left -= marginal
    return rates


def install(control: Any, scenario: str, *, api_rate: float = 0.20, accepted_rate: float = 0.20) -> None:
    seed = scenario_seed(scenario)
    for n, kind in enumerate(("capture", "refund")):
        control.add_fault(kind, "accept_202", rate=accepted_rate, seed=seed + n, complete_after=0.5)
    per_kind = api_rate / len(HTTP_FAULTS)
    rates = conditional([0.01] + [per_kind] * len(HTTP_FAULTS))
    control.add_fault("*", "rate_limit", rate=rates[0], seed=seed + 10, retry_after=0)
    for n, ((action, options), rate) in enumerate(zip(HTTP_FAULTS, rates[1:], strict=True)):
        control.add_fault("*", action, rate=rate, seed=seed + 20 + n, **options)
    callback_rates = conditional([0.30, 0.30, 0.10, 0.05])
    for n, ((action, options), rate) in enumerate(
        zip(
            [("duplicate", {"copies": 2}), ("reorder", {}), ("drop", {}), ("delay", {"seconds": 1.0})],
            callback_rates,
            strict=True,
        )
    ):
        control.add_fault("callback", action, rate=rate, seed=seed + 40 + n, **options)


def fired(control: Any) -> dict[str, int]:
    """How many calls each kind of fault hit."""
    counts: dict[str, int] = {}
    for fault in control.faults():
        key = f"{fault['operation']}:{fault['action']}" if fault["operation"] != "*" else fault["action"]
        counts[key] = counts.get(key, 0) + fault["fired"]
    return counts


def seen(control: Any) -> dict[str, int]:
    """How many calls each fault looked at (its denominator)."""
    return {f"{f['operation']}:{f['action']}": f["seen"] for f in control.faults()}
