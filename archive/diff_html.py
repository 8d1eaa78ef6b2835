"""HTML for article text and word diffs, built from plain text and sanitised.

Every word is escaped here, and the finished fragment still goes through
:func:`archive.sanitize.clean_fragment`, so text such as ``<script>`` in an article
reaches the browser as text, whichever layer has a bug.
"""

from __future__ import annotations

from html import escape

from archive.diff import PARAGRAPH, TextDiff, diff_words, excerpt, render_terminal
from archive.sanitize import clean_fragment

_MARK = {"insert": "ins", "delete": "del"}


def _segment(op: str, words: list[str]) -> str:
    text = escape(" ".join(words), quote=False)
    tag = _MARK.get(op)
    return f"<{tag}>{text}</{tag}>" if tag else text


def render_diff(diff: TextDiff) -> str:
    """Paragraphs of the newer text, deleted words in ``<del>``, inserted ones in ``<ins>``."""
    paragraphs: list[list[str]] = [[]]
    for chunk in diff.chunks:
        run: list[str] = []
        for word in chunk.words:
            if word != PARAGRAPH:
                run.append(word)
                continue
            if run:
                paragraphs[-1].append(_segment(chunk.op, run))
                run = []
            paragraphs.append([])
        if run:
            paragraphs[-1].append(_segment(chunk.op, run))
    html = "".join(f"<p>{' '.join(parts)}</p>" for parts in paragraphs if parts)
    return clean_fragment(html)


def render_text(text: str | None) -> str:
    """One version's text as paragraphs, nothing marked."""
    return render_diff(diff_words(text, text))


def render_change(old: str | None, new: str | None) -> str:
    return render_diff(diff_words(old, new))


def render_excerpt(old: str | None, new: str | None, *, context: int = 8) -> str:
    """Only the changed passages, as HTML: a few words around each change, the rest ``…``."""
    return render_diff(excerpt(diff_words(old, new), context=context))


def excerpt_text(old: str | None, new: str | None, *, context: int = 8) -> str:
    """The changed passages as plain text: ``[-deleted-]{+inserted+}``."""
    return render_terminal(excerpt(diff_words(old, new), context=context))
