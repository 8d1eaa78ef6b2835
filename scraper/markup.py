"""What a document is: HTML, plain text (or Markdown), or binary data that is neither.

The one sniffer every stage asks (the extractor, the fetcher, source discovery), for
the body and for what its content type declares. It decides
on the document as a whole, not on its first bytes: a page whose markup starts late, after
an XML declaration, PHP warnings, a ``<script>`` or ``<style>`` block or many blank lines,
is still HTML, and a Markdown file with a few inline tags is still Markdown.
Every check is a single regular-expression pass or a byte count: linear in the document.
"""

from __future__ import annotations

import re

# The media types that declare HTML.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# The start that settles it at once (after a BOM, whitespace and comments). The comments
# are matched atomically: each ends at its first -->, or leading comments followed by
# something else would be retried in every split, without end on a long page.
_HTML_START = re.compile(
    r"\A\ufeff?\s*(?>(?:<!--.*?-->\s*)*)<(?:!doctype\s+html|html|head|body)(?=[\s>/])",
    re.IGNORECASE | re.DOTALL,
)
# A document's root elements, wherever they stand.
_HTML_ROOT = re.compile(r"<(?:!doctype\s+html|html|head|body)(?=[\s>/])", re.IGNORECASE)
_ELEMENTS = (
    "a|abbr|article|aside|audio|b|blockquote|body|br|button|center|code|dd|details|div|dl|dt|"
    "em|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|i|iframe|img|input|"
    "label|li|link|main|meta|nav|noscript|ol|option|p|picture|pre|script|section|select|"
    "small|source|span|strong|style|sub|summary|sup|svg|table|tbody|td|textarea|tfoot|th|"
    "thead|time|title|tr|u|ul|video"
)
# An opening or closing tag of an HTML element (the name must end: <pre>, not <prefix>).
_TAG = re.compile(rf"</?(?:{_ELEMENTS})(?=[\s/>])", re.IGNORECASE)
_CLOSING_TAG = re.compile(rf"</(?:{_ELEMENTS})\s*>", re.IGNORECASE)
# A line holding a tag, and a line holding anything at all.
_TAGGED_LINE = re.compile(rf"^[^\n]*?</?(?:{_ELEMENTS})(?=[\s/>])", re.IGNORECASE | re.MULTILINE)
_NONBLANK_LINE = re.compile(r"^[ \t\r\f\v]*\S", re.MULTILINE)
# Markdown code fences: HTML shown inside them is an example, not the document's markup.
_FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_MIN_TAGS = 2
_MIN_TAGGED_SHARE = 0.5  # HTML without a root: tags on at least half of its lines

# Files that are plainly not text, by their first bytes.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x7fELF", "an ELF executable or shared library"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"\x00asm", "a WebAssembly module"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_RIFF_KINDS = {b"WEBP": "a WebP image", b"WAVE": "a WAV sound", b"AVI ": "an AVI video"}
# C0 control bytes that text never holds (tab, newlines, form feed and escape it may).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
_TEXT_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_MAX_CONTROL_SHARE = 0.01
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")


def media_type(content_type: str | None) -> str | None:
    """``text/html`` of ``Text/HTML; charset=utf-8``; None when there is none."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def declares_html(content_type: str | None) -> bool:
    return media_type(content_type) in HTML_TYPES


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is an HTML document or fragment rather than plain text or Markdown.

    HTML when it starts as HTML; else when, outside Markdown code fences, it holds a root
    element (``<html>``, ``<body>``, ``<!doctype html>``...) and a closing tag anywhere; else
    when it holds tags on at least half of its non-blank lines.
    """
    if _HTML_START.match(text):
        return True
    if "```" in text or "~~~" in text:
        text = _FENCE.sub("", text)
    if _HTML_ROOT.search(text) and _CLOSING_TAG.search(text):
        return True
    if _count(_TAG, text, _MIN_TAGS) < _MIN_TAGS:
        return False
    lines = len(_NONBLANK_LINE.findall(text))
    return len(_TAGGED_LINE.findall(text)) >= lines * _MIN_TAGGED_SHARE


def body_looks_like_html(body: bytes) -> bool:
    """:func:`looks_like_html` for undecoded bytes (markup is ASCII in every charset we read)."""
    return looks_like_html(body.decode("latin-1"))


def _count(pattern: re.Pattern[str], text: str, enough: int) -> int:
    """How many matches of ``pattern``, counting no further than ``enough``."""
    found = 0
    for _ in pattern.finditer(text):
        found += 1
        if found >= enough:
            break
    return found


def binary_kind(body: bytes) -> str | None:
    """What non-text data ``body`` is ("a PNG image", "binary data"), or None for text.

    Known file signatures first; then the share of control bytes that no text holds
    (NUL and the like), over the whole body. Text in UTF-16 or UTF-32 announces itself
    with a byte-order mark and is text. An empty body is (empty) text.
    """
    for magic, kind in _MAGIC:
        if body.startswith(magic):
            return kind
    if body[:4] == b"RIFF" and body[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[body[8:12]]
    if body.startswith(_UNICODE_BOMS):
        return None
    controls = len(body.translate(None, _TEXT_BYTES))
    if controls and controls > len(body) * _MAX_CONTROL_SHARE:
        return "binary data"
    return None
