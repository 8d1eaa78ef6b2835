"""How close an extraction is to a reference: the news-benchmark text metric and field matches.

Text: both texts are split into ``\\w+`` tokens; overlapping 4-token shingles are
counted as multisets; per page precision = shared / predicted and recall =
shared / expected. Over a corpus, precision is averaged over pages that returned
text, recall over all pages, and F1 is the harmonic mean of the two averages.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from scraper.dates import parse_date
from scraper.html import parse
from scraper.language import normalise_language

_TOKEN = re.compile(r"\w+")
_SHINGLE = 4
_BLOCK_TAG = re.compile(
    r"<(/?)(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|section|article|figure|"
    r"figcaption|header|footer|dd|dt|dl|hr)\b",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[^\w]+")
_BYLINE_FILLER = frozenset(
    {"by", "and", "von", "und", "par", "et", "por", "y", "written", "posted"}
)


def html_text(fragment: str) -> str:
    """Visible text of an HTML fragment, with block boundaries as line breaks."""
    document = parse(_BLOCK_TAG.sub(r"\n<\1\2", fragment))
    root = document.body or document.root
    return root.text() if root is not None else ""


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < _SHINGLE:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + _SHINGLE]) for i in range(len(tokens) - _SHINGLE + 1))


@dataclass(frozen=True)
class PageScore:
    precision: float | None  # None when nothing was returned
    recall: float


def page_score(predicted: str, expected: str) -> PageScore:
    got, want = shingles(predicted), shingles(expected)
    shared = sum((got & want).values())
    precision = shared / sum(got.values()) if got else None
    if not want:
        return PageScore(precision=1.0 if not got else precision, recall=1.0)
    return PageScore(precision=precision, recall=shared / sum(want.values()))


@dataclass(frozen=True)
class CorpusScore:
    precision: float
    recall: float
    f1: float
    pages: int
    empty: int  # pages where nothing was returned


def corpus_score(scores: Sequence[PageScore]) -> CorpusScore:
    returned = [s.precision for s in scores if s.precision is not None]
    precision = sum(returned) / len(returned) if returned else 0.0
    recall = sum(s.recall for s in scores) / len(scores) if scores else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return CorpusScore(precision, recall, f1, len(scores), len(scores) - len(returned))


# ----------------------------------------------------------------------------- metadata


def normalise_value(value: str | None) -> str:
    """Trimmed, case-folded, Unicode-normalised, whitespace collapsed."""
    if not value:
        return ""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def text_matches(predicted: str | None, expected: str | None) -> bool:
    return normalise_value(predicted) == normalise_value(expected)


def byline_matches(predicted: Iterable[str] | str | None, expected: str | None) -> bool:
    """Our names, in order, form a run of the expected byline's words.

    Punctuation and ``by``/``and`` are ignored; reference bylines often carry the
    date or a job title around the names (``By Jane Doe, March 25, 2015``), which
    an extractor that returns names only should not be blamed for.
    """
    if predicted is None:
        joined = ""
    elif isinstance(predicted, str):
        joined = predicted
    else:
        joined = ", ".join(predicted)

    def words(value: str | None) -> list[str]:
        cleaned = _NOT_WORD.sub(" ", normalise_value(value))
        return [w for w in cleaned.split() if w not in _BYLINE_FILLER]

    ours, theirs = words(joined), words(expected)
    if not ours or not theirs:
        return ours == theirs
    size = len(ours)
    return any(theirs[i : i + size] == ours for i in range(len(theirs) - size + 1))


def language_matches(predicted: str | None, expected: str | None) -> bool:
    """Primary language subtags compared: ``en-US`` matches ``en``."""
    return normalise_language(predicted) == normalise_language(expected)


def _has_time(value: str) -> bool:
    return bool(re.search(r"\d:\d\d", value))


def date_matches(predicted: str | None, expected: str | None) -> bool:
    """Instants when both carry an offset; wall-clock if one has none; days if one lacks a time."""
    got, want = parse_date(predicted), parse_date(expected)
    if got is None or want is None:
        return got is None and want is None
    assert predicted is not None and expected is not None
    if not (_has_time(predicted) and _has_time(expected)):
        return got.date() == want.date()
    if got.tzinfo is not None and want.tzinfo is not None:
        return got == want
    return _naive(got) == _naive(want)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)
