"""Selector and pattern lists, read from the data files in ``rules/`` and compiled once."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_RULES_PACKAGE = "scraper.extract"


@dataclass(frozen=True)
class NoiseRules:
    always_remove: str  # one CSS selector list
    chrome: str
    unlikely: re.Pattern[str]
    maybe: re.Pattern[str]
    positive: re.Pattern[str]
    negative: re.Pattern[str]
    comment_widget: re.Pattern[str]
    caption: re.Pattern[str]
    credit: re.Pattern[str]
    unlikely_selector: str  # CSS preselecting elements whose class/id may match `unlikely`
    comment_selector: str
    caption_selector: str


@dataclass(frozen=True)
class TextRules:
    # "caption ... Foto: Credit ." at a line's end; group "caption" and "credit".
    trailing_credit: re.Pattern[str]
    # "(Photo: Reuters)" or "Foto: WSJ" as a whole line.
    credit_line: re.Pattern[str]
    source_line: re.Pattern[str]
    comment_counter: re.Pattern[str]
    boilerplate_line: re.Pattern[str]
    boilerplate_prefix: re.Pattern[str]


def _load(name: str) -> dict[str, Any]:
    data = resources.files(_RULES_PACKAGE).joinpath("rules", name).read_text(encoding="utf-8")
    try:
        return tomllib.loads(data)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{_RULES_PACKAGE}/rules/{name}: {error}") from error


def _words(words: Iterable[str]) -> re.Pattern[str]:
    """A class/id pattern: each word matches anywhere in the hint string, ``^``/``$`` per token."""
    parts = []
    for word in words:
        core = re.escape(word.strip("^$"))
        if word.startswith("^") or word.endswith("$"):
            core = (r"(?:^|\s)" if word.startswith("^") else "") + core
            core += r"(?:\s|$)" if word.endswith("$") else ""
        parts.append(core)
    return re.compile("|".join(parts), re.IGNORECASE)


def _substring_selector(words: Iterable[str]) -> str:
    plain = sorted({w.strip("^$") for w in words})
    return ", ".join(f"[class*='{w}' i], [id*='{w}' i]" for w in plain)


def _flatten(per_language: Mapping[str, list[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for phrases in per_language.values():
        for phrase in phrases:
            seen[phrase] = None
    # Longest first, so "Photo credit" wins over "Photo".
    return sorted(seen, key=len, reverse=True)


def _alternation(phrases: Iterable[str]) -> str:
    return "|".join(re.escape(p) for p in phrases)


@cache
def noise_rules() -> NoiseRules:
    data = _load("noise.toml")
    hints = data["hints"]
    return NoiseRules(
        always_remove=", ".join(data["remove"]["always"]),
        chrome=", ".join(data["remove"]["chrome"]),
        unlikely=_words(hints["unlikely"]),
        maybe=_words(hints["maybe"]),
        positive=_words(hints["positive"]),
        negative=_words(hints["negative"]),
        comment_widget=_words(hints["comment_widget"]),
        caption=_words(hints["caption"]),
        credit=_words(hints["credit"]),
        unlikely_selector=_substring_selector(hints["unlikely"]),
        comment_selector=_substring_selector(hints["comment_widget"]),
        caption_selector="figcaption, " + _substring_selector(hints["caption"]),
    )


@cache
def text_rules() -> TextRules:
    data = _load("text.toml")
    credit = _alternation(_flatten(data["credit_prefixes"]))
    source = _alternation(_flatten(data["source_prefixes"]))
    comment = _alternation(_flatten(data["comment_words"]))
    lines = _alternation(_flatten(data["boilerplate_lines"]))
    prefixes = _alternation(_flatten(data["boilerplate_prefixes"]))
    colon = r"\s*[:：]\s*"
    return TextRules(
        trailing_credit=re.compile(
            rf"^(?P<caption>.*?)[\s(\[]*(?<![\w])(?:{credit}){colon}(?P<credit>[^:：|]{{1,80}}?)"
            r"[\s.)\]|]*$",
            re.IGNORECASE,
        ),
        credit_line=re.compile(
            rf"^[\s(\[]*(?:{credit}){colon}(?P<credit>.{{1,80}}?)[\s.)\]|]*$", re.IGNORECASE
        ),
        source_line=re.compile(
            rf"^\s*(?:{source}){colon}(?P<source>\S.{{0,300}}?)[\s.|]*$", re.IGNORECASE
        ),
        comment_counter=re.compile(
            rf"^\s*(?:(?:{comment})\s*[(（\[]?\s*(?P<count>\d[\d.,]*)\s*[)）\]]?"
            rf"|(?P<count2>\d[\d.,]*)\s*(?:{comment}))\s*$",
            re.IGNORECASE,
        ),
        boilerplate_line=re.compile(rf"^\s*(?:{lines})\s*[:：|»›>…]*\s*$", re.IGNORECASE),
        boilerplate_prefix=re.compile(rf"^\s*(?:{prefixes})", re.IGNORECASE),
    )
