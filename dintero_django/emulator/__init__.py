"""A stateful Dintero emulator (Orders + Checkout APIs, callbacks, faults) for tests.

Standalone: it needs no Django settings, only the standard library, ``requests`` and
``dintero_django.signature``. See docs/emulator.md.

    from dintero_django.emulator import Emulator

    with Emulator() as emu:
        emu.url           # http://127.0.0.1:<free port>
        emu.control.pay(session_id, "AUTHORIZED")
"""

from .app import Emulator
from .client import EmulatorControl, EmulatorControlError
from .config import EmulatorConfig
from .faults import OPERATIONS

__all__ = ["OPERATIONS", "Emulator", "EmulatorConfig", "EmulatorControl", "EmulatorControlError"]
