"""Selector and pattern lists, read from the data files in ``rules/`` and compiled once."""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, final

import ahocorasick

from contract import noise

_RULES_PACKAGE = "scraper.extract"


@dataclass(frozen=True)
class NoiseRules:
    always_remove: str  # one CSS selector list
    always_tags: frozenset[str]  # the bare tag names of `always_remove`
    # The attribute selectors of `always_remove` ("[hidden]", "[role=menu]", ...), tested
    # in Python on the elements that have one of the attributes: one cheap CSS pass
    # instead of one pass per selector.
    always_attributes: AttributeTests
    always_other: str  # the rest of `always_remove`, one CSS list ("" when none)
    chrome_tags: frozenset[str]
    hint_words: HintWords  # the [hints] lists, answered by HintWords.flags


@dataclass(frozen=True)
class TextRules:
    # "caption ... Foto: Credit ." at a line's end; group "caption" and "credit".
    trailing_credit: re.Pattern[str]
    # "(Photo: Reuters)" or "Foto: WSJ" as a whole line.
    credit_line: re.Pattern[str]
    source_line: re.Pattern[str]
    comment_counter: re.Pattern[str]
    # What a comment counter's first visible character can be (a digit or the first
    # letter of a comment word): most lines fail this at once, and the counter's own
    # case-insensitive alternation tries every word before failing.
    comment_counter_start: re.Pattern[str]
    boilerplate_line: re.Pattern[str]
    boilerplate_prefix: re.Pattern[str]
    # An image's button text at the start or end of a caption ("Enlarge this image").
    image_button: re.Pattern[str]
    # "By Jane Doe", "Von Max Muster und Erika Muster": a short line of names.
    byline_line: re.Pattern[str]
    # "1.234 Aufrufe", "3 hours ago": text that changes on every fetch.
    volatile_line: re.Pattern[str]
    # "Updated:" and the like before a date on a line of its own (the label and its colon).
    date_label: re.Pattern[str]
    # Any of the four above (boilerplate line or prefix, byline, volatile): one call for
    # the short lines that are none of them, the common case.
    furniture_line: re.Pattern[str]
    # A credit word at the end of a string, and the longest credit word: a cheap first
    # test for trailing_credit, whose lazy caption group tries every position.
    credit_word_at_end: re.Pattern[str]
    longest_credit_word: int

    def comment_counter_match(self, text: str) -> re.Match[str] | None:
        """``comment_counter.match(text)``, ruled out first by its possible first characters."""
        if self.comment_counter_start.match(text) is None:
            return None
        return self.comment_counter.match(text)

    def trailing_credit_match(self, text: str) -> re.Match[str] | None:
        """``trailing_credit.match(text)``, ruled out quickly where it must fail: the
        credit word it needs stands right before the text's last colon (none may follow)."""
        colon = max(text.rfind(":"), text.rfind("："))
        if colon < 0:
            return None
        before = text[:colon].rstrip()
        start = max(0, len(before) - self.longest_credit_word)
        if self.credit_word_at_end.search(before, start) is None:
            return None
        return self.trailing_credit.match(text)


@dataclass(frozen=True)
class FurnitureRules:
    """Lines that show a block is page furniture, not the article (noise.toml [furniture])."""

    comment_meta: LineTest  # a comment's byline and date, or its reply links
    footer_line: LineTest  # copyright, address, phone
    notice: LineTest  # cart, captcha, browser warning, "about me"


def _automaton_of(values: Mapping[str, int]) -> Any:
    """An Aho-Corasick automaton of the words, each found with its value (None for none)."""
    if not values:
        return None
    automaton = ahocorasick.Automaton()
    for word, value in values.items():
        automaton.add_word(word, value)
    automaton.make_automaton()
    return automaton


# Python's own parser of regular expressions: what LineTest reads its words from.
_REGEX_PARSER: Final[Any] = importlib.import_module("re._parser")
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
# The characters outside ASCII that a case-insensitive pattern matches to an ASCII letter
# (long s, Kelvin sign, dotted and dotless i): a line holding one is searched as it is.
ASCII_LOOKALIKES = "\u017f\u212a\u0130\u0131"


def _literal_runs(items: Any) -> list[frozenset[str]]:
    """Sets of lower-case strings that any match of the parsed pattern ``items`` must
    hold (one string of each set): its runs of plain ASCII characters, and for a group
    of alternatives that all have one, the union of theirs. Whatever is not understood
    holds no string, so it only makes a set less complete, never wrong."""
    found: list[frozenset[str]] = []
    run: list[str] = []
    for op, value in items:
        name = op.name
        if name == "LITERAL" and value < 128:
            run.append(chr(value).lower())
            continue
        if run:
            found.append(frozenset({"".join(run)}))
            run = []
        if name == "SUBPATTERN":
            found += _literal_runs(value[-1])
        elif name == "ATOMIC_GROUP":
            found += _literal_runs(value)
        elif name in _REPEATS and value[0] >= 1:
            found += _literal_runs(value[2])
        elif name == "BRANCH":
            choices = [_best_set(_literal_runs(branch)) for branch in value[1]]
            if all(choices):
                found.append(frozenset().union(*choices))
    if run:
        found.append(frozenset({"".join(run)}))
    return found


