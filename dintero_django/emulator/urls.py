"""URL helpers for redirects and callbacks."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def append_query(url: str, params: Iterable[tuple[str, str]]) -> str:
    """Add ``params`` after the URL's own query, leaving what is already there untouched.

    Dintero appends its parameters to the merchant's URL, so options such as
    ``report_error=true`` stay in the URL it calls (and in the signed query).
    """
    extra = urlencode(list(params))
    if not extra:
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def query_values(url: str, name: str, *, commas: bool = False) -> list[str]:
    """Every value of ``name`` in the URL's query (repeated; also comma separated with
    ``commas``, which Dintero does not document)."""
    values = [value for key, value in parse_qsl(urlsplit(url).query) if key == name]
    if not commas:
        return values
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def query_value(url: str, name: str) -> str | None:
    values = query_values(url, name)
    return values[0] if values else None
