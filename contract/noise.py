"""Text noise both sides recognise, read from ``contract/noise.toml`` (the one place it is written).

``volatile_line_patterns``: lines that change between fetches of one article (counters,
relative times, "Updated ..." stamps); the cleaner drops them, the content hash leaves
them out. ``byline_prefixes``: the words before a byline's names.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

_FILE = "noise.toml"


@cache
def _data() -> dict[str, Any]:
    text = resources.files("contract").joinpath(_FILE).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"contract/{_FILE}: {error}") from error


def volatile_line_patterns() -> tuple[str, ...]:
    """The regular expressions of volatile lines, their ``{part}`` names filled in."""
    table = _data()["volatile_lines"]
    parts: dict[str, str] = table.get("parts", {})
    found = []
    for pattern in table["patterns"]:
        for name, part in parts.items():
            pattern = pattern.replace("{" + name + "}", part)
        found.append(pattern)
    return tuple(found)


def byline_prefixes(*, in_names: bool = False) -> tuple[str, ...]:
    """The byline words of every language, longest first; with ``in_names`` also those that
    only ever begin a stated author (never a body line)."""
    table = _data()["byline_prefixes"]
    groups = [words for key, words in table.items() if isinstance(words, list)]
    if in_names:
        groups += list(table.get("in_names_only", {}).values())
    seen = dict.fromkeys(word for words in groups for word in words)
    return tuple(sorted(seen, key=len, reverse=True))