def _best_set(sets: list[frozenset[str]]) -> frozenset[str]:
    """The set whose shortest string is longest (the rarest to find by chance)."""
    return max(sets, key=lambda words: min(map(len, words)), default=frozenset())


@final
class LineTest:
    """Whether any of several case-insensitive patterns matches somewhere in a line: the
    answer of one search of their alternation, found faster.

    Most lines hold none of the plain words a pattern needs (``says`` ... in
    ``\\b(?:says|said)\\b.{0,60}...``), and a search of an alternation tries every
    pattern at every position. So the words each pattern must contain are read off it
    once, and one Aho-Corasick pass over the lower-cased line tells which patterns can
    match at all; only those are searched. A line holding one of the few characters that
    case-insensitive matching pairs with an ASCII letter (ASCII_LOOKALIKES), which
    lower-casing does not, is searched with every pattern.
    """

    __slots__ = ("_always", "_automaton", "_masks", "_maybe")

    def __init__(self, patterns: Sequence[str], flags: int = re.IGNORECASE) -> None:
        always: list[str] = []  # patterns without a word: searched on every line
        maybe: list[str] = []
        self._masks: list[int] = []  # per pattern of `maybe`: one bit per set it needs
        words: dict[str, int] = {}  # word -> the bits of the sets it is in
        bit = 1
        for pattern in patterns:
            needed = _literal_runs(_REGEX_PARSER.parse(pattern, flags))
            if not needed:
                always.append(pattern)
                continue
            maybe.append(pattern)
            mask = 0
            for choices in needed:
                for word in choices:
                    words[word] = words.get(word, 0) | bit
                mask |= bit
                bit <<= 1
            self._masks.append(mask)
        self._always = _alternation_of(always, flags)
        self._maybe = [re.compile(pattern, flags) for pattern in maybe]
        self._automaton: Any = _automaton_of(words)

    def found_in(self, text: str) -> bool:
        """``re.search("|".join(patterns), text, flags) is not None``."""
        if self._always is not None and self._always.search(text) is not None:
            return True
        if not self._maybe:
            return False
        if not text.isascii() and any(char in text for char in ASCII_LOOKALIKES):
            return any(pattern.search(text) is not None for pattern in self._maybe)
        hits = 0
        for _end, bits in self._automaton.iter(text.lower()):
            hits |= bits
        # Only the patterns whose words are all there are searched, each on its own: one
        # that can match is often cheap (anchored), the others' alternation costly.
        return any(
            hits & mask == mask and pattern.search(text) is not None
            for pattern, mask in zip(self._maybe, self._masks, strict=True)
        )


def _alternation_of(patterns: Sequence[str], flags: int) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags) if patterns else None


def _load(name: str) -> dict[str, Any]:
    data = resources.files(_RULES_PACKAGE).joinpath("rules", name).read_text(encoding="utf-8")
    try:
        return tomllib.loads(data)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{_RULES_PACKAGE}/rules/{name}: {error}") from error


# The class/id word lists, one bit each in what HintWords.flags returns.
(
    HINT_UNLIKELY,
    HINT_MAYBE,
    HINT_POSITIVE,
    HINT_NEGATIVE,
    HINT_COMMENT_WIDGET,
    HINT_CAPTION,
    HINT_CREDIT,
    HINT_CERTAIN,
) = (1 << n for n in range(8))
_HINT_LISTS = {
    "unlikely": HINT_UNLIKELY,
    "maybe": HINT_MAYBE,
    "positive": HINT_POSITIVE,
    "negative": HINT_NEGATIVE,
    "comment_widget": HINT_COMMENT_WIDGET,
    "caption": HINT_CAPTION,
    "credit": HINT_CREDIT,
    "certain": HINT_CERTAIN,
}


# HintWords' automaton values: the list bits above, and a mark for a word that is also a
# whole-token word, or a layout prefix (then its length from bit 10 up).
_LIST_BITS = 0xFF
_TOKEN_MARK = 1 << 8
_PREFIX_MARK = 1 << 9
_PREFIX_LENGTH_SHIFT = 10


