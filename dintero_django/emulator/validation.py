"""Field checks shared by the Orders and Checkout handlers.

Every failure raises a 400 whose message starts with the field's full path (for
example ``order.items[1].line_id``), so a client's bug report points at the culprit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .config import EmulatorConfig, allows
from .routing import JSONDict, Request, invalid

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
CURRENCY = re.compile(r"^[A-Z]{3}$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def obj(data: JSONDict, key: str, path: str, *, required: bool = True) -> JSONDict | None:
    value = data.get(key)
    if value is None:
        if required:
            raise invalid(_join(path, key), "is required")
        return None
    if not isinstance(value, dict):
        raise invalid(_join(path, key), "must be an object")
    return value


def array(data: JSONDict, key: str, path: str, *, required: bool = True) -> list[Any] | None:
    value = data.get(key)
    if value is None:
        if required:
            raise invalid(_join(path, key), "is required")
        return None
    if not isinstance(value, list):
        raise invalid(_join(path, key), "must be an array")
    return value


def string(
    data: JSONDict, key: str, path: str, *, required: bool = True, max_length: int | None = None
) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise invalid(_join(path, key), "is required")
        return None
    if not isinstance(value, str):
        raise invalid(_join(path, key), "must be a string")
    if required and not value:
        raise invalid(_join(path, key), "must not be empty")
    if max_length is not None and len(value) > max_length:
        raise invalid(_join(path, key), f"must be at most {max_length} characters")
    return value


def amount(
    data: JSONDict, key: str, path: str, *, required: bool = True, minimum: int | None = None
) -> int | None:
    """An integer amount in minor units within int32 (floats and booleans refused)."""
    value = data.get(key)
    if value is None:
        if required:
            raise invalid(_join(path, key), "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(_join(path, key), "must be an integer amount in minor units")
    if not INT32_MIN <= value <= INT32_MAX:
        raise invalid(_join(path, key), "is outside the int32 range")
    if minimum is not None and value < minimum:
        raise invalid(_join(path, key), f"must be >= {minimum}")
    return value


def number(data: JSONDict, key: str, path: str, *, required: bool = False) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise invalid(_join(path, key), "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(_join(path, key), "must be a number")
    return float(value)


def boolean(data: JSONDict, key: str, path: str) -> bool | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(_join(path, key), "must be a boolean")
    return value


def currency(data: JSONDict, key: str, path: str) -> str:
    value = string(data, key, path)
    assert value is not None
    if not CURRENCY.match(value):
        raise invalid(_join(path, key), "must be an ISO-4217 three-letter code like NOK")
    return value


def string_map(data: JSONDict, key: str, path: str) -> dict[str, str] | None:
    value = obj(data, key, path, required=False)
    if value is None:
        return None
    for name, item in value.items():
        if not isinstance(item, str):
            raise invalid(f"{_join(path, key)}.{name}", "must be a string")
    return value


def unique(values: Iterable[tuple[int, Any]], path: str, key: str) -> None:
    """Refuse the second occurrence of any value (``path[i].key``)."""
    seen: set[Any] = set()
    for index, value in values:
        if value in seen:
            raise invalid(f"{path}[{index}].{key}", f"duplicate {key} {value!r}")
        seen.add(value)


def http_url(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(path, "is required (an absolute URL)")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(path, "must be an absolute http(s) URL")
    return value


def callback_url(value: Any, path: str) -> str:
    """Any absolute http(s) URL: the spec's ``CallbackUrl`` pattern is ``https?://*``.

    Dintero accepts a plain-http callback URL on the session and then never calls it
    ("Callback is only delivered to HTTPS URLs"); delivery decides, see
    :func:`callback_undeliverable`.
    """
    return http_url(value, path)


def callback_undeliverable(url: str) -> str | None:
    """Why Dintero would not deliver to ``url`` (spec ``CallbackUrl``), or None."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "callback_url is not https: Dintero delivers callbacks only to HTTPS URLs"
    if parts.hostname in LOOPBACK_HOSTS:
        return "callback_url is a loopback host, which Dintero cannot call"
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_content_type(config: EmulatorConfig, request: Request) -> None:
    """A request body must be sent as ``application/json`` (spec: ``consumes:
    application/json``); any other type is read as JSON only with ``lenient``."""
    if not request.body.strip() or allows(config, "body_without_json_content_type"):
        return
    media_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise invalid("Content-Type", f"must be application/json, not {media_type or 'missing'!r}")
