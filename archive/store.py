"""The single writer: every fetch, body, version and schedule change goes through here.

:class:`Archive` is the archive file opened for writing. It records each fetch
(:meth:`Archive.record`) and hands the parts of that job to one module each:

- ``archive.writer``: transactions, batches, savepoints, stalls (disk full) and
  what is announced once committed;
- ``archive.bodies``: each distinct raw body once, compressed alone or as a delta;
- ``archive.versions``: when a fetch is a new version, and the versions and
  re-extractions tables;
- ``archive.revisit_queue``: which articles are due, their claims and next checks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from archive import db, hashing, received, reschedule
from archive.bodies import BodyStore
from archive.compress import BodyCodec
from archive.revisit import RevisitPolicy
from archive.revisit_queue import DueArticle, RevisitQueue
from archive.versions import Extraction, Reextract, StoredVersion, Versions, version_fields
from archive.writer import Writer
from contract.clock import Clock, iso, parse_iso
from contract.model import Article, Fetch, Outcome

__all__ = [
    "Archive", "DueArticle", "Extraction", "Recorded", "Reextract", "SourceInfo", "StoredVersion",
]  # fmt: skip

_FAILED = (Outcome.FAILED, Outcome.REJECTED)


@dataclass(frozen=True)
class SourceInfo:
    name: str
    url: str
    kind: str
    schedule: str  # as written in the config: "every 15m" or "cron 0 6 * * mon-fri"


@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    version: int | None  # the version written by this fetch, if any
    fetch_id: int
    state: str | None = None  # that version's state: "live", "gone" or "back"

    @property
    def kind(self) -> str | None:
        """new, changed, gone or back for a fetch that wrote a version; None for the others
        (what the metrics count and the alerts tell)."""
        if self.version is None:
            return None
        if self.state in ("gone", "back"):
            return self.state
        return "new" if self.version == 1 else "changed"


class Archive:
    """The archive file opened for writing, locked to this process."""

    def __init__(
        self,
        handle: db.WriterHandle,
        clock: Clock,
        revisit: RevisitPolicy,
        reextract: Reextract | None,
        commit_every: int,
        commit_after_s: float,
        delta_bodies: bool,
        min_free: int = 0,
    ) -> None:
        self._clock = clock
        self._writer = Writer(
            handle, clock, commit_every, commit_after_s, min_free,
            make_due=lambda urls: self._queue.make_due(urls),
        )  # fmt: skip
        self._conn = handle.conn
        self._bodies = BodyStore(self._conn, BodyCodec(), clock, delta_bodies=delta_bodies)
        self._versions = Versions(self._conn, self._bodies, clock, reextract)
        self._queue = RevisitQueue(self._writer, clock, revisit)

    @classmethod
    def open(
        cls,
        path: Path,
        clock: Clock,
        *,
        revisit: RevisitPolicy | None = None,
        reextract: Reextract | None = None,
        commit_every: int = 500,
        commit_after_s: float = 5.0,
        delta_bodies: bool = False,
        min_free: int = 0,
    ) -> Archive:
        """Lock, ``quick_check`` and migrate the file; raises :class:`db.ArchiveError`.

        ``delta_bodies`` stores a new body of a known URL compressed against that URL's
        previous body (readers must then use :func:`archive.bodies.read_body`).
        ``min_free`` bytes must be free beside the file before a batch starts, else the
        archive stalls (see :class:`db.ArchiveStalled`).
        """
        handle = db.open_writer(path)
        return cls(
            handle, clock, revisit or RevisitPolicy(), reextract, commit_every, commit_after_s,
            delta_bodies, min_free,
        )  # fmt: skip

    # -- lifecycle ---------------------------------------------------------------------------

    def commit(self) -> None:
        """Make the batch durable, then announce it; raises :class:`db.ArchiveStalled`.

        While stalled it raises at once: :meth:`resume` tries the held writes again.
        """
        self._writer.commit()

    def resume(self) -> None:
        """Replay every held write in one transaction and commit it, or stay stalled."""
        self._writer.resume()

    @property
    def stalled(self) -> str | None:
        """Why writes are held in memory (disk full, ...), or None when they are not."""
        return self._writer.stalled

    @property
    def held_writes(self) -> int:
        return self._writer.held_writes

    def free_space(self) -> int:
        return self._writer.free_space()

    def trace(self, callback: Callable[[str], None] | None) -> None:
        """Hand every SQL statement the writer runs to ``callback`` (query-plan tests)."""
        self._writer.trace(callback)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sources and hosts -------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[SourceInfo]) -> None:
        listed = list(sources)
        self._writer.journaled(lambda: self._sync_sources(listed))

    def _sync_sources(self, sources: Iterable[SourceInfo]) -> None:
        now = iso(self._clock.now())
        with self._writer.write():
            for source in sources:
                self._conn.execute(
                    "INSERT INTO sources (name, url, kind, schedule, added_at)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET url = excluded.url, kind = excluded.kind,"
                    " schedule = excluded.schedule",
                    (source.name, source.url, source.kind, source.schedule, now),
                )

    def record_source_result(self, source: str, outcome: Outcome, error: str | None) -> None:
        self._writer.journaled(lambda: self._record_source_result(source, outcome, error))

    def _record_source_result(self, source: str, outcome: Outcome, error: str | None) -> None:
        with self._writer.write():
            self._conn.execute(
                "UPDATE sources SET last_fetched_at = ?, last_outcome = ?, last_error = ?"
                " WHERE name = ?",
                (iso(self._clock.now()), str(outcome), error, source),
            )

    def host_holds(self) -> dict[str, datetime]:
        rows = self._conn.execute(
            "SELECT host, hold_until FROM hosts WHERE hold_until > ?", (iso(self._clock.now()),)
        )
        return {host: parse_iso(until) for host, until in rows}

    def save_host_hold(self, host: str, until: datetime, reason: str) -> None:
        self._writer.journaled(lambda: self._save_host_hold(host, until, reason))

    def _save_host_hold(self, host: str, until: datetime, reason: str) -> None:
        with self._writer.write():
            self._conn.execute(
                "INSERT INTO hosts (host, hold_until, hold_reason) VALUES (?, ?, ?)"
                " ON CONFLICT (host) DO UPDATE SET hold_until = excluded.hold_until,"
                " hold_reason = excluded.hold_reason",
                (host, iso(until), reason),
            )

    # -- scheduling ----------------------------------------------------------------------------

    def apply_revisit_policy(self) -> reschedule.Rescheduled | None:
        """Reschedule stored articles when the revisit policy is not the one they got."""
        return self._queue.apply_policy()

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """ETag and Last-Modified of the last successful fetch of ``url``, for a conditional GET."""
        row = self._conn.execute(
            "SELECT etag, last_modified FROM fetches WHERE url = ? AND status BETWEEN 200 AND 299"
            " ORDER BY id DESC LIMIT 1",
            (url,),
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def add_discovered(self, urls: Iterable[str], source: str) -> list[str]:
        """Remember new article URLs; returns those not known before, claimed for fetching now.

        Replayed after a stall, they are due at once instead: the caller may never have
        had them to fetch.
        """
        return self._queue.add_discovered(urls, source)

    def due_articles(self, limit: int, sources: Collection[str] | None = None) -> list[DueArticle]:
        """Articles whose check is due, never-fetched first, within each source's hourly budget.

        The returned articles are claimed (their next check moves a lease ahead), so a
        second call does not hand them out again; :meth:`record` sets the real next check.
        ``sources``: only the articles these sources (or no source) found.
        """
        return self._queue.due(limit, sources)

    # -- the hot path ------------------------------------------------------------------------------

    def record(
        self,
        fetch: Fetch,
        article: Article | None,
        then: Callable[[Recorded], None] | None = None,
    ) -> Recorded:
        """Store one fetch (and its body, and a new version when a reader would see a change).

        ``then`` runs with what was recorded once the batch is committed, never before:
        log lines and counts of new versions belong there.
        """
        return self._writer.journaled(
            lambda: self._record(fetch, article), then=then, url=fetch.url
        )

    def _record(self, fetch: Fetch, article: Article | None) -> Recorded:
        with self._writer.write():
            body_hash = self._bodies.store(fetch.url, fetch.content_type, fetch.body)
            row = self._article_row(fetch.url)
            if row is None and article is None:
                return self._record_page(fetch, body_hash)
            if row is None:
                row = self._create_article(fetch)
            return self._record_article(fetch, article, body_hash, row)

    def _record_page(self, fetch: Fetch, body_hash: str | None) -> Recorded:
        """A feed, sitemap or section page: changed or not by its raw bytes; no versions."""
        outcome = fetch.outcome_hint
        if outcome is None:
            previous = self._conn.execute(
                "SELECT body_hash FROM fetches WHERE url = ? AND body_hash IS NOT NULL"
                " ORDER BY id DESC LIMIT 1",
                (fetch.url,),
            ).fetchone()
            same = previous is not None and previous[0] == body_hash
            outcome = Outcome.UNCHANGED if same else Outcome.CHANGED
        fetch_id = self._insert_fetch(fetch, None, outcome, body_hash, None)
        return Recorded(outcome, None, fetch_id)

    def _record_article(
        self, fetch: Fetch, article: Article | None, body_hash: str | None, row: sqlite3.Row
    ) -> Recorded:
        now = self._clock.now()
        hint = fetch.outcome_hint
        if hint is None and _is_section_redirect(fetch.url, fetch.final_url):
            hint = Outcome.GONE
        if hint is None and article is None:
            hint = Outcome.FAILED
            fetch = _with_error(fetch, "no article found in the page")

        if hint in _FAILED:
            fetch_id = self._insert_fetch(fetch, row["id"], hint or Outcome.FAILED, body_hash, None)
            self._queue.failed(row, now)
            return Recorded(hint or Outcome.FAILED, None, fetch_id)

        if hint == Outcome.NOT_MODIFIED:
            fetch_id = self._insert_fetch(fetch, row["id"], Outcome.NOT_MODIFIED, body_hash, None)
            self._queue.checked(row, now, changed=False, gone=row["state"] == "gone")
            return Recorded(Outcome.NOT_MODIFIED, None, fetch_id)

        latest = self._versions.latest(row["id"])
        if hint == Outcome.GONE:
            was_live = latest is not None and latest["state"] != "gone"
            version = latest["version"] + 1 if (latest is not None and was_live) else None
            fetch_id = self._insert_fetch(fetch, row["id"], Outcome.GONE, body_hash, version)
            if version is not None and latest is not None:
                self._versions.insert_gone(row, latest, version, now, fetch, fetch_id)
            self._queue.checked(row, now, changed=was_live, gone=True, version=version)
            return Recorded(Outcome.GONE, version, fetch_id, None if version is None else "gone")

        assert article is not None  # every other case was handled above
        view = hashing.reader_view(article)
        new_hash = hashing.view_hash(view)
        if latest is None:
            outcome, state = Outcome.NEW, "live"
        elif latest["state"] == "gone":
            outcome, state = Outcome.CHANGED, "back"
        elif new_hash == self._versions.reference_hash(latest, article, body_hash, fetch):
            outcome, state = Outcome.UNCHANGED, ""
        else:
            outcome, state = Outcome.CHANGED, "live"

        if outcome == Outcome.UNCHANGED:
            fetch_id = self._insert_fetch(fetch, row["id"], outcome, body_hash, None)
            self._queue.checked(row, now, changed=False, gone=False, fetch=fetch)
            return Recorded(outcome, None, fetch_id)

        version = 1 if latest is None else latest["version"] + 1
        fetch_id = self._insert_fetch(fetch, row["id"], outcome, body_hash, version)
        fields = version_fields(article, state, view)
        previous = self._versions.comparable_previous(row["id"], article.extractor_version)
        self._versions.insert(
            row["id"], version, now, fetch, fetch_id, body_hash, new_hash, fields, previous,
            article.extractor_version,
        )  # fmt: skip
        self._queue.checked(
            row, now, changed=latest is not None, gone=False, version=version, fetch=fetch,
            article=article,
        )  # fmt: skip
        return Recorded(outcome, version, fetch_id, state)

    # -- a cluster's results, recorded once (archive.received) ------------------------------

    def received(self, fetch_id: str) -> bool:
        """Whether the result of the fetch ``fetch_id`` was recorded already (or is in the
        open batch)."""
        return received.was_received(self._conn, fetch_id)

    def note_received(self, fetch_id: str) -> None:
        """Note the result of ``fetch_id`` as recorded, in the batch that records it."""
        self._writer.journaled(lambda: self._note_received(fetch_id))

    def _note_received(self, fetch_id: str) -> bool:
        with self._writer.write():
            return received.note(self._conn, fetch_id, iso(self._clock.now()))

    # -- re-extraction (scraper reparse) ---------------------------------------------------------

    def stored_versions(self, *, skip_extractor: str | None = None) -> Iterator[StoredVersion]:
        """Publisher versions that have a raw body, oldest first, with that body.

        ``skip_extractor`` leaves out versions already read by that extractor
        (extracted by it first, or re-extracted by it since).
        """
        return self._versions.stored(skip_extractor=skip_extractor)

    def count_stored_versions(self, *, skip_extractor: str | None = None) -> int:
        return self._versions.count_stored(skip_extractor=skip_extractor)

    def record_extraction(self, version_id: int, article: Article) -> Extraction:
        """Store what ``article.extractor_version`` reads from a version's raw body.

        Never touches ``versions``: a different reading of the same bytes is a parser
        change, shown beside the publisher's history, not in it.
        """
        with self._writer.write():
            return self._versions.insert_extraction(version_id, article)

    # -- helpers -----------------------------------------------------------------------------------

    def _insert_fetch(
        self,
        fetch: Fetch,
        article_id: int | None,
        outcome: Outcome,
        body_hash: str | None,
        version: int | None,
    ) -> int:
        cursor = self._conn.execute(
            "INSERT INTO fetches (url, article_id, source, started_at, final_url, status, outcome,"
            " error, bytes, elapsed_ms, content_type, body_hash, etag, last_modified, headers,"
            " version, due_at, via, original_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fetch.url, article_id, fetch.source, fetch.started_at, fetch.final_url,
                fetch.status, str(outcome), fetch.error,
                len(fetch.body) if fetch.body is not None else None, fetch.elapsed_ms,
                fetch.content_type, body_hash, fetch.etag, fetch.last_modified,
                _headers_json(fetch.headers), version, fetch.due_at, fetch.via,
                self._bodies.store(fetch.url, fetch.content_type, fetch.original_body),
            ),
        )  # fmt: skip
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _article_row(self, url: str) -> sqlite3.Row | None:
        cursor = self._conn.execute("SELECT * FROM articles WHERE url = ?", (url,))
        cursor.row_factory = sqlite3.Row
        row: sqlite3.Row | None = cursor.fetchone()
        return row

    def _create_article(self, fetch: Fetch) -> sqlite3.Row:
        self._conn.execute(
            "INSERT INTO articles (url, source, first_seen, state) VALUES (?, ?, ?, 'new')",
            (fetch.url, fetch.source, iso(self._clock.now())),
        )
        row = self._article_row(fetch.url)
        assert row is not None
        return row


def _headers_json(headers: tuple[tuple[str, str], ...]) -> str | None:
    if not headers:
        return None
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return json.dumps(merged, ensure_ascii=False)


def _is_section_redirect(url: str, final_url: str | None) -> bool:
    """A redirect from an article to its site's front or a section above it: the article is gone."""
    if not final_url or final_url == url:
        return False
    before, after = urlsplit(url), urlsplit(final_url)
    if before.hostname != after.hostname:
        return False
    old_path = before.path.rstrip("/")
    new_path = after.path.rstrip("/")
    return new_path != old_path and (new_path == "" or old_path.startswith(new_path + "/"))


def _with_error(fetch: Fetch, error: str) -> Fetch:
    return replace(fetch, error=fetch.error or error)
