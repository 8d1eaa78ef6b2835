"""The content hash: what a reader sees of an article, normalised, and nothing else.

Covered: the fields ``contract.model.Article`` declares ``hashed`` (title, byline,
published date, body paragraphs, image captions and credits), each normalised by
its kind (:func:`reader_value`). Not covered, because they change without an editor touching the
story: comment counts, image URLs (CDN sizes, session tokens), tags, the
page's "modified" stamp, and body lines that are only a relative time
("5 minutes ago"), a view or share counter, a comment counter or an
"Updated ..." stamp. Those lines are dropped whole; a sentence that merely
mentions "3 days ago" is content and stays.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contract import noise
from contract.fields import ArticleField, Kind
from contract.model import ARTICLE_FIELDS, Article

HASHED_FIELDS = tuple(f for f in ARTICLE_FIELDS if f.declared.hashed is not None)

# Whitespace that HTML and CMSs sprinkle without meaning: NBSP, thin spaces, zero-width.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")

# Whole-line patterns (matched against the normalised paragraph), written once in
# contract/noise.toml: the scraper's cleaner drops the same lines.
VOLATILE_LINES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE) for pattern in noise.volatile_line_patterns()
)


@dataclass(frozen=True)
class ReaderView:
    """The normalised hashed fields of an article, in declaration order: the hash covers these."""

    parts: tuple[tuple[ArticleField, Any], ...]

    def value(self, name: str) -> Any:
        """The normalised value of the hashed field ``name``."""
        for item, value in self.parts:
            if item.name == name:
                return value
        raise KeyError(f"{name} is not a hashed field of Article")


def normalise(text: str | None) -> str:
    """NFC, invisible characters out, runs of whitespace to one space, trimmed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def is_volatile(paragraph: str) -> bool:
    """Whether a body line is only a counter or a relative time (never an edit)."""
    line = normalise(paragraph)
    return any(pattern.fullmatch(line) for pattern in VOLATILE_LINES)


def normalise_date(value: str | None) -> str:
    """The same instant written two ways hashes the same; unparseable text is kept as text."""
    text = normalise(value)
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        return moment.isoformat()
    return moment.astimezone(UTC).isoformat()


def reader_value(item: ArticleField, value: Any) -> Any:
    """A field's value as a reader sees it, normalised by its kind."""
    kind = item.kind
    if kind == Kind.TIME:
        return normalise_date(value)
    if kind == Kind.NAMES:
        return tuple(name for name in (normalise(n) for n in value) if name)
    if kind == Kind.BODY:
        lines = (normalise(p) for p in value)
        return tuple(line for line in lines if line and not is_volatile(line))
    if kind == Kind.IMAGES:
        return tuple(
            text
            for image in value
            for text in (normalise(" ".join(filter(None, (image.caption, image.credit)))),)
            if text
        )
    if kind in (Kind.COUNT, Kind.VERSION):
        return value
    return normalise(value)


def reader_view(article: Article) -> ReaderView:
    return ReaderView(tuple((f, reader_value(f, getattr(article, f.name))) for f in HASHED_FIELDS))


def content_hash(article: Article) -> str:
    """sha256 hex of the reader view; equal hashes mean a reader saw the same article."""
    return view_hash(reader_view(article))


def view_hash(view: ReaderView) -> str:
    """The "always" fields by position, the "when_set" ones as [column, value] when set."""
    canonical: list[Any] = []
    for item, value in view.parts:
        if item.declared.hashed == "always":
            canonical.append(value)
        elif value not in (None, "", ()):
            canonical.append([item.column, value])
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_hash(raw: bytes) -> str:
    """sha256 hex of raw response bytes: the key of the ``bodies`` table."""
    return hashlib.sha256(raw).hexdigest()
