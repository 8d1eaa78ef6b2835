"""How the Datasette pages show stored values: HTML for one table cell, built from escaped text.

The data stays as stored (ISO-8601 times, JSON arrays for array facets); only the page
shows it for reading: times as ``<time datetime>`` (the page's script shows them in the
reader's local time), lists as plain comma-separated words, long addresses and texts cut
to fit (full value in a tooltip), search matches marked.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any
from urllib.parse import urlsplit

from archive import columns

# ISO-8601 times as the archive stores them (…Z) and as pages state them (…+01:00).
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")
LIST_COLUMNS = frozenset({*columns.JSON_COLUMNS, "changed_fields"})
URL_COLUMNS = frozenset({"url", *columns.URL_COLUMNS, "final_url"})
LONG_TEXT_COLUMNS = frozenset({*columns.LONG_TEXT_COLUMNS, "headers", "last_error", "error"})
# What the search page asks FTS5's snippet() and highlight() to put around a match:
# private-use characters that article text does not contain, turned into <mark> here.
MATCH_START, MATCH_END = "\ue000", "\ue001"


def time_html(value: str) -> str:
    iso = escape(value)
    return f'<time datetime="{iso}" title="{iso}">{iso}</time>'


def list_text(value: str) -> str | None:
    """A stored JSON array as a reader reads it; None when it is not one."""
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    words = []
    for item in items:
        if isinstance(item, dict):  # an image: its caption, else its file name
            src = str(item.get("src") or "")
            words.append(str(item.get("caption") or src.rsplit("/", 1)[-1] or "image"))
        else:
            words.append(str(item))
    return ", ".join(words)


def url_html(value: str) -> str:
    shown = escape(value)
    if urlsplit(value).scheme not in ("http", "https"):
        return f'<span class="cut" title="{shown}">{shown}</span>'
    return f'<a class="cut" href="{shown}" title="{shown}" rel="nofollow">{shown}</a>'


def long_text_html(value: str) -> str:
    return f'<div class="clamp">{escape(value)}</div>'


def marked_html(value: str) -> str:
    """Text from snippet()/highlight() with each match in <mark>, everything else escaped."""
    return escape(value).replace(MATCH_START, "<mark>").replace(MATCH_END, "</mark>")


def cell_html(column: str, value: Any) -> str | None:
    """The cell's HTML, or None to let Datasette show the value its own way."""
    if not isinstance(value, str) or not value:
        return None
    if MATCH_START in value:
        return marked_html(value)
    if column in LIST_COLUMNS and value.startswith("["):
        text = list_text(value)
        if text is None:
            return None
        return escape(text) if text else '<span class="empty-list"></span>'  # an empty list
    if column in URL_COLUMNS:
        return url_html(value)
    if column in LONG_TEXT_COLUMNS and len(value) > 120:
        return long_text_html(value)
    if ISO_TIME.fullmatch(value):
        return time_html(value)
    return None


def unfolded_snippet_html(snippet: str, text: str, folded_text: str) -> str | None:
    """A snippet() of the folded copy, shown in the article's own spelling.

    The folded copy replaces letters inside words ("Müller" -> "Mueller") and never
    whitespace, so its words line up one to one with the text's (a second copy, with
    only "ß" spelled out, may follow the first): the snippet's words are found among
    the folded words, and the same words of the text are shown, marked where the
    snippet marked them. None when they cannot be lined up.
    """
    words = snippet.split()
    lead = bool(words) and words[0] == "…"
    trail = len(words) > 1 and words[-1] == "…"
    words = words[int(lead) : len(words) - int(trail)]
    plain = [w.replace(MATCH_START, "").replace(MATCH_END, "") for w in words]
    original = text.split()
    folded = folded_text.split()
    if not plain or not original or len(folded) % len(original):
        return None
    own_words = len(original)
    original = original * (len(folded) // own_words)
    count = len(plain)
    for start in range(len(folded) - count + 1):
        window = folded[start : start + count]
        if (
            window[0].endswith(plain[0])
            and window[-1].startswith(plain[-1])
            and window[1:-1] == plain[1:-1]
        ):
            break
    else:
        return None
    if start < own_words < start + count:  # runs on into the second copy: stop at its end
        words, count, trail = words[: own_words - start], own_words - start, True
    shown = []
    for word, own in zip(words, original[start : start + count], strict=True):
        piece = escape(own)
        shown.append(f"<mark>{piece}</mark>" if MATCH_START in word else piece)
    return ("… " if lead else "") + " ".join(shown) + (" …" if trail else "")
