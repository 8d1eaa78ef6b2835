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
    always_tags: frozenset[str]  # the bare tag names of `always_remove`
    always_other: str  # the rest of `always_remove` (attribute selectors), one CSS list
    chrome_tags: frozenset[str]
    chrome: str
    unlikely: HintMatcher
    maybe: HintMatcher
    positive: HintMatcher
    negative: HintMatcher
    comment_widget: HintMatcher
    caption: HintMatcher
    credit: HintMatcher
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
    # "By Jane Doe", "Von Max Muster und Erika Muster": a short line of names.
    byline_line: re.Pattern[str]
    # "1.234 Aufrufe", "3 hours ago": text that changes on every fetch.
    volatile_line: re.Pattern[str]


def _load(name: str) -> dict[str, Any]:
    data = resources.files(_RULES_PACKAGE).joinpath("rules", name).read_text(encoding="utf-8")
    try:
        return tomllib.loads(data)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{_RULES_PACKAGE}/rules/{name}: {error}") from error


class HintMatcher:
    """Matches an element's lower-cased ``class id`` string against a word list.

    Plain words match anywhere (``comment`` in ``article-comments``), ``^word$``
    only a whole class or id token. The plain words are compiled into one
    trie-shaped regular expression: a long alternation of literals is slow in
    Python's engine, a trie is not.
    """

    __slots__ = ("_pattern",)

    def __init__(self, words: Iterable[str]) -> None:
        words = [w.lower() for w in words]
        plain = [w for w in words if not (w.startswith("^") or w.endswith("$"))]
        tokens = [w.strip("^$") for w in words if w not in plain]
        parts = [_trie_pattern(plain)] if plain else []
        if tokens:
            parts.append(rf"(?:^|\s)(?:{_trie_pattern(tokens)})(?:\s|$)")
        self._pattern = re.compile("|".join(parts)) if parts else None

    def search(self, hints: str) -> bool:
        return self._pattern is not None and self._pattern.search(hints) is not None


def _trie_pattern(words: Iterable[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_branch(trie)


def _trie_branch(node: dict[str, Any]) -> str:
    ends_here = "" in node
    branches = []
    single_chars = []
    for char in sorted(k for k in node if k):
        rest = _trie_branch(node[char])
        if rest:
            branches.append(re.escape(char) + rest)
        else:
            single_chars.append(re.escape(char))
    if single_chars:
        branches.append(single_chars[0] if len(single_chars) == 1 else f"[{''.join(single_chars)}]")
    if not branches:
        return ""
    pattern = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{pattern})?" if ends_here else pattern


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
    """One group matching any phrase, trie-shaped (fast) and longest-first (greedy)."""
    return f"(?:{_trie_pattern(phrases)})"


_BARE_TAG = re.compile(r"^[a-z][a-z0-9]*$")


@cache
def noise_rules() -> NoiseRules:
    data = _load("noise.toml")
    odd = [s for s in data["remove"]["chrome"] if not _BARE_TAG.match(s)]
    if odd:
        raise ValueError(f"{_RULES_PACKAGE}/rules/noise.toml: [remove] chrome: not tags: {odd}")
    hints = data["hints"]
    return NoiseRules(
        always_remove=", ".join(data["remove"]["always"]),
        always_tags=frozenset(s for s in data["remove"]["always"] if _BARE_TAG.match(s)),
        always_other=", ".join(s for s in data["remove"]["always"] if not _BARE_TAG.match(s)),
        chrome_tags=frozenset(tag.strip() for tag in data["remove"]["chrome"]),
        chrome=", ".join(data["remove"]["chrome"]),
        unlikely=HintMatcher(hints["unlikely"]),
        maybe=HintMatcher(hints["maybe"]),
        positive=HintMatcher(hints["positive"]),
        negative=HintMatcher(hints["negative"]),
        comment_widget=HintMatcher(hints["comment_widget"]),
        caption=HintMatcher(hints["caption"]),
        credit=HintMatcher(hints["credit"]),
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
    bylines = _alternation(_flatten(data["byline_prefixes"]))
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
        volatile_line=re.compile(
            r"^\s*(?:" + "|".join(data["volatile_lines"]["patterns"]) + r")\s*[.·|]?\s*$",
            re.IGNORECASE,
        ),
        # Capitalised words only (names), so "By then the park was full." stays prose.
        byline_line=re.compile(
            rf"^\s*(?:{bylines})\s*[:：]?\s+(?:[A-ZÀ-ÖØ-ÞĐ][\w'’.-]*|and|und|et|y|và|&|,|\s)+$"
        ),
    )
