"""Everything one running emulator owns, handed to every request handler."""

from __future__ import annotations

import dataclasses
import threading

from .callbacks import CallbackService
from .config import EmulatorConfig
from .faults import FaultRegistry
from .logs import EventLog
from .persistence import StateFile
from .scheduler import Scheduler
from .state import Clock, Store


@dataclasses.dataclass(frozen=True)
class Credentials:
    account_id: str
    client_id: str
    client_secret: str


class Runtime:
    def __init__(self, credentials: Credentials, config: EmulatorConfig) -> None:
        self.credentials = credentials
        self.config = config
        #: What ``reset`` restores (the configuration the emulator was started with).
        self.initial_config = config.copy()
        self.clock = Clock()
        self.store = Store()
        self.faults = FaultRegistry()
        self.scheduler = Scheduler(self.clock)
        self.request_log = EventLog(config.request_log_limit)
        self.callback_log = EventLog(config.callback_log_limit)
        self.callbacks = CallbackService(self)
        #: ``http://host:port`` once the server is bound.
        self.base_url = ""
        #: Set when the emulator stops: hanging fault sleeps wake up and give up.
        self.stopping = threading.Event()
        #: Where the records are kept across restarts (``--state-file``), if anywhere.
        self.state_file: StateFile | None = None

    def persist(self) -> None:
        """Save the records to the state file, if there is one (after every change)."""
        if self.state_file is not None:
            self.state_file.save(self)

    @property
    def account_id(self) -> str:
        return self.credentials.account_id

    def reset(self, *, keep_config: bool = False) -> None:
        """Forget all state, logs, faults and scheduled work; rewind the clock."""
        self.scheduler.clear()
        self.store.reset()
        self.faults.clear()
        self.clock.reset()
        if not keep_config:
            self.config = self.initial_config.copy()
        self.request_log.clear(self.config.request_log_limit)
        self.callback_log.clear(self.config.callback_log_limit)
        self.persist()
