"""What must never appear in a log: collected while the battery runs, scanned at its end.

The emulator's ``state()`` only counts issued tokens, so the access tokens are read
from the in-process emulator's store (``runtime.store.tokens``) after every test,
before the next test resets it. Worker and gunicorn processes get their tokens from
the same emulator, so theirs are collected too.
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

#: Every log file the battery writes (the battery's own log, worker and gunicorn logs).
LOG_DIR = Path(
    os.environ.get("DINTERO_RELIABILITY_LOGS")
    or Path(tempfile.gettempdir()) / f"dintero-reliability-logs-{os.getpid()}"
)
BATTERY_LOG = LOG_DIR / "battery.log"

ISSUED_TOKENS: set[str] = set()
STATIC_SECRETS: set[str] = set()


def note_emulator(emulator: Any) -> None:
    """Collect the emulator's secrets and the tokens it has issued so far."""
    runtime = emulator.runtime
    with runtime.store.lock:
        ISSUED_TOKENS.update(runtime.store.tokens)
    STATIC_SECRETS.add(runtime.credentials.client_secret)
    if runtime.config.signature_secret:
        STATIC_SECRETS.add(runtime.config.signature_secret)
    basic = f"{runtime.credentials.client_id}:{runtime.credentials.client_secret}"
    STATIC_SECRETS.add(base64.b64encode(basic.encode()).decode())


def note_settings(dintero: dict[str, Any]) -> None:
    for key in ("CLIENT_SECRET", "SIGNATURE_SECRET"):
        value = dintero.get(key)
        values = [value] if isinstance(value, str) else list(value or [])
        STATIC_SECRETS.update(v for v in values if v)


def log_file(name: str) -> Path:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return LOG_DIR / name


def attach_battery_log() -> logging.Handler:
    """Every log record of the battery (root logger at INFO at least) into ``battery.log``."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(BATTERY_LOG, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def scan(paths: list[Path], needles: set[str]) -> list[tuple[str, int, str]]:
    """(file, line number, which secret) for every occurrence; the secret itself is masked."""
    found: list[tuple[str, int, str]] = []
    usable = sorted(n for n in needles if len(n) >= 8)
    for path in paths:
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                for needle in usable:
                    if needle in line:
                        found.append((str(path), number, needle[:3] + "…"))
    return found
