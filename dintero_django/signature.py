"""Dintero callback signatures (``Dintero-Signature``, scheme ``v0-hmac-sha256``).

Dintero signs the URL it calls, not the body::

    Dintero-Signature: t=<unix seconds>,v0-hmac-sha256=<hex HMAC-SHA256>

The HMAC input is six lines joined by ``\\n``: timestamp, account id, HTTP method,
hostname (no port), path and the query string with its parameters sorted by name and
serialised as ``application/x-www-form-urlencoded`` (what JavaScript's
``URLSearchParams.sort(); toString()`` produces: spaces as ``+``, ``~`` as ``%7E``).

This module only needs the standard library and ``django.core.exceptions`` (which does
not read settings), so the emulator and the pytest plugin can import it before Django
is configured.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote_plus, urlsplit

from django.core.exceptions import SuspiciousOperation

__all__ = [
    "SCHEME",
    "InvalidSignature",
    "canonical_query",
    "canonical_string",
    "signature_header",
    "verify_signature",
]

#: The only signature scheme Dintero documents.
SCHEME = "v0-hmac-sha256"

#: Recommended replay window (seconds) between the header's ``t`` and now.
DEFAULT_TOLERANCE = 300


class InvalidSignature(SuspiciousOperation):
    """A callback's ``Dintero-Signature`` is missing, malformed, stale or wrong.

    A ``SuspiciousOperation`` so that Django answers 400 if it escapes a view, which
    Dintero treats as a permanent failure (no retries of a forged request).
    """


def _form_encode(text: str) -> str:
    # WHATWG form encoding keeps only ASCII alphanumerics and "*-._"; quote_plus also
    # keeps "~", which URLSearchParams encodes, so that one is fixed up afterwards.
    return quote_plus(text, safe="*").replace("~", "%7E")


def _utf16_key(pair: tuple[str, str]) -> bytes:
    # URLSearchParams.sort() compares names by UTF-16 code units, which differs from
    # Python's code point order for characters outside the BMP.
    return pair[0].encode("utf-16-be", "surrogatepass")


def canonical_query(query: str) -> str:
    """Return ``query`` sorted by name (stable) and re-encoded as Dintero signs it."""
    pairs = parse_qsl(query, keep_blank_values=True)
    pairs.sort(key=_utf16_key)
    return "&".join(f"{_form_encode(name)}={_form_encode(value)}" for name, value in pairs)


def _hostname(netloc_host: str | None) -> str:
    host = netloc_host or ""
    if ":" in host:
        # JavaScript's URL.hostname keeps the brackets of an IPv6 literal.
        return f"[{host}]"
    if not host.isascii():
        return host.encode("idna").decode("ascii")
    return host


def canonical_string(account_id: str, method: str, url: str, timestamp: int) -> str:
    """The exact text that is HMAC'ed for ``url`` (useful when debugging a mismatch)."""
    parts = urlsplit(url)
    return "\n".join(
        [
            str(int(timestamp)),
            account_id,
            method.upper(),
            _hostname(parts.hostname),
            parts.path or "/",
            canonical_query(parts.query),
        ]
    )


def _digest(secret: str | bytes, message: str) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def signature_header(secret: str | bytes, account_id: str, method: str, url: str, timestamp: int) -> str:
    """Return the ``Dintero-Signature`` header value for a request to ``url``."""
    digest = _digest(secret, canonical_string(account_id, method, url, timestamp))
    return f"t={int(timestamp)},{SCHEME}={digest}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise InvalidSignature("Malformed Dintero-Signature header.")
        if name == "t":
            if not value.isascii() or not value.isdigit() or timestamp is not None:
                raise InvalidSignature("Malformed timestamp in Dintero-Signature header.")
            timestamp = int(value)
        elif name == SCHEME:
            if not value.isascii():
                raise InvalidSignature("Malformed signature in Dintero-Signature header.")
            signatures.append(value.strip().lower())
    if timestamp is None:
        raise InvalidSignature("Dintero-Signature header has no timestamp.")
    if not signatures:
        raise InvalidSignature(f"Dintero-Signature header has no {SCHEME} signature.")
    return timestamp, signatures


def _secret_list(secrets: str | bytes | Iterable[str | bytes]) -> list[str | bytes]:
    found = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    if not found or any(not secret for secret in found):
        # A blank secret would make every forged header "valid": a configuration bug.
        raise ValueError("verify_signature() needs at least one non-empty secret.")
    return found


def verify_signature(
    header: str | None,
    *,
    secrets: str | bytes | Iterable[str | bytes],
    account_id: str,
    method: str,
    url: str,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a ``Dintero-Signature`` header; raise :class:`InvalidSignature` if it fails.

    ``secrets`` is one secret or several (accept the old and the new one while rotating).
    ``url`` must be the public URL Dintero called (scheme, host and query as sent), not
    one rebuilt from a proxy's ``Host`` header.
    """
    candidates = _secret_list(secrets)
    if not header:
        raise InvalidSignature("Missing Dintero-Signature header.")
    timestamp, provided = _parse_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("Dintero-Signature timestamp is outside the tolerance.")
    message = canonical_string(account_id, method, url, timestamp)
    # Compare against every candidate without stopping early, so timing does not reveal
    # which secret (if any) matched.
    matched = False
    for secret in candidates:
        expected = _digest(secret, message)
        for value in provided:
            matched |= hmac.compare_digest(expected, value)
    if not matched:
        raise InvalidSignature("Dintero-Signature does not match.")
