"""The client-credentials access token: fetched once, shared, renewed early.

Shared across threads through an in-process cache guarded by a lock, and across
processes through Django's cache, so a fleet of workers asks Dintero for one
token per lifetime instead of one per process start. Processes that miss the
cache at the same moment do not each fetch one: the first takes a short lock in
the cache (``cache.add``), the others wait a moment for its token (issue 19: two
nodes asked for two tokens at start). The token is a bearer secret: it is never
logged and never put in an exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import caches

from ..conf import DinteroSettings


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float
    issued_at: float

    def __repr__(self) -> str:  # never show the secret
        return f"AccessToken(expires_at={self.expires_at:.0f})"

    def fresh(self, conf: DinteroSettings, now: float) -> bool:
        # Renew TOKEN_RENEW_MARGIN early, and never later than half-way for
        # short-lived tokens.
        margin = min(float(conf.TOKEN_RENEW_MARGIN), (self.expires_at - self.issued_at) / 2)
        return now < self.expires_at - margin


Fetcher = Callable[[], tuple[str, int]]

#: How long another process's fetch is waited for, and how long its lock lives (a
#: process killed while fetching). Past it, a waiter fetches one itself.
FETCH_WAIT = 5.0

_lock = threading.Lock()
_memory: dict[str, AccessToken] = {}


def _cache_key(conf: DinteroSettings) -> str:
    ident = f"{conf.API_URL}|{conf.ACCOUNT_ID}|{conf.CLIENT_ID}".encode()
    return "dintero:token:" + hashlib.sha256(ident).hexdigest()[:32]


def _shared_get(alias: str, key: str) -> AccessToken | None:
    try:
        value = caches[alias].get(key)
    except Exception:  # a cache outage must not stop payments
        return None
    if isinstance(value, dict) and {"v", "e", "i"} <= value.keys():
        return AccessToken(str(value["v"]), float(value["e"]), float(value["i"]))
    return None


def _shared_set(alias: str, key: str, token: AccessToken, now: float) -> None:
    value = {"v": token.value, "e": token.expires_at, "i": token.issued_at}
    with contextlib.suppress(Exception):  # the in-process copy still works
        caches[alias].set(key, value, int(token.expires_at - now))


def get_token(conf: DinteroSettings, fetch: Fetcher) -> AccessToken:
    """A token valid for at least the renewal margin, fetched only when needed."""
    key = _cache_key(conf)
    now = time.time()
    token = _memory.get(key)
    if token and token.fresh(conf, now):
        return token
    with _lock:
        now = time.time()
        token = _memory.get(key) or _shared_get(conf.TOKEN_CACHE, key)
        if token and token.fresh(conf, now):
            _memory[key] = token
            return token
        token = _fetch_once_for_all(conf, key, fetch)
        _memory[key] = token
        return token


def _fetch_once_for_all(conf: DinteroSettings, key: str, fetch: Fetcher) -> AccessToken:
    """Fetch a token, unless another process is fetching one: then wait for it."""
    lock = key + ":fetching"
    if not _shared_add(conf.TOKEN_CACHE, lock, FETCH_WAIT):
        deadline = time.monotonic() + FETCH_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.05)  # polling the shared cache for the other process's token
            token = _shared_get(conf.TOKEN_CACHE, key)
            if token and token.fresh(conf, time.time()):
                return token
    try:
        value, expires_in = fetch()
        issued = time.time()
        token = AccessToken(value, issued + expires_in, issued)
        _shared_set(conf.TOKEN_CACHE, key, token, time.time())
        return token
    finally:
        with contextlib.suppress(Exception):
            caches[conf.TOKEN_CACHE].delete(lock)


def _shared_add(alias: str, key: str, timeout: float) -> bool:
    """Take the fetch lock; True also when the cache is down (then every process fetches)."""
    try:
        return bool(caches[alias].add(key, 1, timeout=max(1, int(timeout))))
    except Exception:  # a cache outage must not stop payments
        return True


def invalidate(conf: DinteroSettings, token: AccessToken) -> None:
    """Forget ``token`` (after a 401), unless another thread already replaced it."""
    key = _cache_key(conf)
    with _lock:
        if _memory.get(key) == token:
            del _memory[key]
        shared = _shared_get(conf.TOKEN_CACHE, key)
        if shared == token:
            with contextlib.suppress(Exception):
                caches[conf.TOKEN_CACHE].delete(key)


def clear() -> None:
    """Drop every in-process token (tests, settings changes)."""
    with _lock:
        _memory.clear()
