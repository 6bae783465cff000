"""Known-answer and property tests for ``dintero_django.signature``."""

from __future__ import annotations

import pytest
from django.core.exceptions import SuspiciousOperation
from hypothesis import given
from hypothesis import strategies as st

from dintero_django.signature import (
    InvalidSignature,
    canonical_query,
    canonical_string,
    signature_header,
    verify_signature,
)

# Dintero's published example (docs.dintero.com/checkout-api/secrets/admin_signature_post).
DOCS_SECRET = "123"
DOCS_TIMESTAMP = 1582236537
DOCS_ACCOUNT = "P00000000"
DOCS_URL = "https://example.com/callback?B=123&A=992"
DOCS_HEADER = "t=1582236537,v0-hmac-sha256=6bed2ab1b919d460ef7465a20dc6c97260dca73fab6647106ca525f0908df64a"

# Our own vectors. Each expected canonical string and digest was computed independently
# with Node's WHATWG URL / URLSearchParams.sort() and crypto.createHmac.
OWN_VECTORS = [
    (
        "s3cr3t",
        1700000000,
        "T12345678",
        "GET",
        "https://shop.example.com/dintero/callback/?merchant_reference=order%201&b=x+y"
        "&a=2&a=1&tilde=~a&star=*&slash=a%2Fb&amp=a%26b&uni=%C3%A6%C3%B8%C3%A5"
        "&time=2024-01-01T10%3A00%3A00Z",
        "1700000000\nT12345678\nGET\nshop.example.com\n/dintero/callback/\n"
        "a=2&a=1&amp=a%26b&b=x+y&merchant_reference=order+1&slash=a%2Fb&star=*"
        "&tilde=%7Ea&time=2024-01-01T10%3A00%3A00Z&uni=%C3%A6%C3%B8%C3%A5",
        "4b47513661add5875a2b0e7c1c3bdd828f3e0bd8c9a3236b34b3319b007e286a",
    ),
    (
        "s3cr3t",
        1700000000,
        "T12345678",
        "POST",
        "http://127.0.0.1:8000/cb?method=POST&report_event=CAPTURE&report_event=REFUND&z=&flag",
        "1700000000\nT12345678\nPOST\n127.0.0.1\n/cb\n"
        "flag=&method=POST&report_event=CAPTURE&report_event=REFUND&z=",
        "30a32f30136dbe0a2f28acd597bb795f827ab322e4c76cc9865226c1592937ad",
    ),
    (
        # Names outside the BMP sort by UTF-16 code units, as in JavaScript.
        "k",
        1,
        "T00000001",
        "GET",
        "https://example.com/p?%F0%9F%98%80=1&%EF%BD%81=2&b=%7E",
        "1\nT00000001\nGET\nexample.com\n/p\nb=%7E&%F0%9F%98%80=1&%EF%BD%81=2",
        "9758b75c778acca238c4290c1fedaf82605396b3fe76627b8354a8d9cbfcfea2",
    ),
]


def test_published_known_answer() -> None:
    header = signature_header(DOCS_SECRET, DOCS_ACCOUNT, "GET", DOCS_URL, DOCS_TIMESTAMP)
    assert header == DOCS_HEADER
    assert canonical_string(DOCS_ACCOUNT, "get", DOCS_URL, DOCS_TIMESTAMP) == (
        "1582236537\nP00000000\nGET\nexample.com\n/callback\nA=992&B=123"
    )
    verify_signature(
        DOCS_HEADER,
        secrets=DOCS_SECRET,
        account_id=DOCS_ACCOUNT,
        method="GET",
        url=DOCS_URL,
        now=DOCS_TIMESTAMP + 10,
    )


@pytest.mark.parametrize(
    ("secret", "timestamp", "account", "method", "url", "canonical", "digest"), OWN_VECTORS
)
def test_own_vectors(
    secret: str, timestamp: int, account: str, method: str, url: str, canonical: str, digest: str
) -> None:
    assert canonical_string(account, method, url, timestamp) == canonical
    header = signature_header(secret, account, method, url, timestamp)
    assert header == f"t={timestamp},v0-hmac-sha256={digest}"
    verify_signature(header, secrets=secret, account_id=account, method=method, url=url, now=timestamp)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ""),
        ("b=1&a=2", "a=2&b=1"),
        ("a=hello%20world", "a=hello+world"),
        ("a=hello+world", "a=hello+world"),
        ("a=~", "a=%7E"),
        ("a=*-._", "a=*-._"),
        ("a=%2F%3F%3D%26", "a=%2F%3F%3D%26"),
        ("k=2&k=1&a=0", "a=0&k=2&k=1"),  # stable: repeated keys keep their order
        ("x&y=", "x=&y="),
        ("a=%zz", "a=%25zz"),
        ("%C3%A6=%E2%82%AC", "%C3%A6=%E2%82%AC"),
    ],
)
def test_canonical_query(query: str, expected: str) -> None:
    assert canonical_query(query) == expected


def test_ipv6_host_keeps_brackets() -> None:
    text = canonical_string("T12345678", "GET", "http://[::1]:8000/cb?a=1", 5)
    assert text.split("\n")[3] == "[::1]"


