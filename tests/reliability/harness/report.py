"""Figures: one summary line per scenario, printed as it ends and again at the end of the run.

Set ``DINTERO_RELIABILITY_FIGURES=<folder>`` to also write them as JSON (used to fill
docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .config import SEED, TIER

FIGURES: list[dict[str, Any]] = []


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


def record(scenario: str, **figures: Any) -> str:
    """Record and print one scenario's figures; returns the line."""
    line = f"[reliability] {scenario} tier={TIER} seed={SEED} " + " ".join(
        f"{key}={_format(value)}" for key, value in figures.items()
    )
    FIGURES.append({"scenario": scenario, "tier": TIER, "seed": SEED, **figures})
    # Straight to the real stdout as well, so -s / CI logs show it at once.
    print(line, file=sys.__stdout__, flush=True)
    return line


def lines() -> list[str]:
    return [
        f"{f['scenario']} tier={f['tier']} seed={f['seed']} "
        + " ".join(
            f"{key}={_format(value)}" for key, value in f.items() if key not in ("scenario", "tier", "seed")
        )
        for f in FIGURES
    ]


def dump() -> None:
    """To ``$DINTERO_RELIABILITY_FIGURES/figures-<tier>-<database>.json`` when that is set."""
    folder = os.environ.get("DINTERO_RELIABILITY_FIGURES")
    if folder and FIGURES:
        database = "postgres" if os.environ.get("DINTERO_TEST_DB") == "postgres" else "sqlite"
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"figures-{TIER}-{database}.json"), "w", encoding="utf-8") as out:
            json.dump(FIGURES, out, indent=2, default=str)
