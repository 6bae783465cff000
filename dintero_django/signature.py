"""Dintero callback signatures (``Dintero-Signature``, scheme ``v0-hmac-sha256``).

Dintero signs the URL it calls, not the body::

    Dintero-Signature: t=<unix seconds>,v0-hmac-sha256=<hex HMAC-SHA256>

The HMAC input is six lines joined by ``\\n``: timestamp, account id, HTTP method,
hostname (no port), path and the query string with its parameters sorted by name and
serialised as ``application/x-www-form-urlencoded`` (what JavaScript's
``URLSearchParams.sort(); toString()`` produces: spaces as ``+``, ``~`` as ``%7E``).

This module only needs the standard library, ``django.core.exceptions`` and
``django.views.decorators.debug`` (neither reads settings), so the emulator and the
pytest plugin can import it before Django is configured.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote_plus, urlsplit

from django.core.exceptions import SuspiciousOperation
from django.views.decorators.debug import sensitive_variables

__all__ = [
    "SCHEME",
    "InvalidSignature",
    "SigningSecrets",
    "StaleSignature",
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


def signature_header(secret: str | bytes, account_id: str, method: str, url: str, timestamp: int) -> str:
    """Return the ``Dintero-Signature`` header value for a request to ``url``."""
    digest = SigningSecrets(secret)._hexdigest(0, canonical_string(account_id, method, url, timestamp))
    return f"t={int(timestamp)},{SCHEME}={digest}"


#: Bounds checked before anything in the header is parsed (a real header is ~90
#: characters: one ``t`` and one 64-hex signature). A ``t`` of thousands of digits
#: must be refused, not handed to ``int()`` (which raises past 4,300 digits).
MAX_HEADER_LENGTH = 1024
MAX_PARTS = 8
MAX_TIMESTAMP_DIGITS = 16
SIGNATURE_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def _parse_header(header: str) -> tuple[int, list[str]]:
    """The header's timestamp and signatures; InvalidSignature for anything else."""
    if len(header) > MAX_HEADER_LENGTH or header.count(",") >= MAX_PARTS:
        raise InvalidSignature("Dintero-Signature header is too long.")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise InvalidSignature("Malformed Dintero-Signature header.")
        if name == "t":
            if not _timestamp_text(value) or timestamp is not None:
                raise InvalidSignature("Malformed timestamp in Dintero-Signature header.")
            timestamp = int(value)
        elif name == SCHEME:
            if not SIGNATURE_RE.match(value.strip()):
                raise InvalidSignature("Malformed signature in Dintero-Signature header.")
            signatures.append(value.strip().lower())
    if timestamp is None:
        raise InvalidSignature("Dintero-Signature header has no timestamp.")
    if not signatures:
        raise InvalidSignature(f"Dintero-Signature header has no {SCHEME} signature.")
    return timestamp, signatures


def _timestamp_text(value: str) -> bool:
    return 0 < len(value) <= MAX_TIMESTAMP_DIGITS and value.isascii() and value.isdigit()


class SigningSecrets:
    """One or more signing secrets (the current first while rotating), kept out of sight.

    The secrets live in a private attribute only: no function that verifies a header
    holds one in a local variable, so neither Django's technical 500 page (which shows
    every frame's locals when ``DEBUG`` is on, where ``sensitive_variables`` does not
    apply) nor an error reporter that captures locals can show one. ``repr`` says how
    many there are, nothing more.
    """

    __slots__ = ("_keys",)

    @sensitive_variables()
    def __init__(self, secrets: str | bytes | Iterable[str | bytes]) -> None:
        found = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
        if not found or any(not secret for secret in found):
            # A blank secret would make every forged header "valid": a configuration bug.
            raise ValueError("verify_signature() needs at least one non-empty secret.")
        self._keys = tuple(s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in found)

    def __repr__(self) -> str:
        return f"<SigningSecrets: {len(self._keys)} hidden>"

    @sensitive_variables()
    def _hexdigest(self, index: int, message: str) -> str:
        return hmac.new(self._keys[index], message.encode("utf-8"), hashlib.sha256).hexdigest()

    @sensitive_variables()
    def match(self, message: str, provided: list[str]) -> bool:
        """Whether any provided signature is the HMAC of ``message`` under any secret.

        Every pair is compared, without stopping early, so timing does not reveal
        which secret (if any) matched.
        """
        matched = False
        for index in range(len(self._keys)):
            for value in provided:
                matched |= hmac.compare_digest(self._hexdigest(index, message), value)
        return matched


class StaleSignature(InvalidSignature):
    """The HMAC is right, but its ``t`` is outside the tolerance.

    Only raised once the HMAC matched. Dintero does not document whether a retried
    callback is signed again, so a caller may accept such a callback (the callback
    view does: it only makes us read the transaction with our own credentials).
    """


def verify_signature(
    header: str | None,
    *,
    secrets: str | bytes | Iterable[str | bytes] | SigningSecrets,
    account_id: str,
    method: str,
    url: str,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a ``Dintero-Signature`` header; raise :class:`InvalidSignature` if it fails.

    ``secrets`` is one secret or several (accept the old and the new one while rotating),
    best passed as :class:`SigningSecrets`, so no frame of a traceback holds one.
    ``url`` must be the public URL Dintero called (scheme, host and query as sent), not
    one rebuilt from a proxy's ``Host`` header.

    The header is parsed (bounded) before the secrets are touched. A correct HMAC whose
    ``t`` is outside ``tolerance`` raises :class:`StaleSignature` (a subclass of
    :class:`InvalidSignature`); a wrong or malformed one raises :class:`InvalidSignature`.
    """
    keys = secrets if isinstance(secrets, SigningSecrets) else SigningSecrets(secrets)
    del secrets  # from here on only the opaque holder is in this frame
    if not header:
        raise InvalidSignature("Missing Dintero-Signature header.")
    timestamp, provided = _parse_header(header)
    if not keys.match(canonical_string(account_id, method, url, timestamp), provided):
        raise InvalidSignature("Dintero-Signature does not match.")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise StaleSignature("Dintero-Signature timestamp is outside the tolerance.")
