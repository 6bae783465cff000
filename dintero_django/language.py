"""The checkout's language: the active Django language, passed as Dintero's ``language``.

The Checkout API's session body has no language field (spec ``SessionProfile``);
Dintero's Checkout Web SDK opens a session in a language by adding
``language=<code>`` to the checkout URL (Dintero.Checkout.Web.SDK ``src/url.ts``,
``getSessionUrl``/``getPopOutUrl``). We do the same for the redirect URL and hand
the code to the SDK for an embedded checkout. Which codes Dintero's page knows is
[U]: an unknown one leaves Dintero's default language, so nothing breaks.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Django language (first part) -> Dintero's code. Norwegian Bokmål and Nynorsk are "no"
#: in the SDK's README example (``language: "no"``).
DEFAULT_LANGUAGES: dict[str, str] = {
    "nb": "no",
    "nn": "no",
    "no": "no",
    "sv": "sv",
    "da": "da",
    "fi": "fi",
    "en": "en",
    "de": "de",
}


def dintero_language(django_language: str | None, table: dict[str, str] | None = None) -> str | None:
    """``nb-no`` -> ``no``; None for a language we have no code for."""
    if not django_language:
        return None
    primary = django_language.replace("_", "-").split("-")[0].lower()
    return (DEFAULT_LANGUAGES if table is None else table).get(primary)


def with_language(url: str, language: str | None) -> str:
    """``url`` with ``language`` set (replacing one already there); unchanged for None."""
    if not url or not language:
        return url
    parts = urlsplit(url)
    query = [
        (key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "language"
    ]
    query.append(("language", language))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
