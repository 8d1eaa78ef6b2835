"""Read an article's history: its versions, parser re-readings, and diffs between versions.

Plain functions over a read-only connection (``archive.db.open_reader``), so
they work while the daemon writes; ``archive.cli`` only formats their results.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from archive import diff
from archive.db import ArchiveError
from archive.removal import Removal, removal


class NotInArchive(ArchiveError):
    """The URL or version asked for is not in the archive."""


@dataclass(frozen=True)
class VersionEntry:
    version: int
    captured_at: str
    state: str
    title: str | None
    changed_fields: tuple[str, ...]
    summary: str
    extractor_version: str | None


@dataclass(frozen=True)
class ExtractionEntry:
    """A later extractor read a version's raw body differently: a parser change."""

    version: int
    extracted_at: str
    extractor_version: str
    previous_extractor_version: str | None
    changed_fields: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class LastFetch:
    at: str
    outcome: str
    status: int | None
    error: str | None


@dataclass(frozen=True)
class ArticleHistory:
    url: str
    state: str
    first_seen: str
    last_checked: str | None
    versions: tuple[VersionEntry, ...]
    extractions: tuple[ExtractionEntry, ...]
    removal: Removal | None = None  # the fetch that found a gone article gone
    last_fetch: LastFetch | None = None  # what happened to an article with no version yet


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Comparison:
    url: str
    old_version: int
    new_version: int
    changed_fields: tuple[str, ...]
    field_changes: tuple[FieldChange, ...]  # every changed field except the body text
    text: diff.TextDiff


def find_article(conn: sqlite3.Connection, url: str) -> sqlite3.Row:
    """The article stored under ``url`` (or whose canonical URL it is)."""
    cursor = conn.execute(
        "SELECT * FROM articles WHERE url = ? UNION ALL"
        " SELECT * FROM articles WHERE canonical_url = ? LIMIT 1",
        (url, url),
    )
    cursor.row_factory = sqlite3.Row
    row: sqlite3.Row | None = cursor.fetchone()
    if row is None:
        raise NotInArchive(f"{url}: not in the archive (no article with this URL)")
    return row


def history(conn: sqlite3.Connection, url: str) -> ArticleHistory:
    article = find_article(conn, url)
    cursor = conn.execute(
        "SELECT version, captured_at, state, title, changed_fields, summary, extractor_version"
        " FROM versions WHERE article_id = ? ORDER BY version",
        (article["id"],),
    )
    versions = tuple(
        VersionEntry(row[0], row[1], row[2], row[3], _names(row[4]), row[5] or "", row[6])
        for row in cursor
    )
    cursor = conn.execute(
        "SELECT version, extracted_at, extractor_version, previous_extractor_version,"
        " changed_fields, summary FROM extractions"
        " WHERE article_id = ? AND changed_fields != '[]' ORDER BY extracted_at, version",
        (article["id"],),
    )
    extractions = tuple(
        ExtractionEntry(row[0], row[1], row[2], row[3], _names(row[4]), row[5] or "")
        for row in cursor
    )
    last_fetch = None
    if not versions:
        found = conn.execute(
            "SELECT started_at, outcome, status, error FROM fetches WHERE article_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (article["id"],),
        ).fetchone()
        last_fetch = LastFetch(*found) if found is not None else None
    return ArticleHistory(
        url=article["url"],
        state=article["state"],
        first_seen=article["first_seen"],
        last_checked=article["last_checked"],
        versions=versions,
        extractions=extractions,
        removal=removal(conn, article["id"]) if article["state"] == "gone" else None,
        last_fetch=last_fetch,
    )


def version_fields(conn: sqlite3.Connection, article_id: int, version: int) -> dict[str, Any]:
    cursor = conn.execute(
        "SELECT * FROM versions WHERE article_id = ? AND version = ?", (article_id, version)
    )
    cursor.row_factory = sqlite3.Row
    row = cursor.fetchone()
    if row is None:
        raise NotInArchive(f"version {version} does not exist")
    return dict(row)


def compare(
    conn: sqlite3.Connection, url: str, old: int | None = None, new: int | None = None
) -> Comparison:
    """Word diff of two versions of one article; by default the last two."""
    article = find_article(conn, url)
    latest = article["current_version"] or 0
    if old is None and new is None:
        if latest < 2:
            raise NotInArchive(f"{url}: has {latest} version(s); a diff needs two")
        old, new = latest - 1, latest
    elif new is None:
        new = latest
    assert old is not None and new is not None
    for number in (old, new):
        if not 1 <= number <= latest:
            raise NotInArchive(f"{url}: no version {number}; it has versions 1 to {latest}")
    before = version_fields(conn, article["id"], old)
    after = version_fields(conn, article["id"], new)
    changed = tuple(diff.changed_fields(before, after))
    return Comparison(
        url=article["url"],
        old_version=old,
        new_version=new,
        changed_fields=changed,
        field_changes=tuple(
            FieldChange(name, before.get(name), after.get(name))
            for name in changed
            if name != "text"
        ),
        text=diff.diff_words(before.get("text"), after.get("text")),
    )


