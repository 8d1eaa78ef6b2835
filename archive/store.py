"""The single writer: every fetch, body, version and schedule change goes through here.

Writes are batched: :meth:`Archive.record` opens a ``BEGIN IMMEDIATE``
transaction when none is open and leaves it open; :meth:`Archive.commit`
(called by the daemon after each job and at shutdown) makes the batch
durable. Each record is wrapped in a savepoint, so a record that fails half
way leaves nothing behind. A batch is also committed on its own once it holds
``commit_every`` records or is ``commit_after_s`` seconds old.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from archive import columns, db, diff, hashing, reschedule
from archive.bodies import read_body
from archive.compress import COMPRESSION, DELTA_COMPRESSION, BodyCodec, base_of
from archive.revisit import History, RevisitPolicy
from contract.clock import Clock, iso
from contract.model import Article, Fetch, Outcome

# Re-extract a stored raw body with today's extractor:
# (body, content_type, url, the name of the source that found the article) -> Article.
Reextract = Callable[[bytes, str | None, str, str | None], Article]

T = TypeVar("T")

_FAILED = (Outcome.FAILED, Outcome.REJECTED)
# SQLite's primary result codes that mean "the storage cannot take this write now".
_STORAGE_ERRORS = {8: "read-only", 10: "I/O error", 13: "disk full", 14: "cannot open"}
# Writes held in memory while the archive is stalled; beyond this the oldest are dropped
# (their URLs made due again at once when writing works again).
MAX_HELD_WRITES = 5000
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
class SourceInfo:
    name: str
    url: str
    kind: str
    schedule: str  # as written in the config: "every 15m" or "cron 0 6 * * mon-fri"


@dataclass(frozen=True)
class DueArticle:
    url: str
    source: str | None
    due_at: str | None = None  # the article's next check time, as the archive had it


@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    version: int | None  # the version written by this fetch, if any
    fetch_id: int


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
        self._handle = handle
        self._delta_bodies = delta_bodies
        self._conn = handle.conn
        self._clock = clock
        self._policy = revisit
        self._reextract = reextract
        self._codec = BodyCodec()
        self._commit_every = commit_every
        self._commit_after_s = commit_after_s
        self._pending = 0
        self._batch_started = 0.0
        self._min_free = min_free
        # Every write since the last commit, to replay when a commit fails and SQLite has
        # rolled the batch back; announcements run only once their batch is committed.
        self._journal: list[_Entry] = []
        self._stall: str | None = None  # why writes are held, while they are
        self._redo: set[str] = set()  # URLs of dropped writes: due again at once
        self._replaying = False
        self._gone: db.ArchiveGone | None = None  # the file went: every write fails with this

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
        if self._stall is not None:
            raise db.ArchiveStalled(self._stall)
        if self._conn.in_transaction:
            self._check_in_place()
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._stalled(exc)
        self._pending = 0
        self._announce()

    @property
    def stalled(self) -> str | None:
        """Why writes are held in memory (disk full, ...), or None when they are not."""
        return self._stall

    @property
    def held_writes(self) -> int:
        return len(self._journal)

    def free_space(self) -> int:
        try:
            return shutil.disk_usage(self._handle.path.parent).free
        except OSError:
            return 0

    def _check_in_place(self) -> None:
        """Before a commit: the file must still be the one we opened, or the batch would vanish."""
        if self._gone is not None:
            raise self._gone
        try:
            self._handle.check_in_place()
        except db.ArchiveGone as exc:
            self._rollback_quietly()
            self._journal.clear()  # never announced: it was never committed anywhere
            stamp = self._clock.now().strftime("%Y%m%dT%H%M%SZ")
            saved = self._handle.rescue(stamp)
            where = (
                f"what it had committed is saved in {saved}"
                if saved is not None
                else "its directory is gone, so what it had committed could not be saved"
            )
            self._gone = db.ArchiveGone(f"{exc}; {where}")
            raise self._gone from None

    def trace(self, callback: Callable[[str], None] | None) -> None:
        """Hand every SQL statement the writer runs to ``callback`` (query-plan tests)."""
        self._conn.set_trace_callback(callback)

    def close(self) -> None:
        try:
            try:
                self.resume()
            except db.ArchiveStalled as exc:
                raise db.ArchiveStalled(
                    f"{exc}; closing with {len(self._journal)} held writes not committed"
                    " (those fetches are made again when their articles come due)"
                ) from None
        finally:
            self._handle.close()

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
        self._journaled(lambda: self._sync_sources(listed))

    def _sync_sources(self, sources: Iterable[SourceInfo]) -> None:
        now = self._now_iso()
        with self._write():
            for source in sources:
                self._conn.execute(
                    "INSERT INTO sources (name, url, kind, schedule, added_at)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET url = excluded.url, kind = excluded.kind,"
                    " schedule = excluded.schedule",
                    (source.name, source.url, source.kind, source.schedule, now),
                )

    def record_source_result(self, source: str, outcome: Outcome, error: str | None) -> None:
        self._journaled(lambda: self._record_source_result(source, outcome, error))

    def _record_source_result(self, source: str, outcome: Outcome, error: str | None) -> None:
        with self._write():
            self._conn.execute(
                "UPDATE sources SET last_fetched_at = ?, last_outcome = ?, last_error = ?"
                " WHERE name = ?",
                (self._now_iso(), str(outcome), error, source),
            )

    def host_holds(self) -> dict[str, datetime]:
        rows = self._conn.execute(
            "SELECT host, hold_until FROM hosts WHERE hold_until > ?", (self._now_iso(),)
        )
        return {host: _parse_time(until) for host, until in rows}

    def save_host_hold(self, host: str, until: datetime, reason: str) -> None:
        self._journaled(lambda: self._save_host_hold(host, until, reason))

    def _save_host_hold(self, host: str, until: datetime, reason: str) -> None:
        with self._write():
            self._conn.execute(
                "INSERT INTO hosts (host, hold_until, hold_reason) VALUES (?, ?, ?)"
                " ON CONFLICT (host) DO UPDATE SET hold_until = excluded.hold_until,"
                " hold_reason = excluded.hold_reason",
                (host, iso(until), reason),
            )

    # -- scheduling ----------------------------------------------------------------------------

    def apply_revisit_policy(self) -> reschedule.Rescheduled | None:
        """Reschedule stored articles when the revisit policy is not the one they got."""
        return self._journaled(lambda: self._apply_revisit_policy(), then=None)

    def _apply_revisit_policy(self) -> reschedule.Rescheduled | None:
        with self._write():
            return reschedule.apply_policy(self._conn, self._policy, self._clock.now())

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
        listed = list(urls)
        return self._journaled(
            lambda: self._add_discovered(listed, source, claim=True),
            replay=lambda: self._add_discovered(listed, source, claim=False),
        )

    def _add_discovered(self, urls: Iterable[str], source: str, *, claim: bool) -> list[str]:
        now = self._clock.now()
        lease = self._policy.claim_lease() if claim else 0.0
        claimed_until = iso(now + timedelta(seconds=lease))
        fresh: list[str] = []
        with self._write():
            for url in dict.fromkeys(urls):
                cursor = self._conn.execute(
                    "INSERT INTO articles (url, source, first_seen, state, next_check_at)"
                    " VALUES (?, ?, ?, 'new', ?) ON CONFLICT (url) DO NOTHING",
                    (url, source, iso(now), claimed_until),
                )
                if cursor.rowcount == 1:
                    fresh.append(url)
        return fresh

    def due_articles(self, limit: int) -> list[DueArticle]:
        """Articles whose check is due, never-fetched first, within each source's hourly budget.

        The returned articles are claimed (their next check moves a lease ahead), so a
        second call does not hand them out again; :meth:`record` sets the real next check.
        """
        if limit <= 0:
            return []
        now = self._clock.now()
        hour_ago = iso(now - timedelta(hours=1))
        # Each group in due order from its own partial index (schema v2): no sort of all due rows.
        never = self._conn.execute(
            "SELECT id, url, source, next_check_at FROM articles INDEXED BY articles_due_new"
            " WHERE last_checked IS NULL AND next_check_at <= ? ORDER BY next_check_at LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        chosen = [(i, DueArticle(url, source, due)) for i, url, source, due in never]
        spent: dict[str | None, int] = {}
        if len(chosen) < limit:
            rows = self._conn.execute(
                "SELECT id, url, source, next_check_at FROM articles"
                " INDEXED BY articles_due_checked"
                " WHERE last_checked IS NOT NULL AND next_check_at <= ?"
                " ORDER BY next_check_at LIMIT ?",
                (iso(now), limit * 4),
            ).fetchall()
            for article_id, url, source, due in rows:
                if source not in spent:
                    spent[source] = self._revisits_since(source, hour_ago)
                if spent[source] >= self._policy.budget_per_hour:
                    continue
                spent[source] += 1
                chosen.append((article_id, DueArticle(url, source, due)))
                if len(chosen) >= limit:
                    break
        if chosen:
            # Claims are not held through a stall: an unclaimed article is simply due.
            if self._stall is not None:
                raise db.ArchiveStalled(self._stall)
            lease = iso(now + timedelta(seconds=self._policy.claim_lease()))
            try:
                with self._write():
                    self._conn.executemany(
                        "UPDATE articles SET next_check_at = ? WHERE id = ?",
                        [(lease, article_id) for article_id, _ in chosen],
                    )
            except (sqlite3.OperationalError, _BelowFloor) as exc:
                if isinstance(exc, sqlite3.OperationalError) and _storage_error(exc) is None:
                    raise
                self._stalled(exc)
        return [due for _, due in chosen]

    def _revisits_since(self, source: str | None, since: str) -> int:
        """Revisits of one source's articles since ``since``: a range of one source's index."""
        row = self._conn.execute(
            "SELECT count(*) FROM fetches INDEXED BY fetches_source_started_at"
            " WHERE source IS ? AND started_at >= ? AND article_id IS NOT NULL"
            " AND outcome != 'new'",
            (source, since),
        ).fetchone()
        return int(row[0])

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
        return self._journaled(lambda: self._record(fetch, article), then=then, url=fetch.url)

    def _record(self, fetch: Fetch, article: Article | None) -> Recorded:
        with self._write():
            body_hash = self._store_body(fetch)
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
            failures = row["consecutive_failures"] + 1
            fetch_id = self._insert_fetch(fetch, row["id"], hint or Outcome.FAILED, body_hash, None)
            self._conn.execute(
                "UPDATE articles SET last_checked = ?, consecutive_failures = ?, next_check_at = ?"
                " WHERE id = ?",
                (iso(now), failures, self._after(now, self._policy.failure_backoff(failures)),
                 row["id"]),
            )  # fmt: skip
            return Recorded(hint or Outcome.FAILED, None, fetch_id)

        if hint == Outcome.NOT_MODIFIED:
            fetch_id = self._insert_fetch(fetch, row["id"], Outcome.NOT_MODIFIED, body_hash, None)
            self._touch(row, now, changed=False, gone=row["state"] == "gone")
            return Recorded(Outcome.NOT_MODIFIED, None, fetch_id)

        latest = self._latest_version(row["id"])
        if hint == Outcome.GONE:
            was_live = latest is not None and latest["state"] != "gone"
            version = latest["version"] + 1 if (latest is not None and was_live) else None
            fetch_id = self._insert_fetch(fetch, row["id"], Outcome.GONE, body_hash, version)
            if version is not None and latest is not None:
                self._insert_gone_version(row, latest, version, now, fetch, fetch_id)
            self._touch(row, now, changed=was_live, gone=True, version=version)
            return Recorded(Outcome.GONE, version, fetch_id)

        assert article is not None  # every other case was handled above
        view = hashing.reader_view(article)
        new_hash = hashing.view_hash(view)
        if latest is None:
            outcome, state = Outcome.NEW, "live"
        elif latest["state"] == "gone":
            outcome, state = Outcome.CHANGED, "back"
        elif new_hash == self._reference_hash(latest, article, body_hash, fetch):
            outcome, state = Outcome.UNCHANGED, ""
        else:
            outcome, state = Outcome.CHANGED, "live"

        if outcome == Outcome.UNCHANGED:
            fetch_id = self._insert_fetch(fetch, row["id"], outcome, body_hash, None)
            self._touch(row, now, changed=False, gone=False, fetch=fetch)
            return Recorded(outcome, None, fetch_id)

        version = 1 if latest is None else latest["version"] + 1
        fetch_id = self._insert_fetch(fetch, row["id"], outcome, body_hash, version)
        fields = _version_fields(article, state, view)
        previous = self._comparable_previous(row["id"], article.extractor_version)
        self._insert_version(
            row["id"], version, now, fetch, fetch_id, body_hash, new_hash, fields, previous,
            article.extractor_version,
        )  # fmt: skip
        self._touch(
            row, now, changed=latest is not None, gone=False, version=version, fetch=fetch,
            article=article,
        )  # fmt: skip
        return Recorded(outcome, version, fetch_id)

    # -- re-extraction (scraper reparse) ---------------------------------------------------------

    def stored_versions(self, *, skip_extractor: str | None = None) -> Iterator[StoredVersion]:
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
                body=read_body(self._conn, row[7], self._codec), source=row[8],
            )  # fmt: skip

    def count_stored_versions(self, *, skip_extractor: str | None = None) -> int:
        query = (
            "SELECT count(*) FROM versions v WHERE v.state != 'gone' AND v.body_hash IS NOT NULL"
        )
        params: tuple[Any, ...] = ()
        if skip_extractor is not None:
            query += _NOT_READ_BY
            params = (skip_extractor, skip_extractor)
        return int(self._conn.execute(query, params).fetchone()[0])

    def record_extraction(self, version_id: int, article: Article) -> Extraction:
        """Store what ``article.extractor_version`` reads from a version's raw body.

        Never touches ``versions``: a different reading of the same bytes is a parser
        change, shown beside the publisher's history, not in it.
        """
        with self._write():
            row = self._insert_extraction(version_id, article)
        return Extraction(version_id, row.changed, row.changed_fields, row.summary)

    # -- helpers -----------------------------------------------------------------------------------

    def _now_iso(self) -> str:
        return iso(self._clock.now())

    def _after(self, now: datetime, seconds: float) -> str:
        return iso(now + timedelta(seconds=seconds))

    def _write(self) -> _Batch:
        return _Batch(self)

    def _begin_if_needed(self) -> None:
        if not self._conn.in_transaction:
            self._check_in_place()
            free = self.free_space()
            if free < self._min_free:
                raise _BelowFloor(
                    f"only {_size(free)} free beside {self._handle.path}, below"
                    f" [archive] min_free {_size(self._min_free)}"
                )
            self._conn.execute("BEGIN IMMEDIATE")
            self._batch_started = self._clock.monotonic()

    def _journaled(
        self,
        op: Callable[[], T],
        *,
        then: Callable[[T], None] | None = None,
        replay: Callable[[], T] | None = None,
        url: str | None = None,
    ) -> T:
        """Run a write as part of the batch, and keep it to replay should the batch be lost."""
        entry = _Entry(op, replay or op, then, url)
        self._hold(entry)
        if self._stall is not None:
            raise db.ArchiveStalled(self._stall)
        try:
            entry.result = op()
        except (sqlite3.OperationalError, _BelowFloor) as exc:
            if isinstance(exc, sqlite3.OperationalError) and _storage_error(exc) is None:
                self._forget(entry)
                raise
            self._stalled(exc)
        except BaseException:
            self._forget(entry)
            raise
        self._record_done()
        result: T = entry.result
        return result

    def _forget(self, entry: _Entry) -> None:
        self._journal = [held for held in self._journal if held is not entry]

    def _hold(self, entry: _Entry) -> None:
        self._journal.append(entry)
        while len(self._journal) > MAX_HELD_WRITES:
            dropped = self._journal.pop(0)
            if dropped.url is not None:
                self._redo.add(dropped.url)

    def _stalled(self, exc: Exception) -> None:
        """A write or commit failed for lack of storage: hold the batch, raise ArchiveStalled."""
        self._rollback_quietly()
        if isinstance(exc, _BelowFloor):
            self._stall = str(exc)
        else:
            kind = _storage_error(exc) if isinstance(exc, sqlite3.OperationalError) else None
            self._stall = (
                f"writing {self._handle.path} failed ({kind or 'error'}: {exc});"
                f" {_size(self.free_space())} free"
            )
        raise db.ArchiveStalled(self._stall) from None

    def _rollback_quietly(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.OperationalError:
                # SQLite may have rolled back on its own (disk full): nothing left to undo.
                assert not self._conn.in_transaction
        self._pending = 0

    def resume(self) -> None:
        """Replay every held write in one transaction and commit it, or stay stalled."""
        if self._stall is None:
            self.commit()
            return
        self._rollback_quietly()
        self._replaying = True
        try:
            self._begin_if_needed()
            for entry in self._journal:
                entry.result = entry.replay()
            if self._redo:
                now = self._now_iso()
                self._conn.executemany(
                    "UPDATE articles SET next_check_at = ? WHERE url = ?",
                    [(now, url) for url in sorted(self._redo)],
                )
            self._check_in_place()
            self._conn.execute("COMMIT")
        except (sqlite3.OperationalError, _BelowFloor) as exc:
            if isinstance(exc, sqlite3.OperationalError) and _storage_error(exc) is None:
                raise
            self._stalled(exc)
        finally:
            self._replaying = False
        self._stall = None
        self._redo.clear()
        self._pending = 0
        self._announce()

    def _announce(self) -> None:
        held, self._journal = self._journal, []
        for entry in held:
            if entry.then is not None:
                entry.then(entry.result)

    def _record_done(self) -> None:
        if self._replaying:
            return
        self._pending += 1
        too_many = self._pending >= self._commit_every
        too_old = self._clock.monotonic() - self._batch_started >= self._commit_after_s
        if too_many or too_old:
            self.commit()

    def _store_body(self, fetch: Fetch) -> str | None:
        return self._store_raw(fetch, fetch.body)

    def _store_raw(self, fetch: Fetch, raw: bytes | None) -> str | None:
        if raw is None:
            return None
        key = hashing.body_hash(raw)
        known = self._conn.execute("SELECT 1 FROM bodies WHERE hash = ?", (key,)).fetchone()
        if known is not None:
            return key
        packed, compression = self._pack(fetch.url, raw)
        self._conn.execute(
            "INSERT INTO bodies (hash, size, stored_size, content_type, compression, content,"
            " first_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, len(raw), len(packed), fetch.content_type, compression, packed,
             self._now_iso()),
        )  # fmt: skip
        return key

    def _pack(self, url: str, raw: bytes) -> tuple[bytes, str]:
        """Compress alone, or against the URL's last full body when that is much smaller."""
        if self._delta_bodies:
            previous = self._conn.execute(
                "SELECT b.hash, b.compression, substr(b.content, 1, 64) FROM fetches f"
                " JOIN bodies b ON b.hash = f.body_hash"
                " WHERE f.url = ? AND f.body_hash IS NOT NULL ORDER BY f.id DESC LIMIT 1",
                (url,),
            ).fetchone()
            if previous is not None:
                # Always against a full body, so reading any body takes at most two steps.
                base_hash = base_of(previous[2], previous[1]) or previous[0]
                base_raw = read_body(self._conn, base_hash, self._codec)
                delta = self._codec.compress_against(raw, base_raw, base_hash)
                if len(delta) * 20 < len(raw):  # clearly a near-copy: keep the delta
                    return delta, DELTA_COMPRESSION
                alone = self._codec.compress(raw)
                if len(delta) < len(alone) // 2:
                    return delta, DELTA_COMPRESSION
                return alone, COMPRESSION  # drifted: this body becomes the next base
        return self._codec.compress(raw), COMPRESSION

    def _article_row(self, url: str) -> sqlite3.Row | None:
        cursor = self._conn.execute("SELECT * FROM articles WHERE url = ?", (url,))
        cursor.row_factory = sqlite3.Row
        row: sqlite3.Row | None = cursor.fetchone()
        return row

    def _create_article(self, fetch: Fetch) -> sqlite3.Row:
        self._conn.execute(
            "INSERT INTO articles (url, source, first_seen, state) VALUES (?, ?, ?, 'new')",
            (fetch.url, fetch.source, self._now_iso()),
        )
        row = self._article_row(fetch.url)
        assert row is not None
        return row

    def _latest_version(self, article_id: int) -> sqlite3.Row | None:
        cursor = self._conn.execute(
            "SELECT id, version, state, content_hash, extractor_version, body_hash FROM versions"
            " WHERE article_id = ? ORDER BY version DESC LIMIT 1",
            (article_id,),
        )
        cursor.row_factory = sqlite3.Row
        row: sqlite3.Row | None = cursor.fetchone()
        return row

    def _reference_hash(
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
            return self._insert_extraction(latest["id"], article).content_hash
        if self._same_response(latest["id"], fetch):
            # The other path (plain or rendered) read the same response: a parser change.
            return self._insert_extraction(latest["id"], article).content_hash
        if self._reextract is not None and latest["body_hash"] is not None:
            stored = self._conn.execute(
                "SELECT v.url, b.content_type, a.source FROM versions v JOIN bodies b"
                " ON b.hash = v.body_hash JOIN articles a ON a.id = v.article_id WHERE v.id = ?",
                (latest["id"],),
            ).fetchone()
            raw = read_body(self._conn, latest["body_hash"], self._codec)
            reread = self._reextract(raw, stored[1], stored[0], stored[2])
            return self._insert_extraction(latest["id"], reread).content_hash
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

    def _comparable_previous(
        self, article_id: int, extractor_version: str
    ) -> dict[str, Any] | None:
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
                self._store_raw(fetch, fetch.original_body),
            ),
        )  # fmt: skip
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _insert_version(
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

    def _insert_gone_version(
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

    def _insert_extraction(self, version_id: int, article: Article) -> _ExtractionRow:
        cursor = self._conn.execute("SELECT * FROM versions WHERE id = ?", (version_id,))
        cursor.row_factory = sqlite3.Row
        original = cursor.fetchone()
        if original is None:
            raise KeyError(f"no version with id {version_id}")
        fields = _version_fields(article, original["state"])
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
                "extracted_at": self._now_iso(), **content, "content_hash": new_hash,
                "changed_fields": json.dumps(list(changed)), "summary": summary,
                "words_added": text_diff.words_added, "words_removed": text_diff.words_removed,
            },
            _EXTRACTION_CONFLICT,
        )  # fmt: skip
        return _ExtractionRow(new_hash, new_hash != original["content_hash"], changed, summary)

    def _touch(
        self,
        row: sqlite3.Row,
        now: datetime,
        *,
        changed: bool,
        gone: bool,
        version: int | None = None,
        fetch: Fetch | None = None,
        article: Article | None = None,
    ) -> None:
        """Update the article after a check that reached the server, and schedule the next."""
        changes = row["changes"] + (1 if changed else 0)
        age = (now - _parse_time(row["first_seen"])).total_seconds()
        interval = self._policy.next_interval(History(age_s=age, changes=changes, gone=gone))
        self._conn.execute(
            "UPDATE articles SET last_checked = ?, checks = checks + 1, changes = ?,"
            " consecutive_failures = 0, state = ?, next_check_at = ?, check_interval_s = ?,"
            " current_version = coalesce(?, current_version),"
            " last_changed = CASE WHEN ? THEN ? ELSE last_changed END,"
            " etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),"
            " title = coalesce(?, title), canonical_url = coalesce(?, canonical_url),"
            " site_name = coalesce(?, site_name) WHERE id = ?",
            (
                iso(now), changes, "gone" if gone else "live", self._after(now, interval),
                interval, version, version is not None, iso(now),
                fetch.etag if fetch else None, fetch.last_modified if fetch else None,
                article.title if article else None, article.canonical_url if article else None,
                article.site_name if article else None, row["id"],
            ),
        )  # fmt: skip


@dataclass(frozen=True)
class _ExtractionRow:
    content_hash: str
    changed: bool
    changed_fields: tuple[str, ...]
    summary: str


@dataclass
class _Entry:
    """One write of the batch: how to run it again, and what to announce once committed."""

    op: Callable[[], Any]
    replay: Callable[[], Any]
    then: Callable[[Any], None] | None
    url: str | None  # made due again at once if this write is dropped
    result: Any = None


class _BelowFloor(Exception):
    """Less free space than ``[archive] min_free`` beside the archive."""


def _storage_error(exc: sqlite3.OperationalError) -> str | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else _STORAGE_ERRORS.get(code & 0xFF)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


class _Batch:
    """``with archive._write():`` joins the open batch (or starts one) inside a savepoint."""

    def __init__(self, archive: Archive) -> None:
        self._archive = archive

    def __enter__(self) -> None:
        self._archive._begin_if_needed()
        self._archive._conn.execute("SAVEPOINT record")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._archive._conn
        if exc_type is not None:
            if conn.in_transaction:  # SQLite rolls back the whole batch on some errors
                conn.execute("ROLLBACK TO record")
                conn.execute("RELEASE record")
            return
        conn.execute("RELEASE record")


def _version_fields(
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


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