def _verify(header: str | None, **overrides: object) -> None:
    arguments: dict[str, object] = {
        "secrets": DOCS_SECRET,
        "account_id": DOCS_ACCOUNT,
        "method": "GET",
        "url": DOCS_URL,
        "now": DOCS_TIMESTAMP,
    }
    arguments.update(overrides)
    verify_signature(header, **arguments)  # type: ignore[arg-type]


def test_rotation_accepts_any_listed_secret() -> None:
    _verify(DOCS_HEADER, secrets=["new-secret", DOCS_SECRET])
    _verify(DOCS_HEADER, secrets=(s for s in [DOCS_SECRET]))
    _verify(DOCS_HEADER, secrets=DOCS_SECRET.encode())
    with pytest.raises(InvalidSignature, match="does not match"):
        _verify(DOCS_HEADER, secrets=["new-secret", "older-secret"])


@pytest.mark.parametrize("offset", [-301, 301, -100000, 100000])
def test_stale_and_future_timestamps_are_refused(offset: int) -> None:
    with pytest.raises(InvalidSignature, match="tolerance"):
        _verify(DOCS_HEADER, now=DOCS_TIMESTAMP + offset)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_inside_tolerance_pass(offset: int) -> None:
    _verify(DOCS_HEADER, now=DOCS_TIMESTAMP + offset)


def test_custom_tolerance() -> None:
    _verify(DOCS_HEADER, now=DOCS_TIMESTAMP + 1000, tolerance=1000)
    with pytest.raises(InvalidSignature):
        _verify(DOCS_HEADER, now=DOCS_TIMESTAMP + 11, tolerance=10)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=abc,v0-hmac-sha256=00",
        "t=,v0-hmac-sha256=00",
        "t=-5,v0-hmac-sha256=00",
        "t=1582236537",
        "v0-hmac-sha256=6bed2ab1b919d460ef7465a20dc6c97260dca73fab6647106ca525f0908df64a",
        "t=1582236537,t=1582236537,v0-hmac-sha256=00",
        "t=1582236537,v1-hmac-sha256=6bed2ab1b919d460ef7465a20dc6c97260dca73fab6647106ca525f0908df64a",
        "t=1582236537,v0-hmac-sha256=ø",
        "t=١٥٨٢٢٣٦٥٣٧,v0-hmac-sha256=00",
    ],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        _verify(header)


@pytest.mark.parametrize(
    "override",
    [
        {"account_id": "P00000001"},
        {"method": "POST"},
        {"url": "https://example.com/callback?B=123&A=993"},
        {"url": "https://example.org/callback?B=123&A=992"},
        {"url": "https://example.com/callbacks?B=123&A=992"},
        {"url": "https://example.com/callback?B=123&A=992&extra=1"},
    ],
)
def test_any_changed_component_breaks_the_signature(override: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature, match="does not match"):
        _verify(DOCS_HEADER, **override)


def test_port_and_parameter_order_do_not_matter() -> None:
    _verify(DOCS_HEADER, url="https://example.com:8443/callback?A=992&B=123")


def test_header_whitespace_and_hex_case_are_tolerated() -> None:
    timestamp, digest = DOCS_HEADER.split(",")
    _verify(f" {timestamp} , {digest.upper().replace('V0-HMAC-SHA256', 'v0-hmac-sha256')} ")


def test_extra_signatures_in_header() -> None:
    _verify(DOCS_HEADER + ",v0-hmac-sha256=" + "0" * 64)
    _verify("t=1582236537,v0-hmac-sha256=" + "0" * 64 + "," + DOCS_HEADER.split(",")[1])


def test_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        _verify(DOCS_HEADER, secrets="")
    with pytest.raises(ValueError, match="non-empty"):
        _verify(DOCS_HEADER, secrets=[])
    with pytest.raises(ValueError, match="non-empty"):
        _verify(DOCS_HEADER, secrets=[DOCS_SECRET, ""])


def test_invalid_signature_is_a_suspicious_operation() -> None:
    assert issubclass(InvalidSignature, SuspiciousOperation)


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),
    max_size=12,
)


@given(
    pairs=st.lists(st.tuples(_text, _text), max_size=6),
    secret=st.text(min_size=1, max_size=20),
    timestamp=st.integers(min_value=0, max_value=2**40),
)
def test_round_trip_for_any_query(pairs: list[tuple[str, str]], secret: str, timestamp: int) -> None:
    from urllib.parse import urlencode

    url = "https://example.com/cb?" + urlencode(pairs)
    header = signature_header(secret, "T12345678", "GET", url, timestamp)
    verify_signature(header, secrets=secret, account_id="T12345678", method="GET", url=url, now=timestamp)
    # Re-encoding the query with %20 instead of + keeps the signature; so does reversing
    # it, unless a repeated name changes the order of its values (the sort is stable).
    reordered = list(reversed(pairs))
    url2 = "https://example.com/cb?" + urlencode(reordered, quote_via=_quote20)
    same_order = _by_name(pairs) == _by_name(reordered)
    try:
        verify_signature(
            header, secrets=secret, account_id="T12345678", method="GET", url=url2, now=timestamp
        )
    except InvalidSignature:
        assert not same_order
    else:
        assert same_order


def _by_name(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(pairs, key=lambda pair: pair[0].encode("utf-16-be"))


def _quote20(text: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
