"""What a watchdog reads beside each source's health: extraction quality, the revisit queue,
scheduler lag and the archive's size, from the committed file (never the network).

``scraper status`` prints these and the daemon's metrics export them; sources are
judged by :mod:`archive.health`. Each function takes a read-only connection
(:func:`archive.db.open_reader`) and the time to judge at: the clock is the caller's.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from archive.health import parse_time
from contract.clock import iso

QUALITY_SAMPLE = 100  # a source's latest articles judged for extraction quality


@dataclass(frozen=True)
class Quality:
    """Shares of a source's latest articles (their current version) missing a field."""

    articles: int
    empty_text: float
    no_title: float
    no_date: float


@dataclass(frozen=True)
class RevisitQueue:
    due_now: int  # articles whose next check has come
    overdue: int  # due for longer than ``overdue_after_s``
    overdue_after_s: float
    oldest_overdue_url: str | None
    oldest_overdue_since: str | None


@dataclass(frozen=True)
class Lag:
    """How late fetches started after they were due (``started_at - due_at``)."""

    window_s: float
    fetches: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None


@dataclass(frozen=True)
class Size:
    database_bytes: int
    wal_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.database_bytes + self.wal_bytes


def quality(conn: sqlite3.Connection, source: str) -> Quality:
    """Over the source's latest ``QUALITY_SAMPLE`` articles that have a readable version."""
    rows = conn.execute(
        "SELECT v.title, v.text, v.published FROM articles a JOIN versions v"
        " ON v.article_id = a.id AND v.version = a.current_version"
        " WHERE a.source = ? AND v.state != 'gone' ORDER BY a.first_seen DESC LIMIT ?",
        (source, QUALITY_SAMPLE),
    ).fetchall()
    if not rows:
        return Quality(0, 0.0, 0.0, 0.0)

    def share(index: int) -> float:
        return sum(1 for r in rows if not (r[index] or "").strip()) / len(rows)

    return Quality(len(rows), empty_text=share(1), no_title=share(0), no_date=share(2))


def revisit_queue(conn: sqlite3.Connection, now: datetime, overdue_after_s: float) -> RevisitQueue:
    (due,) = conn.execute(
        "SELECT count(*) FROM articles WHERE next_check_at <= ?", (iso(now),)
    ).fetchone()
    cutoff = iso(now - timedelta(seconds=overdue_after_s))
    (overdue,) = conn.execute(
        "SELECT count(*) FROM articles WHERE next_check_at <= ?", (cutoff,)
    ).fetchone()
    oldest = conn.execute(
        "SELECT url, next_check_at FROM articles WHERE next_check_at <= ?"
        " ORDER BY next_check_at LIMIT 1",
        (cutoff,),
    ).fetchone()
    return RevisitQueue(
        due_now=int(due),
        overdue=int(overdue),
        overdue_after_s=overdue_after_s,
        oldest_overdue_url=oldest[0] if oldest else None,
        oldest_overdue_since=oldest[1] if oldest else None,
    )


def scheduler_lag(conn: sqlite3.Connection, now: datetime, window_s: float = 3600.0) -> Lag:
    """Lag of the fetches started in the last ``window_s`` (on the ``started_at`` index)."""
    rows = conn.execute(
        "SELECT started_at, due_at FROM fetches WHERE started_at >= ? AND due_at IS NOT NULL",
        (iso(now - timedelta(seconds=window_s)),),
    ).fetchall()
    lags = sorted(
        max((parse_time(started) - parse_time(due)).total_seconds(), 0.0) for started, due in rows
    )
    if not lags:
        return Lag(window_s, 0, None, None, None)
    return Lag(window_s, len(lags), _quantile(lags, 0.5), _quantile(lags, 0.95), lags[-1])


def archive_size(path: Path) -> Size:
    def size(p: Path) -> int:
        try:
            return p.stat().st_size
        except OSError:
            return 0

    return Size(size(path), size(path.with_name(path.name + "-wal")))


def last_write_at(conn: sqlite3.Connection) -> str | None:
    """When the newest committed fetch started (the archive's last write, near enough)."""
    row = conn.execute("SELECT started_at FROM fetches ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank quantile of sorted values."""
    rank = max(math.ceil(q * len(ordered)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]
