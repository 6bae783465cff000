"""Client-credentials tokens and the Bearer check every other /v1 endpoint needs."""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from typing import TYPE_CHECKING

from .routing import ApiError, Request, Response, Router, invalid
from .state import Token

if TYPE_CHECKING:
    from .runtime import Runtime

ACCOUNT_ID = re.compile(r"^[PT]\d{8}$")


def register(router: Router) -> None:
    router.add("POST", "/v1/accounts/{aid}/auth/token", "token", issue_token, auth=False)


def check_account_path(aid: str) -> None:
    if not ACCOUNT_ID.match(aid):
        raise invalid("aid", "must match ^[PT]\\d{8}$")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.header("Authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


def _credentials_ok(rt: Runtime, request: Request, aid: str) -> bool:
    given = _basic_credentials(request)
    if given is None:
        return False
    expected = rt.credentials
    # Compare both parts in constant time; an unknown account has no grant either.
    id_ok = hmac.compare_digest(given[0].encode(), expected.client_id.encode())
    secret_ok = hmac.compare_digest(given[1].encode(), expected.client_secret.encode())
    return id_ok and secret_ok and aid == expected.account_id


def issue_token(rt: Runtime, request: Request) -> Response:
    aid = request.params["aid"]
    check_account_path(aid)
    if not _credentials_ok(rt, request, aid):
        status = rt.config.token_bad_credentials_status
        raise ApiError(status, "invalid client credentials", "INVALID_CLIENT")
    body = request.json_object()
    if body.get("grant_type") != "client_credentials":
        raise invalid("grant_type", "must be 'client_credentials'")
    audiences = accepted_audiences(rt, request, aid)
    if body.get("audience") not in audiences:
        raise invalid("audience", f"must be {audiences[0]!r}")
    access_token = secrets.token_urlsafe(32)
    expires_in = rt.config.token_expires_in
    with rt.store.lock:
        rt.store.tokens[access_token] = Token(
            client_id=rt.credentials.client_id,
            account_id=aid,
            expires_at=rt.clock.now() + expires_in,
        )
    return Response.json(
        200, {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}
    )


def accepted_audiences(rt: Runtime, request: Request, aid: str) -> list[str]:
    """Dintero's audience first (spec ``client_credentials``), then the emulator's own.

    Dintero's Python SDK (``dintero/checkout.py``) sends ``f"{api_url}/v1/accounts/{aid}"``:
    pointed at the emulator, that is the emulator's base URL, as bound or as the client
    addressed it (the ``Host`` header: ``localhost`` and ``127.0.0.1`` both reach us).
    """
    audiences = [rt.config.token_audience_base + aid]
    bases = [rt.base_url]
    host = request.header("Host")
    if host:
        bases.append(f"http://{host}")
    audiences += [f"{base.rstrip('/')}/v1/accounts/{aid}" for base in bases if base]
    return audiences


def authenticate(rt: Runtime, request: Request) -> None:
    """Accept a valid, unexpired Bearer token for this account or raise a 401."""
    header = request.header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "missing Bearer token", "UNAUTHORIZED")
    token = rt.store.tokens.get(value.strip())
    if token is None:
        raise ApiError(401, "invalid access token", "UNAUTHORIZED")
    if token.expires_at <= rt.clock.now():
        raise ApiError(401, "access token expired", "TOKEN_EXPIRED")
    aid = request.params.get("aid")
    if aid is not None:
        check_account_path(aid)
        if aid != token.account_id:
            raise ApiError(401, "access token is not valid for this account", "UNAUTHORIZED")
    request.principal = token.client_id
