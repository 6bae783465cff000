"""Fixtures for the emulator's own tests (the emulator comes from our pytest plugin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dintero_django.emulator import Emulator, EmulatorControl

from .support import Api, Receiver


@pytest.fixture
def emu(dintero_emulator: Emulator) -> Emulator:
    """The session-wide emulator, reset (state, logs, faults, clock, config)."""
    return dintero_emulator


@pytest.fixture
def control(emu: Emulator) -> EmulatorControl:
    return emu.control


@pytest.fixture
def api(emu: Emulator) -> Iterator[Api]:
    client = Api(emu)
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def fast_callbacks(control: EmulatorControl) -> None:
    """Retry schedule in milliseconds and a short HTTP timeout, to keep tests quick."""
    control.config(callback_retry_initial=0.001, callback_retry_max=0.005, callback_timeout=0.5)


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start dedicated emulators (own config / credentials); all stopped afterwards."""
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emulator = Emulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()
