"""Versions: when a fetched article is a new version, and what each version and reading holds.

A new version is written only when the content hash a reader would see differs from
the latest version's, as today's extractor reads it (:meth:`Versions.reference_hash`).
A later extractor's reading of a stored version's raw body is an *extraction*, kept
beside the publisher's history, never in it (``scraper reparse``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archive import columns, diff, hashing
from archive.bodies import BodyStore
from contract.clock import Clock, iso
from contract.model import Article, Fetch

# Re-extract a stored raw body with today's extractor:
# (body, content_type, url, the name of the source that found the article) -> Article.
Reextract = Callable[[bytes, str | None, str, str | None], Article]

# Versions not yet read by a given extractor (neither first extracted nor re-extracted by it).
_NOT_READ_BY = (
    " AND coalesce(v.extractor_version, '') != ? AND NOT EXISTS (SELECT 1 FROM extractions e"
    " WHERE e.version_id = v.id AND e.extractor_version = ?)"
)
# A second reading by the same extractor replaces the first.
_EXTRACTION_CONFLICT = " ON CONFLICT (version_id, extractor_version) DO UPDATE SET " + ", ".join(
    f"{name} = excluded.{name}"
    for name in ("extracted_at", *columns.CONTENT_COLUMNS, "content_hash", "changed_fields",
                 "summary", "words_added", "words_removed")
)  # fmt: skip


@dataclass(frozen=True)
class StoredVersion:
    """A publisher version with its raw body, handed to ``scraper reparse``."""

    version_id: int
    article_id: int
    url: str
    version: int
    extractor_version: str | None
    content_hash: str | None
    content_type: str | None
    body: bytes
    source: str | None = None  # the source that found the article (its selectors apply)


@dataclass(frozen=True)
class Extraction:
    """What recording one re-extraction amounted to."""

    version_id: int
    changed: bool  # today's extractor reads something else from the same bytes
    changed_fields: tuple[str, ...]
    summary: str
    content_hash: str = ""  # of this reading


class Versions:
    """The versions and extractions tables, on the writer's connection (inside its batch)."""

    def __init__(
        self, conn: sqlite3.Connection, bodies: BodyStore, clock: Clock, reextract: Reextract | None
    ) -> None:
        self._conn = conn
        self._bodies = bodies
        self._clock = clock
        self._reextract = reextract

    def latest(self, article_id: int) -> sqlite3.Row | None:
        cursor = self._conn.execute(
            "SELECT id, version, state, content_hash, extractor_version, body_hash FROM versions"
            " WHERE article_id = ? ORDER BY version DESC LIMIT 1",
            (article_id,),
        )
        cursor.row_factory = sqlite3.Row
        row: sqlite3.Row | None = cursor.fetchone()
        return row

    def reference_hash(
        self, latest: sqlite3.Row, article: Article, body_hash: str | None, fetch: Fetch
    ) -> str | None:
        """The latest version's hash as today's extractor reads it.

        Compared across extractor versions, an unchanged page would look edited. So when
        the latest version came from another extractor, use (or make) a re-extraction of
        its raw body by today's extractor; the same raw bytes are read directly.
        """
        if (latest["extractor_version"] or "") == article.extractor_version:
            return str(latest["content_hash"])
        cached = self._conn.execute(
            "SELECT content_hash FROM extractions WHERE version_id = ? AND extractor_version = ?",
            (latest["id"], article.extractor_version),
        ).fetchone()
        if cached is not None:
            return str(cached[0])
        if body_hash is not None and body_hash == latest["body_hash"]:
            return self.insert_extraction(latest["id"], article).content_hash
        if self._same_response(latest["id"], fetch):
            # The other path (plain or rendered) read the same response: a parser change.
            return self.insert_extraction(latest["id"], article).content_hash
        if self._reextract is not None and latest["body_hash"] is not None:
            stored = self._conn.execute(
                "SELECT v.url, b.content_type, a.source FROM versions v JOIN bodies b"
                " ON b.hash = v.body_hash JOIN articles a ON a.id = v.article_id WHERE v.id = ?",
                (latest["id"],),
            ).fetchone()
            raw = self._bodies.read(latest["body_hash"])
            reread = self._reextract(raw, stored[1], stored[0], stored[2])
            return self.insert_extraction(latest["id"], reread).content_hash
        return str(latest["content_hash"])

    def _same_response(self, version_id: int, fetch: Fetch) -> bool:
        """Whether ``fetch`` got the response as served that made the version, whichever path
        (plain or rendered) read each: the response is the publisher's, the DOM is ours."""
        row = self._conn.execute(
            "SELECT f.body_hash, f.original_hash, f.via FROM versions v"
            " JOIN fetches f ON f.id = v.fetch_id WHERE v.id = ?",
            (version_id,),
        ).fetchone()
        if row is None:
            return False
        served = row[1] if row[2] == "render" else row[0]
        raw = fetch.original_body if fetch.via == "render" else fetch.body
        return served is not None and raw is not None and hashing.body_hash(raw) == served

    def comparable_previous(self, article_id: int, extractor_version: str) -> dict[str, Any] | None:
        """The last readable version's fields, as today's extractor read them when it has."""
        cursor = self._conn.execute(
            "SELECT * FROM versions WHERE article_id = ? AND state != 'gone'"
            " ORDER BY version DESC LIMIT 1",
            (article_id,),
        )
        cursor.row_factory = sqlite3.Row
        row = cursor.fetchone()
        if row is None:
            return None
        fields = columns.content_of(row)
        if (row["extractor_version"] or "") != extractor_version:
            cursor = self._conn.execute(
                "SELECT * FROM extractions WHERE version_id = ? AND extractor_version = ?",
                (row["id"], extractor_version),
            )
            cursor.row_factory = sqlite3.Row
            reread = cursor.fetchone()
            if reread is not None:
                fields = columns.content_of(reread)
        return fields

    def insert(
        self,
        article_id: int,
        version: int,
        now: datetime,
        fetch: Fetch,
        fetch_id: int,
        body_hash: str | None,
        content_hash: str | None,
        fields: dict[str, Any],
        previous: dict[str, Any] | None,
        extractor_version: str | None,
    ) -> None:
        changed = diff.changed_fields(
            None if previous is None else {**previous, "state": "live"}, fields
        )
        body = columns.BODY_COLUMN
        text_diff = diff.diff_words(previous[body], fields[body]) if previous else None
        content = {name: fields[name] for name in columns.CONTENT_COLUMNS}
        columns.insert(
            self._conn,
            "versions",
            {
                "article_id": article_id, "version": version, "captured_at": iso(now),
                "state": fields["state"], "url": fetch.url, **content,
                "content_hash": content_hash, "changed_fields": json.dumps(changed),
                "summary": _summary(fields["state"], changed, text_diff),
                "words_added": text_diff.words_added if text_diff else _word_count(content[body]),
                "words_removed": text_diff.words_removed if text_diff else 0,
                "body_hash": body_hash, "fetch_id": fetch_id,
                "extractor_version": extractor_version,
            },
        )  # fmt: skip

    def insert_gone(
        self,
        row: sqlite3.Row,
        latest: sqlite3.Row,
        version: int,
        now: datetime,
        fetch: Fetch,
        fetch_id: int,
    ) -> None:
        why = f"HTTP {fetch.status}" if fetch.status else "gone"
        if fetch.final_url and fetch.final_url != fetch.url:
            why = f"redirected to {fetch.final_url}"
        self._conn.execute(
            "INSERT INTO versions (article_id, version, captured_at, state, url, changed_fields,"
            " summary, words_added, words_removed, fetch_id, extractor_version)"
            " VALUES (?, ?, ?, 'gone', ?, ?, ?, 0, 0, ?, ?)",
            (row["id"], version, iso(now), fetch.url, json.dumps(["state"]),
             f"gone ({why})", fetch_id, latest["extractor_version"]),
        )  # fmt: skip

    def insert_extraction(self, version_id: int, article: Article) -> Extraction:
        cursor = self._conn.execute("SELECT * FROM versions WHERE id = ?", (version_id,))
        cursor.row_factory = sqlite3.Row
        original = cursor.fetchone()
        if original is None:
            raise KeyError(f"no version with id {version_id}")
        fields = version_fields(article, original["state"])
        before = columns.content_of(original)
        new_hash = hashing.content_hash(article)
        changed = tuple(diff.changed_fields({**before, "state": fields["state"]}, fields))
        body = columns.BODY_COLUMN
        text_diff = diff.diff_words(before[body], fields[body])
        summary = diff.summarise(changed, text_diff)
        content = {name: fields[name] for name in columns.CONTENT_COLUMNS}
        columns.insert(
            self._conn,
            "extractions",
            {
                "version_id": version_id, "article_id": original["article_id"],
                "version": original["version"], "extractor_version": article.extractor_version,
                "previous_extractor_version": original["extractor_version"],
                "extracted_at": iso(self._clock.now()), **content, "content_hash": new_hash,
                "changed_fields": json.dumps(list(changed)), "summary": summary,
                "words_added": text_diff.words_added, "words_removed": text_diff.words_removed,
            },
            _EXTRACTION_CONFLICT,
        )  # fmt: skip
        return Extraction(
            version_id, new_hash != original["content_hash"], changed, summary, new_hash
        )

    def stored(self, *, skip_extractor: str | None = None) -> Iterator[StoredVersion]:
        """Publisher versions that have a raw body, oldest first, with that body.

        ``skip_extractor`` leaves out versions already read by that extractor
        (extracted by it first, or re-extracted by it since). Ids are read first so
        the caller may write (record extractions) while iterating.
        """
        query = "SELECT v.id FROM versions v WHERE v.state != 'gone' AND v.body_hash IS NOT NULL"
        params: tuple[Any, ...] = ()
        if skip_extractor is not None:
            query += _NOT_READ_BY
            params = (skip_extractor, skip_extractor)
        ids = [row[0] for row in self._conn.execute(query + " ORDER BY v.id", params)]
        for version_id in ids:
            row = self._conn.execute(
                "SELECT v.id, v.article_id, v.url, v.version, v.extractor_version,"
                " v.content_hash, b.content_type, v.body_hash, a.source FROM versions v"
                " JOIN bodies b ON b.hash = v.body_hash JOIN articles a ON a.id = v.article_id"
                " WHERE v.id = ?",
                (version_id,),
            ).fetchone()
            yield StoredVersion(
                version_id=row[0], article_id=row[1], url=row[2], version=row[3],
                extractor_version=row[4], content_hash=row[5], content_type=row[6],
                body=self._bodies.read(row[7]), source=row[8],
            )  # fmt: skip

    def count_stored(self, *, skip_extractor: str | None = None) -> int:
        query = (
            "SELECT count(*) FROM versions v WHERE v.state != 'gone' AND v.body_hash IS NOT NULL"
        )
        params: tuple[Any, ...] = ()
        if skip_extractor is not None:
            query += _NOT_READ_BY
            params = (skip_extractor, skip_extractor)
        return int(self._conn.execute(query, params).fetchone()[0])


def version_fields(
    article: Article, state: str, view: hashing.ReaderView | None = None
) -> dict[str, Any]:
    return {"state": state, **columns.values(article, view)}


def _summary(state: str, changed: list[str], text_diff: diff.TextDiff | None) -> str:
    if text_diff is None:
        return "first version"
    summary = diff.summarise(changed, text_diff)
    if state == "back":
        return f"back: {summary}" if changed != ["state"] else "back (unchanged)"
    return summary


def _word_count(text: str | None) -> int:
    return len((text or "").split())
