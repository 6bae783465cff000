"""A stateful Dintero emulator (Orders + Checkout APIs, callbacks, faults) for tests.

Standalone: it needs no Django settings, only the standard library, ``requests`` and
``dintero_django.signature``. See docs/emulator.md.

    from dintero_django.emulator import Emulator

    with Emulator() as emu:
        emu.url           # http://127.0.0.1:<free port>
        emu.control.pay(session_id, "AUTHORIZED")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Emulator
    from .client import EmulatorControl, EmulatorControlError
    from .config import EmulatorConfig
    from .faults import OPERATIONS

__all__ = ["OPERATIONS", "Emulator", "EmulatorConfig", "EmulatorControl", "EmulatorControlError"]

# Imported on first use: the pytest plugin lives in this package and loads in every
# test run, which should not pay for the server modules unless a fixture is used.
_HOMES = {
    "Emulator": "app",
    "EmulatorConfig": "config",
    "EmulatorControl": "client",
    "EmulatorControlError": "client",
    "OPERATIONS": "faults",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
