"""Exceptions raised by dintero-django.

``DinteroError`` is the base of everything that went wrong talking to Dintero.
``DinteroAPIError`` is also a ``requests.HTTPError`` so generic handlers keep
working. Configuration problems subclass ``ImproperlyConfigured`` and sit outside
the base on purpose: they are the deployer's to fix, not a remote failure.
"""

from __future__ import annotations

from typing import Any

import requests
from django.core.exceptions import ImproperlyConfigured


class DinteroError(Exception):
    """Base of every failure talking to Dintero."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
        payload: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.method = method
        self.url = url
        self.request_id = request_id
        self.payload = payload

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.method and self.url:
            parts.append(f"request={self.method} {self.url}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class DinteroAPIError(DinteroError, requests.HTTPError):
    """Dintero answered with an error status (definite: the request was refused)."""


class DinteroClientError(DinteroAPIError):
    """A 4xx: the request was refused and nothing changed. Do not resend as is."""


class DinteroAuthError(DinteroClientError):
    """401/403: credentials or token refused."""


class DinteroNotFound(DinteroClientError):
    """404."""


class DinteroRateLimited(DinteroAPIError):
    """429; ``retry_after`` is in seconds when Dintero said so."""

    retry_after: float | None = None


class DinteroServerError(DinteroAPIError):
    """5xx: the outcome of a state-changing call is unknown."""


class DinteroConnectionError(DinteroError, requests.ConnectionError):
    """No answer: connection refused or reset, or timed out.

    For a state-changing call the outcome is unknown: read before resending.
    """


class DinteroTimeout(DinteroConnectionError):
    """The call timed out."""


class DinteroConfigurationError(ImproperlyConfigured):
    """The ``DINTERO`` settings are incomplete or wrong."""


class PaymentError(Exception):
    """A money operation was refused locally (amount, state, permission)."""


def is_outcome_unknown(error: BaseException) -> bool:
    """True when a state-changing call may or may not have been applied."""
    return isinstance(error, DinteroConnectionError | DinteroServerError)


def is_transient(error: BaseException) -> bool:
    """True when the same safe call may succeed later."""
    return isinstance(error, DinteroConnectionError | DinteroServerError | DinteroRateLimited)