class HintWords:
    """Which word lists an element's lower-cased ``class id`` string matches.

    Plain words match anywhere (``comment`` in ``article-comments``), ``^word$``
    only a whole class or id token. All words of all lists go into one
    Aho-Corasick automaton, each with the bits of the lists it is in: one pass over
    the string answers every list (a regular expression would try every word at
    every position, and this runs for every element with a class). The layout
    prefixes are in it too, so the string is rewritten without them only when one
    starts a token, and split into tokens only when a whole-token word is in it.
    """

    __slots__ = ("_automaton", "_layout", "_tokens")

    def __init__(
        self, lists: Mapping[int, Iterable[str]], layout_prefixes: Iterable[str] = ()
    ) -> None:
        prefixes = [p.lower() for p in layout_prefixes]
        # A page builder's prefix at the start of a class token: dropped before matching.
        self._layout: re.Pattern[str] | None = (
            re.compile(r"(?:^|(?<=\s))(?:" + "|".join(map(re.escape, prefixes)) + ")")
            if prefixes
            else None
        )
        values: dict[str, int] = {}
        self._tokens: dict[str, int] = {}
        for bit, words in lists.items():
            for word in (w.lower() for w in words):
                if word.startswith("^") or word.endswith("$"):
                    token = word.strip("^$")
                    self._tokens[token] = self._tokens.get(token, 0) | bit
                    values[token] = values.get(token, 0) | _TOKEN_MARK
                else:
                    values[word] = values.get(word, 0) | bit
        for prefix in prefixes:
            if prefix:
                mark = _PREFIX_MARK | len(prefix) << _PREFIX_LENGTH_SHIFT
                values[prefix] = values.get(prefix, 0) & ~(-1 << _PREFIX_LENGTH_SHIFT) | mark
        self._automaton: Any = _automaton_of(values)

    def flags(self, hints: str) -> int:
        """The bits of every list with a word in ``hints`` (0 for none)."""
        if self._automaton is None:
            return 0
        found, prefixed = self._scan(hints)
        if prefixed and self._layout is not None:
            hints = self._layout.sub("", hints)
            found, _ = self._scan(hints)
        if found & _TOKEN_MARK:
            for token in hints.split():
                found |= self._tokens.get(token, 0)
        return found & _LIST_BITS

    def _scan(self, hints: str) -> tuple[int, bool]:
        """The list bits and marks of the words in ``hints``, and whether a layout
        prefix starts a token (where the prefix pattern would match)."""
        found = 0
        prefixed = False
        for end, value in self._automaton.iter(hints):
            found |= value
            if value & _PREFIX_MARK and not prefixed:
                start = end + 1 - (value >> _PREFIX_LENGTH_SHIFT)
                prefixed = start == 0 or hints[start - 1].isspace()
        return found & (_LIST_BITS | _TOKEN_MARK), prefixed


@final
class HintCache:
    """:meth:`HintWords.flags` answers remembered for one page, shared by the passes
    that read classes and ids (the scan, scoring, conditional cleaning, the walker):
    the same class strings come up in each of them."""

    __slots__ = ("_known", "_words")

    def __init__(self, words: HintWords) -> None:
        self._words = words
        self._known: dict[str, int] = {}

    def flags(self, hints: str) -> int:
        known = self._known.get(hints)
        if known is None:
            known = self._known[hints] = self._words.flags(hints)
        return known


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


# "[name]", "[name=value]" or "[name*='value']": what AttributeTests can do in Python.
_ATTRIBUTE_SELECTOR = re.compile(
    r"^\[(?P<name>[a-z][a-z0-9-]*)(?:(?P<op>\*?=)(?P<quote>['\"]?)(?P<value>[^'\"\]]*)(?P=quote))?\]$"
)


@dataclass(frozen=True)
class AttributeTests:
    """Simple attribute selectors, tested the way CSS does (values case-sensitive)."""

    present: frozenset[str]  # [name]
    equals: Mapping[str, frozenset[str]]  # [name=value], values by name
    contains: Mapping[str, tuple[str, ...]]  # [name*=value], parts by name

    @property
    def selector(self) -> str:
        """CSS for the elements that may match: those with one of the attributes."""
        names = sorted({*self.present, *self.equals, *self.contains})
        return ", ".join(f"[{name}]" for name in names)

    def matches(self, attributes: Mapping[str, str | None]) -> bool:
        """Whether an element with these attributes (None: no value) matches a selector."""
        if not self.present.isdisjoint(attributes):
            return True
        for name, values in self.equals.items():
            if attributes.get(name) in values:
                return True
        for name, parts in self.contains.items():
            value = attributes.get(name)
            if value and any(part in value for part in parts):
                return True
        return False


