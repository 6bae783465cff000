"""Request parsers of our API views: JSON with a bound on nesting and size.

Python's ``json`` recurses once per nesting level, so a body of a thousand ``[``
raises ``RecursionError``, which DRF's own JSONParser does not catch: an anonymous
500. Our bodies are at most four levels deep (order -> lines -> line -> value), so
anything deeper than :data:`MAX_DEPTH` is refused as a parse error (400) before
``json`` sees it.
"""

from __future__ import annotations

import codecs
import re
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.utils import json

# DRF's charset lookup refuses bytes-to-bytes codecs (a zip bomb as charset); not in the stubs.
get_encoding: Any = getattr(parsers, "get_encoding")  # noqa: B009

#: Deepest nesting of arrays and objects accepted; ours need 4.
MAX_DEPTH = 32
#: A JSON string, escapes included: its brackets do not nest anything.
STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of ``text``, counted until it first exceeds ``limit``."""
    depth = deepest = 0
    for match in BRACKET.finditer(STRING.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, refusing bodies nested deeper than MAX_DEPTH or larger than
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE (400, never a RecursionError)."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise ParseError(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})
        try:
            text = codecs.decode(raw, encoding)
        except UnicodeDecodeError as error:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": error}) from None
        if nesting_depth(text) > MAX_DEPTH:
            raise ParseError(_("JSON nested deeper than %(depth)d levels.") % {"depth": MAX_DEPTH})
        try:
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as error:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": error}) from None


#: The parsers of every view of ours: DRF's defaults, with the bounded JSON parser.
PARSERS = [BoundedJSONParser, FormParser, MultiPartParser]
