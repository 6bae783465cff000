"""The one HTTP base for both Dintero APIs.

A shared ``requests.Session`` (keep-alive, one pool per process), explicit
connect/read timeouts on every call, the ``Dintero-System-*`` headers, bearer
tokens from :mod:`.token`, automatic retries only for safe calls, and the single
place where HTTP failures become our exceptions.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .. import __version__
from ..conf import DinteroSettings, get_settings
from ..exceptions import (
    DinteroAPIError,
    DinteroAuthError,
    DinteroClientError,
    DinteroConnectionError,
    DinteroError,
    DinteroNotFound,
    DinteroRateLimited,
    DinteroServerError,
    DinteroTimeout,
)
from . import fencing
from . import token as tokens

logger = logging.getLogger("dintero_django.client")

_session_lock = threading.Lock()
_session: requests.Session | None = None


def shared_session() -> requests.Session:
    """The process-wide session: one keep-alive pool for every call."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                session = requests.Session()
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _session = session
    return _session


def reset() -> None:
    """Forget the shared session and tokens (settings changed, tests)."""
    global _session
    with _session_lock:
        if _session is not None:
            _session.close()
        _session = None
    tokens.clear()


@dataclass(frozen=True)
class ApiResponse:
    status: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> str | None:
        return self.headers.get("event-request-id") or self.headers.get("request-id")


class BaseClient:
    """Speaks HTTP to one Dintero host; subclasses add the API's calls."""

    base_setting = "API_URL"

    def __init__(self, conf: DinteroSettings | None = None) -> None:
        self.conf = conf or get_settings()
        self.session = shared_session()

    @property
    def base_url(self) -> str:
        return str(getattr(self.conf, self.base_setting)).rstrip("/")

    # -- public plumbing -------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> ApiResponse:
        return self.request("GET", path, params=params, safe=True)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        safe: bool = False,
    ) -> ApiResponse:
        """One logical call. ``safe`` calls are retried on transient failures.

        Any call is retried once after a 401 with a fresh token: a 401 means
        Dintero refused it before doing anything.
        """
        attempts = 1 + (self.conf.MAX_RETRIES if safe else 0)
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send(method, path, json=json, params=params)
            except DinteroAuthError as error:
                if error.status != 401 or reauthenticated:
                    raise
                reauthenticated = True
                attempt -= 1
            except (DinteroConnectionError, DinteroServerError, DinteroRateLimited) as error:
                if attempt >= attempts:
                    raise
                self._backoff(attempt, error)

    # -- internals --------------------------------------------------------

    def _send(self, method: str, path: str, *, json: Any, params: dict[str, Any] | None) -> ApiResponse:
        access = tokens.get_token(self.conf, self._fetch_token)
        headers = {**self._system_headers(), "Authorization": f"Bearer {access.value}"}
        fencing.before_write(method)  # the last moment before the write: still allowed to?
        try:
            response = self._http(method, self.base_url + path, json=json, params=params, headers=headers)
        finally:
            fencing.after_write(method)  # lost the hold during the call: record nothing
        if response.status_code == 401:
            tokens.invalidate(self.conf, access)
        return self._parse(response, method, path)

    def _fetch_token(self) -> tuple[str, int]:
        url = f"{self.conf.API_URL.rstrip('/')}/v1/accounts/{self.conf.ACCOUNT_ID}/auth/token"
        body = {"grant_type": "client_credentials", "audience": self.conf.audience}
        last: DinteroError | None = None
        for attempt in range(1, self.conf.MAX_RETRIES + 2):
            try:
                response = self._http(
                    "POST",
                    url,
                    json=body,
                    headers=self._system_headers(),
                    auth=(self.conf.CLIENT_ID, self.conf.CLIENT_SECRET),
                )
                data = self._parse(response, "POST", "/auth/token").data
                return str(data["access_token"]), int(data["expires_in"])
            except (DinteroConnectionError, DinteroServerError, DinteroRateLimited) as error:
                last = error
                if attempt > self.conf.MAX_RETRIES:
                    break
                self._backoff(attempt, error)
            except (KeyError, TypeError, ValueError) as error:
                raise DinteroAPIError("Malformed token response", method="POST", url=url) from error
        assert last is not None
        raise last

    def _http(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        started = time.monotonic()
        timeout = (self.conf.CONNECT_TIMEOUT, self.conf.READ_TIMEOUT)
        try:
            response = self.session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as error:
            self._log(method, url, "timeout", started)
            raise DinteroTimeout("Dintero did not answer in time", method=method, url=url) from error
        except requests.RequestException as error:
            self._log(method, url, type(error).__name__, started)
            raise DinteroConnectionError(
                f"Could not reach Dintero ({type(error).__name__})", method=method, url=url
            ) from error
        self._log(method, url, response.status_code, started)
        return response

    def _parse(self, response: requests.Response, method: str, path: str) -> ApiResponse:
        headers = {key.lower(): value for key, value in response.headers.items()}
        data: Any = None
        if response.content:
            try:
                data = response.json()
            except ValueError:
                data = None
        if response.status_code < 400:
            return ApiResponse(response.status_code, data, headers)
        raise error_for(response.status_code, data, headers, method, path)

    def _system_headers(self) -> dict[str, str]:
        return {
            "User-Agent": f"dintero-django/{__version__}",
            "Dintero-System-Name": self.conf.SYSTEM_NAME[:120],
            "Dintero-System-Version": (self.conf.SYSTEM_VERSION or __version__)[:120],
            "Dintero-System-Plugin-Name": "dintero-django",
            "Dintero-System-Plugin-Version": __version__,
        }

    def _backoff(self, attempt: int, error: DinteroError) -> None:
        delay = random.uniform(0, min(self.conf.RETRY_BACKOFF_MAX, self.conf.RETRY_BACKOFF * 2**attempt))
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            delay = min(max(delay, retry_after), self.conf.RETRY_BACKOFF_MAX)
        time.sleep(delay)

    @staticmethod
    def _log(method: str, url: str, outcome: object, started: float) -> None:
        # Only method, path and outcome: never headers or bodies (tokens, secrets).
        path = url.split("?", 1)[0]
        logger.info(
            "dintero %s %s -> %s in %.0f ms",
            method,
            path,
            outcome,
            (time.monotonic() - started) * 1000,
        )


def error_for(status: int, data: Any, headers: dict[str, str], method: str, path: str) -> DinteroAPIError:
    """Map an error response to our exception hierarchy (the only place that does)."""
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or f"Dintero answered HTTP {status}")[:500]
    kwargs: dict[str, Any] = {
        "status": status,
        "code": error.get("code"),
        "method": method,
        "url": path,
        "request_id": headers.get("request-id"),
        "payload": error or None,
    }
    cls: type[DinteroAPIError]
    if status in (401, 403):
        cls = DinteroAuthError
    elif status == 404:
        cls = DinteroNotFound
    elif status == 429:
        cls = DinteroRateLimited
    elif status >= 500:
        cls = DinteroServerError
    else:
        cls = DinteroClientError
    exc = cls(message, **kwargs)
    if isinstance(exc, DinteroRateLimited):
        exc.retry_after = _retry_after(headers.get("retry-after"))
    return exc


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
