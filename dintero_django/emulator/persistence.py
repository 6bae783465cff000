"""An optional state file: the emulator's records survive a restart (``--state-file``).

Dintero keeps its records for as long as a shop needs them; an emulator that forgets
them on restart leaves the shop's database naming transactions nobody knows (every
reconciler pass then fails with 404). With a state file, every record (tokens, drafts,
orders, sessions, transactions, 202-accepted operations) and the virtual clock's
offset are written after each change and read back at start. Logs, faults and knobs
are not state: they start afresh.

Writes are atomic: a temporary file in the same folder, flushed and synced, then
``os.replace``; a crash leaves the previous file or the new one, never half of one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .state import Draft, Order, PendingOperation, Session, Store, Token, Transaction

if TYPE_CHECKING:
    from .runtime import Runtime

FORMAT = 1
RECORDS: dict[str, type[Any]] = {
    "tokens": Token,
    "drafts": Draft,
    "orders": Order,
    "sessions": Session,
    "transactions": Transaction,
    "pending": PendingOperation,
}


class StateFileError(Exception):
    """The state file cannot be used (unreadable, another format, another account)."""


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._written = ""

    def save(self, rt: Runtime) -> None:
        """Write the store if it changed since the last write (a cheap no-op otherwise).

        Under the store's (re-entrant) lock: snapshots are written in the order they
        were taken, and a caller that already holds the lock cannot deadlock here.
        """
        with rt.store.lock:
            text = json.dumps(snapshot(rt), sort_keys=True)
            if text != self._written:
                write_atomically(self.path, text)
                self._written = text

    def load(self, rt: Runtime) -> bool:
        """Restore the records from the file; False when there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except OSError as error:
            raise StateFileError(f"cannot read {self.path}: {error}") from error
        try:
            data = json.loads(text)
        except ValueError as error:
            raise StateFileError(f"{self.path} is not an emulator state file: {error}") from error
        restore(rt, data, self.path)
        self._written = json.dumps(snapshot(rt), sort_keys=True)
        return True


def snapshot(rt: Runtime) -> dict[str, Any]:
    store = rt.store
    data: dict[str, Any] = {
        "format": FORMAT,
        "account_id": rt.account_id,
        "clock_offset": rt.clock.offset,
        "order_index": dict(store.order_index),
    }
    for name in RECORDS:
        data[name] = {key: dataclasses.asdict(record) for key, record in getattr(store, name).items()}
    return data


def restore(rt: Runtime, data: Any, path: Path) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateFileError(f"{path}: not a state file of this emulator version (format {FORMAT})")
    if data.get("account_id") != rt.account_id:
        raise StateFileError(
            f"{path} holds account {data.get('account_id')!r}, not {rt.account_id!r}: "
            "use another file, or delete this one"
        )
    store: Store = rt.store
    with store.lock:
        store.reset()
        try:
            for name, record_type in RECORDS.items():
                records = getattr(store, name)
                for key, fields in data[name].items():
                    records[key] = record_type(**fields)
            store.order_index.update(data["order_index"])
        except (KeyError, TypeError) as error:
            store.reset()
            raise StateFileError(f"{path}: damaged state file ({error!r})") from error
    rt.clock.advance(float(data.get("clock_offset", 0.0)))
    _reschedule_pending(rt)


def _reschedule_pending(rt: Runtime) -> None:
    """202-accepted operations that were due to complete on their own still will."""
    from .transactions import _completer

    for operation in rt.store.pending.values():
        if operation.due is not None:
            complete = _completer(rt, operation.request_id)
            rt.scheduler.submit("pending", operation.due, complete, delayed=operation.due > rt.clock.now())


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
