"""Word-level differences between two versions of an article.

The structured result (a list of :class:`Chunk`) is what both the terminal
(:func:`render_terminal`) and the Datasette pages render; paragraph breaks are
kept as their own token so a rendering can keep the article's layout.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from archive import columns

PARAGRAPH = "\n\n"
_TOKENS = re.compile(r"\n\s*\n|\S+")

Op = Literal["equal", "insert", "delete"]

# Fields compared between versions, in the order they are reported: the article's state,
# then every field its declaration compares (contract.model.Article).
COMPARED_FIELDS = ("state", *columns.COMPARED_COLUMNS)

_ANSI_DELETE = "\x1b[31;9m"
_ANSI_INSERT = "\x1b[32;4m"
_ANSI_RESET = "\x1b[0m"


@dataclass(frozen=True)
class Chunk:
    op: Op
    words: tuple[str, ...]


@dataclass(frozen=True)
class TextDiff:
    chunks: tuple[Chunk, ...]

    @property
    def words_added(self) -> int:
        return sum(_word_count(c.words) for c in self.chunks if c.op == "insert")

    @property
    def words_removed(self) -> int:
        return sum(_word_count(c.words) for c in self.chunks if c.op == "delete")

    @property
    def changed(self) -> bool:
        return any(c.op != "equal" for c in self.chunks)


def tokens(text: str | None) -> list[str]:
    """Words, with each paragraph break as a single ``"\\n\\n"`` token."""
    return [PARAGRAPH if t.isspace() else t for t in _TOKENS.findall(text or "")]


def diff_words(old: str | None, new: str | None) -> TextDiff:
    """Paragraphs are aligned first, then words within each aligned stretch.

    A word-level match over a whole long article is quadratic; edits are local, so
    aligning paragraphs first keeps each word-level match small.
    """
    before, after = tokens(old), tokens(new)
    starts_before, starts_after = _paragraph_starts(before), _paragraph_starts(after)
    paragraphs = difflib.SequenceMatcher(
        None, _paragraphs(before, starts_before), _paragraphs(after, starts_after), autojunk=False
    )
    chunks: list[Chunk] = []
    for _, i1, i2, j1, j2 in paragraphs.get_opcodes():
        chunks.extend(
            _diff_tokens(
                before[starts_before[i1] : starts_before[i2]],
                after[starts_after[j1] : starts_after[j2]],
            )
        )
    return TextDiff(_merge(chunks))


def _paragraph_starts(words: list[str]) -> list[int]:
    """Index of each paragraph's first token, then the end: paragraph k owns its trailing break."""
    starts = [0]
    starts.extend(i + 1 for i, word in enumerate(words) if word == PARAGRAPH)
    if starts[-1] != len(words) or not words:
        starts.append(len(words))
    return starts


def _paragraphs(words: list[str], starts: list[int]) -> list[str]:
    return [" ".join(w for w in words[a:b] if w != PARAGRAPH) for a, b in pairwise(starts)]


