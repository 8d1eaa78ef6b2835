"""The revisit queue: which articles are due, claimed for fetching, and when each is next.

Per-article schedules live in ``articles.next_check_at``: new URLs join due at once
(claimed by whoever discovered them), each check moves the next one by the revisit
policy (``archive.revisit``), and :meth:`RevisitQueue.due` hands out due articles,
never-fetched first, within each source's hourly budget, claiming them for a lease.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from archive import reschedule
from archive.revisit import History, RevisitPolicy
from archive.writer import Writer
from contract.clock import Clock, iso, parse_iso
from contract.model import Article, Fetch


@dataclass(frozen=True)
class DueArticle:
    url: str
    source: str | None
    due_at: str | None = None  # the article's next check time, as the archive had it


def _found_by(sources: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause (and its parameters) keeping the articles ``sources`` found."""
    if sources is None:
        return "", ()
    names = tuple(sources)
    if not names:
        return " AND source IS NULL", ()
    return f" AND (source IS NULL OR source IN ({', '.join('?' for _ in names)}))", names


class RevisitQueue:
    """The schedule columns of ``articles``, written through the archive's one writer."""

    def __init__(self, writer: Writer, clock: Clock, policy: RevisitPolicy) -> None:
        self._writer = writer
        self._conn = writer.conn
        self._clock = clock
        self._policy = policy

    def add_discovered(self, urls: Iterable[str], source: str) -> list[str]:
        """Remember new article URLs; returns those not known before, claimed for fetching now.

        Replayed after a stall, they are due at once instead: the caller may never have
        had them to fetch.
        """
        listed = list(urls)
        return self._writer.journaled(
            lambda: self._add_discovered(listed, source, claim=True),
            replay=lambda: self._add_discovered(listed, source, claim=False),
        )

    def _add_discovered(self, urls: Iterable[str], source: str, *, claim: bool) -> list[str]:
        now = self._clock.now()
        lease = self._policy.claim_lease() if claim else 0.0
        claimed_until = iso(now + timedelta(seconds=lease))
        fresh: list[str] = []
        with self._writer.write():
            for url in dict.fromkeys(urls):
                cursor = self._conn.execute(
                    "INSERT INTO articles (url, source, first_seen, state, next_check_at)"
                    " VALUES (?, ?, ?, 'new', ?) ON CONFLICT (url) DO NOTHING",
                    (url, source, iso(now), claimed_until),
                )
                if cursor.rowcount == 1:
                    fresh.append(url)
        return fresh

    def due(self, limit: int, sources: Collection[str] | None = None) -> list[DueArticle]:
        """Articles whose check is due, never-fetched first, within each source's hourly budget.

        The returned articles are claimed (their next check moves a lease ahead), so a
        second call does not hand them out again; :meth:`record` sets the real next check.
        ``sources``: only the articles these sources found (and those no source did); the
        articles of a source no longer configured stay as they are, unvisited.
        """
        if limit <= 0:
            return []
        now = self._clock.now()
        hour_ago = iso(now - timedelta(hours=1))
        only, names = _found_by(sources)
        # Each group in due order from its own partial index (schema v2): no sort of all due rows.
        never = self._conn.execute(
            "SELECT id, url, source, next_check_at FROM articles INDEXED BY articles_due_new"
            f" WHERE last_checked IS NULL AND next_check_at <= ?{only}"
            " ORDER BY next_check_at LIMIT ?",
            (iso(now), *names, limit),
        ).fetchall()
        chosen = [(i, DueArticle(url, source, due)) for i, url, source, due in never]
        spent: dict[str | None, int] = {}
        if len(chosen) < limit:
            rows = self._conn.execute(
                "SELECT id, url, source, next_check_at FROM articles"
                " INDEXED BY articles_due_checked"
                f" WHERE last_checked IS NOT NULL AND next_check_at <= ?{only}"
                " ORDER BY next_check_at LIMIT ?",
                (iso(now), *names, limit * 4),
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
            lease = iso(now + timedelta(seconds=self._policy.claim_lease()))
            self._writer.unjournaled(
                lambda: self._conn.executemany(
                    "UPDATE articles SET next_check_at = ? WHERE id = ?",
                    [(lease, article_id) for article_id, _ in chosen],
                )
            )
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

    def failed(self, row: sqlite3.Row, now: datetime) -> None:
        """After a failed check: one more failure in a row, and the next check backed off."""
        failures = row["consecutive_failures"] + 1
        backoff = now + timedelta(seconds=self._policy.failure_backoff(failures))
        self._conn.execute(
            "UPDATE articles SET last_checked = ?, consecutive_failures = ?, next_check_at = ?"
            " WHERE id = ?",
            (iso(now), failures, iso(backoff), row["id"]),
        )

    def checked(
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
        age = (now - parse_iso(row["first_seen"])).total_seconds()
        interval = self._policy.next_interval(History(age_s=age, changes=changes, gone=gone))
        next_at = iso(now + timedelta(seconds=interval))
        self._conn.execute(
            "UPDATE articles SET last_checked = ?, checks = checks + 1, changes = ?,"
            " consecutive_failures = 0, state = ?, next_check_at = ?, check_interval_s = ?,"
            " current_version = coalesce(?, current_version),"
            " last_changed = CASE WHEN ? THEN ? ELSE last_changed END,"
            " etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),"
            " title = coalesce(?, title), canonical_url = coalesce(?, canonical_url),"
            " site_name = coalesce(?, site_name) WHERE id = ?",
            (
                iso(now), changes, "gone" if gone else "live", next_at, interval, version,
                version is not None, iso(now),
                fetch.etag if fetch else None, fetch.last_modified if fetch else None,
                article.title if article else None, article.canonical_url if article else None,
                article.site_name if article else None, row["id"],
            ),
        )  # fmt: skip

    def make_due(self, urls: Sequence[str]) -> None:
        """Due now: the articles whose fetches' writes were dropped while the archive stalled."""
        now = iso(self._clock.now())
        self._conn.executemany(
            "UPDATE articles SET next_check_at = ? WHERE url = ?", [(now, url) for url in urls]
        )

    def apply_policy(self) -> reschedule.Rescheduled | None:
        """Reschedule stored articles when the revisit policy is not the one they got."""
        return self._writer.journaled(lambda: self._apply_policy(), then=None)

    def _apply_policy(self) -> reschedule.Rescheduled | None:
        with self._writer.write():
            return reschedule.apply_policy(self._conn, self._policy, self._clock.now())
