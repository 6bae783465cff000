"""Bounded, thread-safe logs that tests read through the control API."""

from __future__ import annotations

import collections
import itertools
import threading
from typing import Any

JSONDict = dict[str, Any]


class EventLog:
    """An append-only ring of JSON-ready entries, each stamped with a sequence number."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[JSONDict] = collections.deque(maxlen=limit)
        self._seq = itertools.count(1)

    def append(self, entry: JSONDict) -> JSONDict:
        with self._lock:
            entry["seq"] = next(self._seq)
            self._entries.append(entry)
        return entry

    def entries(self, since: int = 0) -> list[JSONDict]:
        with self._lock:
            return [dict(entry) for entry in self._entries if entry["seq"] > since]

    def clear(self, limit: int | None = None) -> None:
        with self._lock:
            if limit is not None and limit != self._entries.maxlen:
                self._entries = collections.deque(maxlen=limit)
            self._entries.clear()
            self._seq = itertools.count(1)
