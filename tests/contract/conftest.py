"""Where the contract suite points: the emulator (CI, the default) or a Dintero test account.

Emulator mode needs nothing. Real-Dintero mode needs all three of
``DINTERO_CONTRACT_ACCOUNT_ID`` (a ``T…`` test account), ``DINTERO_CONTRACT_CLIENT_ID`` and
``DINTERO_CONTRACT_CLIENT_SECRET``; it is refused under CI (``CI`` set), so CI never calls
Dintero. See docs/contract.md.

Both modes run the same assertions through the app's own clients
(``dintero_django.client``). The one difference is the payer: the emulator pays a
session through its control API; against Dintero a person pays it with a test card
(the ``payer`` fixture explains how, and only in that mode skips until it is done).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .support import ENV_ACCOUNT, ENV_CLIENT_ID, ENV_CLIENT_SECRET, Target, real_dintero_requested

REAL_URLS = {"API_URL": "https://api.dintero.com", "CHECKOUT_URL": "https://checkout.dintero.com"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
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
