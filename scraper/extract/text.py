"""Plain text and Markdown input: one block per line, Markdown marks turned into block kinds."""

from __future__ import annotations

import re
from collections.abc import Iterator

from scraper.extract.blocks import Block, Kind

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(?P<text>.*)$")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(?P<text>.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
# Inline links and emphasis: keep the words a reader sees.
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(?P<text>.+?)(?<=\S)\1")


def _inline(text: str) -> str:
    text = _LINK.sub(lambda m: m.group("text"), text)
    return _EMPHASIS.sub(lambda m: m.group("text"), text)


def text_blocks(text: str) -> Iterator[Block]:
    """Blocks of a plain-text or Markdown document, in order."""
    in_code = False
    code: list[str] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            if in_code:
                yield Block("\n".join(code), Kind.CODE)
                code = []
            in_code = not in_code
            continue
        if in_code:
            code.append(line)
            continue
        if not line.strip() or _RULE.match(line) or _SETEXT.match(line):
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if (m := _HEADING.match(line)) is not None:
            yield Block(_inline(m.group("text")), Kind.HEADING)
        elif _SETEXT.match(following) and following.strip():
            yield Block(_inline(line), Kind.HEADING)
        elif (m := _QUOTE.match(line)) is not None:
            yield Block(_inline(m.group("text")), Kind.QUOTE)
        elif (m := _ITEM.match(line)) is not None:
            yield Block(_inline(m.group("text")), Kind.ITEM)
        else:
            yield Block(line if line.lstrip().startswith("![") else _inline(line))
    if code:
        yield Block("\n".join(code), Kind.CODE)
