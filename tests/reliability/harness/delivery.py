"""Deliver callbacks as Dintero does: the emulator's own URLs, signed at send time.

The emulator drops its callbacks (a ``drop`` fault) and logs their URLs; the battery
then delivers each one itself, as often and in whatever order a scenario wants.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

import requests

from dintero_django.conf import get_settings
from dintero_django.signature import signature_header


def dropped_callbacks(control: Any, since: int = 0) -> list[dict[str, Any]]:
    """Callbacks the emulator would have sent (dropped by the fault), oldest first."""
    return [entry for entry in control.callbacks_log(since=since) if entry["outcome"] == "dropped"]


class Deliverer:
    """Thread-safe: one requests.Session per thread, counts answers by status."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.statuses: Counter[int] = Counter()
        self.latencies: list[float] = []
        self._lock = threading.Lock()

    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            self._local.session = session
        return session

    def deliver(
        self,
        url: str,
        *,
        delivery_id: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        sign_url: str | None = None,
    ) -> int:
        conf = get_settings()
        sent = {"event-delivery": delivery_id or str(uuid.uuid4()), **(headers or {})}
        key = conf.signature_secrets[0] if secret is None else secret
        if key:
            stamp = int(time.time()) if timestamp is None else timestamp
            sent["Dintero-Signature"] = signature_header(key, conf.ACCOUNT_ID, method, sign_url or url, stamp)
        started = time.monotonic()
        response = self._http().request(method, url, headers=sent, timeout=30, allow_redirects=False)
        with self._lock:
            self.statuses[response.status_code] += 1
            self.latencies.append(time.monotonic() - started)
        return response.status_code
