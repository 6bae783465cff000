"""Where the contract suite points, and which of its tests run.

The contract suite (``test_*`` calls) points at the emulator (CI, the default) or a
Dintero test account. Emulator mode needs nothing. Real-Dintero mode needs all three of
``DINTERO_CONTRACT_ACCOUNT_ID`` (a ``T…`` test account), ``DINTERO_CONTRACT_CLIENT_ID`` and
``DINTERO_CONTRACT_CLIENT_SECRET``; it is refused under CI (``CI`` set), so CI never calls
Dintero. See docs/contract.md.

Both modes run the same assertions through the app's own clients
(``dintero_django.client``). The one difference is the payer: the emulator pays a
session through its control API; against Dintero a person pays it with a test card
(the ``payer`` fixture explains how, and only in that mode skips until it is done).

The drift tests (``test_spec_drift.py``) need Dintero's spec file: without
``DINTERO_SPEC_PATH`` they are deselected (reported in the header), never skipped,
since a skip fails our legs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .checkout import spec_path
from .support import ENV_ACCOUNT, ENV_CLIENT_ID, ENV_CLIENT_SECRET, Target, real_dintero_requested

HERE = Path(__file__).resolve().parent
REAL_URLS = {"API_URL": "https://api.dintero.com", "CHECKOUT_URL": "https://checkout.dintero.com"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_spec: compares our contract with Dintero's spec file (DINTERO_SPEC_PATH)"
    )


def pytest_report_header(config: pytest.Config) -> str:
    path = spec_path()
    if path is None:
        return "dintero spec drift tests: deselected (set DINTERO_SPEC_PATH to run them)"
    return f"dintero spec drift tests: against {path}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _deselect_drift_without_spec(config, items)
    _refuse_dintero_from_ci(items)


def _deselect_drift_without_spec(config: pytest.Config, items: list[pytest.Item]) -> None:
    if spec_path() is not None:
        return
    deselected = [
        item for item in items if "needs_spec" in item.keywords and HERE in Path(str(item.path)).parents
    ]
    if deselected:
        items[:] = [item for item in items if item not in deselected]
        config.hook.pytest_deselected(items=deselected)


def _refuse_dintero_from_ci(items: list[pytest.Item]) -> None:
    """Refuse, before anything runs, to call Dintero from CI or with a production account."""
    contract = [item for item in items if "tests/contract/" in item.nodeid]
    if not contract or not real_dintero_requested():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI never calls Dintero: unset the DINTERO_CONTRACT_* variables.")
    account = os.environ[ENV_ACCOUNT]
    if not (account.startswith("T") and len(account) == 9 and account[1:].isdigit()):
        raise pytest.UsageError(f"{ENV_ACCOUNT} must be a test account (T + 8 digits), not {account!r}.")


@pytest.fixture
def target(settings: Any, request: pytest.FixtureRequest) -> Iterator[Target]:
    """The API under contract, with ``settings.DINTERO`` pointed at it."""
    if real_dintero_requested():
        settings.DINTERO = {
            # Overridable only so the suite can test its own real mode offline
            # (tests/contract/test_modes.py); a shop leaves them alone.
            "API_URL": os.environ.get("DINTERO_CONTRACT_API_URL", REAL_URLS["API_URL"]),
            "CHECKOUT_URL": os.environ.get("DINTERO_CONTRACT_CHECKOUT_URL", REAL_URLS["CHECKOUT_URL"]),
            "ACCOUNT_ID": os.environ[ENV_ACCOUNT],
            "CLIENT_ID": os.environ[ENV_CLIENT_ID],
            "CLIENT_SECRET": os.environ[ENV_CLIENT_SECRET],
            "PROFILE_ID": os.environ.get("DINTERO_CONTRACT_PROFILE_ID", "default"),
            "SITE_URL": os.environ.get("DINTERO_CONTRACT_SITE_URL", "https://example.com"),
        }
        yield Target(emulator=None)
        return
    emulator = request.getfixturevalue("dintero_settings")
    receiver = request.getfixturevalue("callback_receiver")
    # The emulator as CI meets it: every strict default, lenient off.
    assert emulator.config.lenient is False
    settings.DINTERO = {**settings.DINTERO, "SITE_URL": receiver.url, "PROFILE_ID": "default"}
    yield Target(emulator=emulator, receiver=receiver)


@pytest.fixture
def callback_receiver() -> Iterator[Any]:
    from tests.emulator.support import Receiver

    receiver = Receiver()
    yield receiver
    receiver.close()