@dataclass(frozen=True)
class VersionChange:
    """What one version changed, in a few lines: for an alert on an edit, a removal or a return."""

    article_id: int
    url: str
    version: int
    state: str  # live, gone or back
    title: str | None  # the version's, or for a removal the last one a reader saw
    captured_at: str
    summary: str  # the version's own summary, e.g. "text: +5 -3 words"
    passage: str  # the first changed words with a little context, [-old-]{+new+}; "" if none


def version_change(
    conn: sqlite3.Connection, url: str, version: int, *, max_chars: int = 400
) -> VersionChange:
    """The change version ``version`` of the article stored under ``url`` made.

    The passage compares the version's text with the last readable version before it
    (a return is compared with what was there before the removal), through
    :func:`archive.diff.excerpt`, cut at a word within ``max_chars``.
    """
    article = find_article(conn, url)
    cursor = conn.execute(
        "SELECT version, state, title, captured_at, summary, text FROM versions"
        " WHERE article_id = ? AND version <= ? ORDER BY version DESC LIMIT 50",
        (article["id"], version),
    )
    rows = cursor.fetchall()
    if not rows or rows[0][0] != version:
        raise NotInArchive(f"{url}: no version {version}")
    number, state, title, captured_at, summary, text = rows[0]
    earlier = [r for r in rows[1:] if r[1] != "gone"]
    if title is None:  # a removal has no title of its own: the last one a reader saw
        title = next((r[2] for r in rows[1:] if r[2]), None)
    passage = ""
    if state != "gone" and earlier:
        passage = cut_line(diff.render_terminal(diff.excerpt(diff.diff_words(earlier[0][5], text))),
                       max_chars)  # fmt: skip
    return VersionChange(
        article["id"], article["url"], number, state, title, captured_at, summary or "", passage
    )


def cut_line(text: str, max_chars: int) -> str:
    """``text`` on one line, cut at a word boundary within ``max_chars`` (then ``…``)."""
    flat = " ".join(text.split())
    if len(flat) <= max_chars:
        return flat
    cut = flat[:max_chars].rsplit(" ", 1)[0]
    for start, end in (("[-", "-]"), ("{+", "+}")):  # a marked run cut short is still closed
        if cut.rfind(start) > cut.rfind(end):
            cut += end
    return f"{cut} {diff.ELLIPSIS}"


def format_history(entry: ArticleHistory) -> str:
    """The history as terminal lines: one per version, parser changes after them."""
    lines = [f"{entry.url}  ({entry.state}, first seen {entry.first_seen})"]
    if not entry.versions:
        lines.append(f"  {_no_version(entry)}")
    for v in entry.versions:
        title = f"  {v.title}" if v.title else ""
        lines.append(f"  v{v.version}  {v.captured_at}  {v.state:<4}  {v.summary}{title}")
    if entry.extractions:
        lines.append("  parser changes (same raw page, read by a newer extractor):")
        for e in entry.extractions:
            lines.append(
                f"  v{e.version}  {e.extracted_at}  {e.previous_extractor_version or '?'}"
                f" -> {e.extractor_version}  {e.summary}"
            )
    return "\n".join(lines)


def _no_version(entry: ArticleHistory) -> str:
    """Why an article has no version: gone at first sight, not fetched yet, or failing."""
    if entry.removal is not None:
        return f"never seen live: {entry.removal.sentence()}; no version stored"
    last = entry.last_fetch
    if last is None:
        return "no version stored yet: not fetched yet"
    why = last.error or (f"HTTP {last.status}" if last.status else last.outcome)
    return f"no version stored yet: the last fetch at {last.at} was {last.outcome} ({why})"


def format_comparison(result: Comparison, *, colour: bool = False) -> str:
    lines = [f"{result.url}: version {result.old_version} -> {result.new_version}"]
    if not result.changed_fields:
        lines.append("no visible change")
    for change in result.field_changes:
        lines.append(f"{change.field}: {_show(change.old)} -> {_show(change.new)}")
    if result.text.changed:
        lines.append(f"text: +{result.text.words_added} -{result.text.words_removed} words")
        lines.append("")
        lines.append(diff.render_terminal(result.text, colour=colour, context=12))
    return "\n".join(lines)


def _show(value: Any) -> str:
    return "(none)" if value in (None, "", "[]") else str(value)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()
