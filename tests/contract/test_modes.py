"""The contract suite's own real-Dintero mode, tested offline.

Each test runs the suite in a child pytest with the ``DINTERO_CONTRACT_*`` variables
set, its URLs pointed at a dedicated emulator (never at Dintero), to check what a shop
meets: the guards against CI and production accounts, the payer step that skips with
instructions until a person has paid, and the same suite passing once they have.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dintero_django.emulator import Emulator

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dintero_stand_in() -> Iterator[Emulator]:
    """A strict emulator of its own, standing in for Dintero: default config, so
    callbacks to the suite's http SITE_URL are skipped, as Dintero would."""
    with Emulator() as emulator:
        yield emulator


def _run(emulator: Emulator, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CI", "DINTERO_FORBID_SKIPS") and not key.startswith("DINTERO_CONTRACT_")
    }
    child_env.update(
        {
            "DINTERO_CONTRACT_ACCOUNT_ID": emulator.account_id,
            "DINTERO_CONTRACT_CLIENT_ID": emulator.client_id,
            "DINTERO_CONTRACT_CLIENT_SECRET": emulator.client_secret,
            "DINTERO_CONTRACT_API_URL": emulator.url,
            "DINTERO_CONTRACT_CHECKOUT_URL": emulator.url,
            "DINTERO_CONTRACT_SITE_URL": "http://shop.invalid",
            "PYTHONPATH": str(ROOT),
            **env,
        }
    )
    command = [sys.executable, "-m", "pytest", "-q", "-rs", *args]
    return subprocess.run(command, cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=240)


def test_ci_and_production_accounts_are_refused(dintero_stand_in: Emulator) -> None:
    in_ci = _run(dintero_stand_in, "--collect-only", "tests/contract", CI="true")
    assert in_ci.returncode == pytest.ExitCode.USAGE_ERROR, in_ci.stdout + in_ci.stderr
    assert "CI never calls Dintero" in in_ci.stderr
    production = _run(
        dintero_stand_in, "--collect-only", "tests/contract", DINTERO_CONTRACT_ACCOUNT_ID="P12345678"
    )
    assert production.returncode == pytest.ExitCode.USAGE_ERROR
    assert "must be a test account" in production.stderr


def _session_to_pay(output: str, purpose: str) -> str:
    match = re.search(rf"DINTERO_CONTRACT_PAID_{purpose}=(\S+)", output)
    assert match, output
    return match.group(1)


def test_real_mode_asks_for_a_payer_then_passes(dintero_stand_in: Emulator) -> None:
    selection = ["tests/contract/test_checkout_api.py", "tests/contract/test_orders_api.py"]
    first = _run(dintero_stand_in, *selection)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "5 passed, 2 skipped" in first.stdout, first.stdout
    assert "Needs a payer (real-Dintero mode only)" in first.stdout
    sessions = {purpose: _session_to_pay(first.stdout, purpose) for purpose in ("CAPTURE", "VOID")}

    for session_id in sessions.values():  # the person with the test card
        dintero_stand_in.control.pay(session_id, "AUTHORIZED")
    paid = {f"DINTERO_CONTRACT_PAID_{purpose}": session for purpose, session in sessions.items()}
    second = _run(dintero_stand_in, *selection, **paid)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "7 passed" in second.stdout and "skipped" not in second.stdout, second.stdout
    outcomes = {entry["outcome"] for entry in dintero_stand_in.control.callbacks_log()}
    assert outcomes == {"skipped"}  # the suite's http SITE_URL is never called