def _diff_tokens(before: list[str], after: list[str]) -> list[Chunk]:
    # Common ends need no matching (most of an aligned stretch, usually).
    head = 0
    limit = min(len(before), len(after))
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    chunks: list[Chunk] = [Chunk("equal", tuple(before[:head]))]
    middle_before = before[head : len(before) - tail]
    middle_after = after[head : len(after) - tail]
    # autojunk off: common words like "the" must still anchor the alignment.
    matcher = difflib.SequenceMatcher(None, middle_before, middle_after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            chunks.append(Chunk("equal", tuple(middle_before[i1:i2])))
            continue
        if i2 > i1:
            chunks.append(Chunk("delete", tuple(middle_before[i1:i2])))
        if j2 > j1:
            chunks.append(Chunk("insert", tuple(middle_after[j1:j2])))
    chunks.append(Chunk("equal", tuple(before[len(before) - tail :])))
    return chunks


def _merge(chunks: list[Chunk]) -> tuple[Chunk, ...]:
    """Join neighbours of the same kind; keep each replacement as delete-then-insert."""
    merged: list[Chunk] = []
    for chunk in chunks:
        if not chunk.words:
            continue
        if merged and merged[-1].op == chunk.op:
            merged[-1] = Chunk(chunk.op, merged[-1].words + chunk.words)
        elif (
            chunk.op == "delete"
            and len(merged) >= 2
            and merged[-1].op == "insert"
            and merged[-2].op == "delete"
        ):
            merged[-2] = Chunk("delete", merged[-2].words + chunk.words)
        else:
            merged.append(chunk)
    return tuple(merged)


def changed_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Names of the compared fields whose values differ (all present ones for a first version)."""
    if old is None:
        return [name for name in COMPARED_FIELDS if new.get(name) not in (None, "", "[]")]
    return [name for name in COMPARED_FIELDS if (old.get(name) or None) != (new.get(name) or None)]


def summarise(fields: Sequence[str], text: TextDiff | None) -> str:
    """One short line: what changed and how many words, e.g. ``title, text: +12 -3 words``."""
    shown = [f for f in fields if f != "state"]
    parts = [", ".join(shown)] if shown else []
    if text is not None and text.changed:
        parts.append(f"+{text.words_added} -{text.words_removed} words")
    return ": ".join(parts) if parts else "no visible change"


ELLIPSIS = "…"


def excerpt(diff: TextDiff, *, context: int = 8, limit: int = 60) -> TextDiff:
    """Only the changed passages: ``context`` words around each change, the rest as ``…``.

    A changed run longer than ``limit`` words keeps its first ``limit`` words and ``…``,
    so a rewritten article still gives a short excerpt.
    """
    chunks: list[Chunk] = []
    last = len(diff.chunks) - 1
    for index, chunk in enumerate(diff.chunks):
        words = list(chunk.words)
        if chunk.op == "equal":
            words = _context(words, context, first=index == 0, last=index == last)
        elif _word_count(words) > limit:
            words = [*[w for w in words if w != PARAGRAPH][:limit], ELLIPSIS]
        elif _word_count(words) > 0:  # a new paragraph reads as its words in an excerpt
            words = _strip_breaks(words)
        if words:
            chunks.append(Chunk(chunk.op, tuple(words)))
    return TextDiff(tuple(chunks))


def _context(words: list[str], context: int, *, first: bool, last: bool) -> list[str]:
    """The unchanged words kept beside a change: its neighbours only, breaks at the ends dropped."""
    if first and last:  # nothing changed
        kept = words[: 2 * context]
        words = kept if len(kept) == len(words) else [*kept, ELLIPSIS]
    elif first:
        kept = words[-context:]
        words = kept if len(kept) == len(words) else [ELLIPSIS, *kept]
    elif last:
        kept = words[:context]
        words = kept if len(kept) == len(words) else [*kept, ELLIPSIS]
    elif len(words) > 2 * context + 1:
        words = [*words[:context], ELLIPSIS, *words[-context:]]
    return _strip_breaks(words)


def _strip_breaks(words: list[str]) -> list[str]:
    start, end = 0, len(words)
    while start < end and words[start] == PARAGRAPH:
        start += 1
    while end > start and words[end - 1] == PARAGRAPH:
        end -= 1
    return words[start:end]


def render_terminal(diff: TextDiff, *, colour: bool = False, context: int | None = None) -> str:
    """``[-deleted-]{+inserted+}`` (or ANSI colours), paragraphs kept.

    With ``context`` set, unchanged runs longer than twice that many words are
    shortened to their ends around `` … ``.
    """
    out: list[str] = []
    previous: Op | None = None
    for index, chunk in enumerate(diff.chunks):
        words = list(chunk.words)
        if chunk.op == "equal":
            if context is not None and len(words) > 2 * context:
                head = words[:context] if index > 0 else []
                tail = words[-context:] if index < len(diff.chunks) - 1 else []
                words = [*head, "…", *tail]
            piece = _join(words)
        elif chunk.op == "delete":
            piece = _mark(_join(words), "[-", "-]", _ANSI_DELETE, colour)
        else:
            piece = _mark(_join(words), "{+", "+}", _ANSI_INSERT, colour)
        # A replacement reads as one unit: no space between its deleted and inserted words.
        glue = "" if (previous == "delete" and chunk.op == "insert") or not out else " "
        out.append(glue + piece)
        previous = chunk.op
    return re.sub(r" ?\n\n ?", "\n\n", "".join(out))


def _mark(text: str, start: str, end: str, ansi: str, colour: bool) -> str:
    if not text:
        return ""
    if not text.strip():
        text = "¶"  # only a paragraph break was added or removed: show it
    if colour:
        return f"{ansi}{text}{_ANSI_RESET}"
    return f"{start}{text}{end}"


def _join(words: Iterable[str]) -> str:
    return " ".join(words).replace(f" {PARAGRAPH} ", PARAGRAPH)


def _word_count(words: Iterable[str]) -> int:
    return sum(1 for w in words if w != PARAGRAPH)
