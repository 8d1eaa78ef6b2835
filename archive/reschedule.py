"""Move stored next checks when the revisit policy changes, or on the user's request.

An article's next check is written when it is checked, with the policy of that run.
A changed ``[revisit]`` (say ``max_interval`` from 7 days to 30 seconds) would then
reach stored articles only after their old, long interval. So the archive keeps the
policy it last scheduled with (table ``settings``, name ``revisit``); when the
configured one differs, every checked article's next check is placed again, as the
new policy would have placed it at that article's last check.

``make_due`` is ``scraper revisit``: chosen articles become due now. It is one short
transaction on its own connection, without the writer lock, so it works while the
daemon runs (SQLite's busy timeout lets it wait for the daemon's open batch).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from archive import db
from archive.revisit import History, RevisitPolicy
from contract.clock import iso, parse_iso

SETTING = "revisit"


@dataclass(frozen=True)
class Rescheduled:
    """A changed policy applied to stored articles: the bounds before and after."""

    previous: RevisitPolicy | None  # None: the archive did not record one
    articles: int


def policy_key(policy: RevisitPolicy) -> str:
    """What decides where next checks go (the hourly budget does not: it is not stored)."""
    fields = asdict(policy)
    fields.pop("budget_per_hour")
    return json.dumps(fields, sort_keys=True)


def apply_policy(
    conn: sqlite3.Connection, policy: RevisitPolicy, now: datetime
) -> Rescheduled | None:
    """Reschedule stored articles if ``policy`` is not the one they were scheduled with.

    Runs inside the caller's write transaction; returns None when nothing changed.
    """
    key = policy_key(policy)
    row = conn.execute("SELECT value FROM settings WHERE name = ?", (SETTING,)).fetchone()
    if row is not None and row[0] == key:
        return None
    previous = _policy_from(row[0]) if row is not None else None
    moved = _reschedule(conn, policy)
    conn.execute(
        "INSERT INTO settings (name, value, set_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, set_at = excluded.set_at",
        (SETTING, key, iso(now)),
    )
    if previous is None and moved == 0:
        return None  # a new archive: nothing was scheduled before
    return Rescheduled(previous, moved)


def _policy_from(text: str) -> RevisitPolicy | None:
    try:
        return RevisitPolicy(**json.loads(text))
    except (ValueError, TypeError):
        return None  # written by another version: reschedule, say only the new bounds


def _reschedule(conn: sqlite3.Connection, policy: RevisitPolicy) -> int:
    rows = conn.execute(
        "SELECT id, first_seen, last_checked, changes, state, consecutive_failures"
        " FROM articles WHERE last_checked IS NOT NULL"
    )
    updates = list(_placed(rows, policy))
    conn.executemany(
        "UPDATE articles SET next_check_at = ?, check_interval_s = coalesce(?, check_interval_s)"
        " WHERE id = ?",
        updates,
    )
    return len(updates)


def _placed(
    rows: Iterator[tuple[int, str, str, int, str, int]], policy: RevisitPolicy
) -> Iterator[tuple[str, float | None, int]]:
    """Next check of each article as ``policy`` would have set it at its last check."""
    for article_id, first_seen, last_checked, changes, state, failures in rows:
        checked = parse_iso(last_checked)
        if failures > 0:
            yield (
                iso(checked + timedelta(seconds=policy.failure_backoff(failures))),
                None,
                article_id,
            )
            continue
        age = (checked - parse_iso(first_seen)).total_seconds()
        interval = policy.next_interval(History(age_s=age, changes=changes, gone=state == "gone"))
        yield iso(checked + timedelta(seconds=interval)), interval, article_id


def make_due(path: Path, now: datetime, sources: Sequence[str] | None) -> int:
    """Make the articles of ``sources`` (None: every article) due at ``now``; how many moved.

    Raises :class:`db.ArchiveError` with one line when the archive cannot be written.
    """
    db.open_reader(path).close()  # exists and is an archive, or one clear line
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=db.BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise db.ArchiveError(f"{path}: cannot open the archive ({exc})") from None
    try:
        conn.execute("BEGIN IMMEDIATE")
        where, args = "", []
        if sources is not None:
            where = f" WHERE source IN ({', '.join('?' * len(sources))})"
            args = list(sources)
        cursor = conn.execute(
            f"UPDATE articles SET next_check_at = min(coalesce(next_check_at, ?1), ?1){where}",
            [iso(now), *args],
        )
        conn.execute("COMMIT")
        return cursor.rowcount
    except sqlite3.Error as exc:
        raise db.ArchiveError(f"{path}: cannot reschedule articles ({exc})") from None
    finally:
        conn.close()
