"""The content hash: what a reader sees of an article, normalised, and nothing else.

Covered: title, byline, published date, body paragraphs, image captions and
credits. Not covered, because they change without an editor touching the
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

from contract.model import Article

# Whitespace that HTML and CMSs sprinkle without meaning: NBSP, thin spaces, zero-width.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")

_NUMBER = r"\d[\d.,\s]*\s*[kmb]?"
_TIME_UNIT = (
    r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|"
    r"sekunden|minuten|stunden|tagen?|wochen|"
    r"giây|phút|giờ|ngày|tuần|"
    r"secondes?|heures?|jours?|"
    r"[smhd])"
)
_STAMP_WORD = (
    r"(?:last\s+)?(?:updated|posted|published|modified|edited|"
    r"aktualisiert|veröffentlicht|cập nhật|mis à jour|publié)"
)
# Whole-paragraph patterns (matched against the normalised, lower-cased paragraph).
VOLATILE_LINES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # relative times: "5 minutes ago", "vor 3 Stunden", "2 giờ trước", "il y a 4 heures"
        rf"(?:{_STAMP_WORD}\s*:?\s*)?(?:about\s+|vor\s+|khoảng\s+|il y a\s+)?"
        rf"(?:an?|one|\d+)\s*{_TIME_UNIT}\.?\s*(?:ago|trước)?\.?",
        rf"(?:{_STAMP_WORD}\s*:?\s*)?(?:just now|gerade eben|vừa xong|à l'instant|yesterday|today)",
        # view, read, share and like counters: "12,345 views", "Lượt xem: 1.2K"
        rf"(?:{_NUMBER}\s*(?:views?|reads?|shares?|likes?|lượt xem|lượt thích|aufrufe|vues))",
        rf"(?:views?|reads?|shares?|lượt xem|aufrufe|vues)\s*:?\s*{_NUMBER}",
        # comment counters: "Comments (12)", "Kommentar (0)", "12 comments", "Bình luận (3)"
        rf"(?:comments?|kommentare?|bình luận|commentaires?|reactions?)\s*[:(]?\s*{_NUMBER}\)?",
        rf"{_NUMBER}\s*(?:comments?|kommentare?|bình luận|commentaires?|reactions?)",
        # an "Updated ..." stamp with a time or date in it, kept short so sentences survive
        rf"{_STAMP_WORD}\b[^.!?]{{0,48}}\d[^.!?]{{0,24}}",
    )
)


@dataclass(frozen=True)
class ReaderView:
    """The normalised parts of an article that a reader sees; the hash covers exactly these."""

    title: str
    byline: tuple[str, ...]
    published: str
    paragraphs: tuple[str, ...]
    captions: tuple[str, ...]


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


def reader_view(article: Article) -> ReaderView:
    lines = (normalise(p) for p in article.paragraphs)
    paragraphs = tuple(line for line in lines if line and not is_volatile(line))
    captions = tuple(
        text
        for image in article.images
        for text in (normalise(" ".join(filter(None, (image.caption, image.credit)))),)
        if text
    )
    return ReaderView(
        title=normalise(article.title),
        byline=tuple(name for name in (normalise(b) for b in article.byline) if name),
        published=normalise_date(article.published),
        paragraphs=paragraphs,
        captions=captions,
    )


def content_hash(article: Article) -> str:
    """sha256 hex of the reader view; equal hashes mean a reader saw the same article."""
    return view_hash(reader_view(article))


def view_hash(view: ReaderView) -> str:
    canonical = json.dumps(
        [view.title, view.byline, view.published, view.paragraphs, view.captions],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def body_hash(raw: bytes) -> str:
    """sha256 hex of raw response bytes: the key of the ``bodies`` table."""
    return hashlib.sha256(raw).hexdigest()
