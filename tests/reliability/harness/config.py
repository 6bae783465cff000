"""The battery's switches: the seed, the tier (CI or nightly) and the sizes.

``DINTERO_RELIABILITY_SEED`` pins the seed (default: a fresh one per run, printed
in the header and in every figure line); ``DINTERO_NIGHTLY=1`` selects the nightly
tier, which scales the sizes up and runs the tests marked ``nightly``.
"""

from __future__ import annotations

import os
import random

NIGHTLY = os.environ.get("DINTERO_NIGHTLY") == "1"
TIER = "nightly" if NIGHTLY else "ci"


def _seed() -> int:
    raw = os.environ.get("DINTERO_RELIABILITY_SEED", "").strip()
    if raw:
        return int(raw)
    return random.SystemRandom().randrange(1, 2**31)


#: One seed per run; every scenario derives its own random.Random from it.
SEED = _seed()
# Make subprocesses (workers, gunicorn) and a rerun see the same seed.
os.environ["DINTERO_RELIABILITY_SEED"] = str(SEED)


def size(ci: int, nightly: int, env: str = "") -> int:
    """A scenario size for this tier (``env`` names an override, for exploring)."""
    if env and os.environ.get(env, "").strip():
        return int(os.environ[env])
    return nightly if NIGHTLY else ci


def rng(scenario: str) -> random.Random:
    """A scenario's own random stream: independent of the order tests run in."""
    return random.Random(f"{SEED}:{scenario}")


def scenario_seed(scenario: str) -> int:
    """A stable integer seed for a scenario (for the emulator's fault selection)."""
    return rng(scenario).randrange(1, 2**31)
