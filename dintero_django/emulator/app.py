"""``Emulator``: start, stop and reach one stateful fake Dintero."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from .client import EmulatorControl
from .config import EmulatorConfig
from .persistence import StateFile
from .runtime import Credentials, Runtime
from .server import EmulatorHTTPServer

DEFAULT_ACCOUNT_ID = "T12345678"
DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-secret"  # noqa: S105 (the documented test credential)


class Emulator:
    """A Dintero emulator serving the Orders and Checkout APIs from one base URL.

    ``config`` takes any :class:`~.config.EmulatorConfig` knob by name, for example
    ``Emulator(orders_strict=False, callback_retry_max=0.01)``. ``state_file``: keep the
    records in this file across restarts (read here, written after every change).
    """

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        signature_secret: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
        log_stream: TextIO | None = None,
        state_file: str | Path | None = None,
        **config: Any,
    ) -> None:
        settings = EmulatorConfig()
        settings.update({"signature_secret": signature_secret, **config})
        self.runtime = Runtime(Credentials(account_id, client_id, client_secret), settings)
        #: Whether records were read from ``state_file`` (False: none yet, or no file).
        self.restored = False
        if state_file is not None:
            self.runtime.state_file = StateFile(Path(state_file))
            self.restored = self.runtime.state_file.load(self.runtime)
            self.runtime.scheduler.after_task = self.runtime.persist
        self.host = host
        self.port = port
        self._quiet = quiet
        self._log_stream = log_stream
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._control: EmulatorControl | None = None

    # --- identity -------------------------------------------------------------------
    @property
    def account_id(self) -> str:
        return self.runtime.credentials.account_id

    @property
    def client_id(self) -> str:
        return self.runtime.credentials.client_id

    @property
    def client_secret(self) -> str:
        return self.runtime.credentials.client_secret

    @property
    def signature_secret(self) -> str:
        """The secret callbacks are signed with right now (empty: unsigned)."""
        return self.runtime.config.signature_secret

    @property
    def config(self) -> EmulatorConfig:
        return self.runtime.config

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self.runtime.base_url

    @property
    def control(self) -> EmulatorControl:
        if self._control is None:
            self._control = EmulatorControl(self.url)
        return self._control

    # --- lifecycle ------------------------------------------------------------------
    def bind(self) -> Emulator:
        """Open the listening socket (resolving port 0 to a free port) without serving."""
        if self._server is None:
            self.runtime.stopping.clear()
            self._server = EmulatorHTTPServer(
                (self.host, self.port),
                self.runtime,
                quiet=self._quiet,
                log_stream=self._log_stream,
            )
            self.port = int(self._server.server_address[1])
            shown = f"[{self.host}]" if ":" in self.host else self.host
            self.runtime.base_url = f"http://{shown}:{self.port}"
            self.runtime.scheduler.start()
        return self

    def start(self) -> Emulator:
        """Serve in a background thread and return ``self``."""
        server = self.bind()._server
        assert server is not None
        if self._thread is None:
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"dintero-emulator-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (used by the CLI)."""
        server = self.bind()._server
        assert server is not None
        server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.runtime.stopping.set()
        if self._thread is not None:
            server.shutdown()
            self._thread.join(5)
            self._thread = None
        server.close_connections()
        server.server_close()
        self.runtime.scheduler.stop()
        if self._control is not None:
            self._control.close()
            self._control = None

    def reset(self, *, keep_config: bool = False) -> None:
        """Same as ``POST /_emulator/reset``, without the HTTP round trip."""
        self.runtime.reset(keep_config=keep_config)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.runtime.base_url if self._server is not None else "stopped"
        return f"<Emulator {self.account_id} {where}>"