def _attribute_tests(selectors: Iterable[str]) -> tuple[AttributeTests, list[str]]:
    """The selectors AttributeTests can do, and the rest (left to CSS)."""
    present: set[str] = set()
    equals: dict[str, set[str]] = {}
    contains: dict[str, list[str]] = {}
    rest: list[str] = []
    for selector in selectors:
        match = _ATTRIBUTE_SELECTOR.match(selector)
        if match is None:
            rest.append(selector)
        elif match["op"] is None:
            present.add(match["name"])
        elif match["op"] == "=":
            equals.setdefault(match["name"], set()).add(match["value"])
        else:
            contains.setdefault(match["name"], []).append(match["value"])
    tests = AttributeTests(
        frozenset(present),
        {name: frozenset(values) for name, values in equals.items()},
        {name: tuple(parts) for name, parts in contains.items()},
    )
    return tests, rest


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
    attributes, other = _attribute_tests(
        s for s in data["remove"]["always"] if not _BARE_TAG.match(s)
    )
    return NoiseRules(
        always_remove=", ".join(data["remove"]["always"]),
        always_tags=frozenset(s for s in data["remove"]["always"] if _BARE_TAG.match(s)),
        always_attributes=attributes,
        always_other=", ".join(other),
        chrome_tags=frozenset(tag.strip() for tag in data["remove"]["chrome"]),
        hint_words=HintWords(
            {bit: hints[name] for name, bit in _HINT_LISTS.items()},
            hints.get("layout_prefixes", ()),
        ),
    )


@cache
def text_rules() -> TextRules:
    data = _load("text.toml")
    credit_words = _flatten(data["credit_prefixes"])
    credit = _alternation(credit_words)
    source = _alternation(_flatten(data["source_prefixes"]))
    comment_words = _flatten(data["comment_words"])
    comment = _alternation(comment_words)
    comment_starts = "".join(sorted({re.escape(word[0]) for word in comment_words}))
    buttons = _alternation(_flatten(data["image_buttons"]))
    lines = _alternation(_flatten(data["boilerplate_lines"]) + _flatten(data["image_buttons"]))
    prefixes = _alternation(_flatten(data["boilerplate_prefixes"]))
    bylines = _alternation(noise.byline_prefixes())
    colon = r"\s*[:：]\s*"
    boilerplate_line = re.compile(rf"^\s*(?:{lines})\s*[:：|»›>…]*\s*$", re.IGNORECASE)
    boilerplate_prefix = re.compile(rf"^\s*(?:{prefixes})", re.IGNORECASE)
    volatile_line = re.compile(
        r"^\s*(?:" + "|".join(noise.volatile_line_patterns()) + r")\s*[.·|]?\s*$",
        re.IGNORECASE,
    )
    # Capitalised words only (names), so "By then the park was full." stays prose.
    byline_line = re.compile(
        rf"^\s*(?:{bylines})\s*[:：]?\s+(?:[A-ZÀ-ÖØ-ÞĐ][\w'’.-]*|and|und|et|y|và|&|,|\s)+$"
    )
    return TextRules(
        credit_word_at_end=re.compile(rf"{credit}$", re.IGNORECASE),
        longest_credit_word=max(map(len, credit_words)),
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
        comment_counter_start=re.compile(rf"\s*[{comment_starts}\d]", re.IGNORECASE),
        boilerplate_line=boilerplate_line,
        boilerplate_prefix=boilerplate_prefix,
        image_button=re.compile(
            rf"^\s*(?:{buttons})(?!\w)[\s:|.]*|[\s:|]*(?<!\w)(?:{buttons})\s*$", re.IGNORECASE
        ),
        volatile_line=volatile_line,
        byline_line=byline_line,
        date_label=re.compile(
            rf"^\s*(?:{_alternation(_flatten(data['date_labels']))})(?!\w)\s*[:：]?\s*",
            re.IGNORECASE,
        ),
        furniture_line=_any_of(boilerplate_line, boilerplate_prefix, byline_line, volatile_line),
    )


def _any_of(*patterns: re.Pattern[str]) -> re.Pattern[str]:
    """One pattern matching where any of ``patterns`` matches, each with its own flags."""
    return re.compile(
        "|".join(f"(?{'i' if p.flags & re.IGNORECASE else ''}:{p.pattern})" for p in patterns)
    )


@cache
def furniture_rules() -> FurnitureRules:
    data = _load("noise.toml")["furniture"]

    def pattern(key: str) -> LineTest:
        try:
            return LineTest(data[key])
        except re.error as error:
            where = f"{_RULES_PACKAGE}/rules/noise.toml: [furniture] {key}"
            raise ValueError(f"{where}: {error}") from error

    return FurnitureRules(pattern("comment_meta"), pattern("footer_line"), pattern("notice"))
