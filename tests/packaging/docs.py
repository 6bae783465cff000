"""Code blocks taken from the README and docs/, so what a test runs is what they say."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
TARGET = re.compile(r"^# (?P<path>[\w./-]+)(?P<append>: add at the end)?")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str

    @property
    def target(self) -> str:
        """The file a Python block belongs in, from its first line (``# shop/apps.py``)."""
        match = TARGET.match(self.code)
        assert match, f"a block without its file name:\n{self.code[:200]}"
        return match["path"]

    @property
    def appends(self) -> bool:
        match = TARGET.match(self.code)
        return bool(match and match["append"])


def section(path: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level
    (a ``#`` line inside a code block is code, not a heading)."""
    level = len(heading.split(" ", 1)[0])
    lines = (ROOT / path).read_text().splitlines(keepends=True)
    start = lines.index(heading + "\n")
    fenced = False
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            return "".join(lines[start:number])
    return "".join(lines[start:])


def blocks(text: str, lang: str | None = None) -> list[Block]:
    found = [Block(m["lang"], m["code"]) for m in FENCE.finditer(text)]
    return [block for block in found if lang is None or block.lang == lang]


def after_marker(path: str, marker: str) -> Block:
    """The block right after ``<!-- marker -->``."""
    text = (ROOT / path).read_text()
    start = text.index(f"<!-- {marker} -->")
    return blocks(text[start:])[0]


def exports(text: str) -> dict[str, str]:
    """``NAME=value`` pairs of the ``export`` lines of the sh blocks in ``text``."""
    pairs: dict[str, str] = {}
    for block in blocks(text, "sh"):
        for line in block.code.replace("\\\n", " ").splitlines():
            if line.startswith("export "):
                pairs.update(word.split("=", 1) for word in line.split()[1:] if "=" in word)
    return pairs
