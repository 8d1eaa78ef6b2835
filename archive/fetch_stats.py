"""Fetch tallies per host and per source, kept by a trigger, so failure pages read no history.

``failing_hosts`` and ``failing_sources`` once counted the fetches of the last seven days
on every read: 780,000 rows at a million articles, over 3 s a page. The archive keeps
what they show instead, in the transaction of each fetch's insert (a trigger on
``fetches``, whichever path records it):

- ``host_stats`` / ``source_stats``: one row per host (of the fetched URL) or source, with
  its fetches and failures ever, the failures in a row since its last fetch that did not
  fail, and its last fetch, last success and last failure (with that failure's status and
  error). "Last" is in the order fetches are recorded; one request at a time per host
  makes that the order they were made.
- ``host_days`` / ``source_days``: fetches and failures per host or source per UTC day,
  from which the pages sum the last seven days.

A failure is a ``failed`` or ``rejected`` fetch; anything else (a 404 too) is a success.
Schema 7 fills the four tables from the fetches stored so far (:func:`fill`), with the
same rows the trigger would have written.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from archive import ddl
from archive.ddl import SqlObject

FAILED = "('failed', 'rejected')"
# The host of a fetch's URL ({row}: new, or a table alias): lower-cased text between '://'
# and the next '/' (or '?'), the port kept.
_REST = "substr({row}.url, instr({row}.url, '://') + 3)"
HOST_SQL = (
    "lower(CASE WHEN instr({rest}, '/') > 0 THEN substr({rest}, 1, instr({rest}, '/') - 1)"
    " WHEN instr({rest}, '?') > 0 THEN substr({rest}, 1, instr({rest}, '?') - 1)"
    " ELSE {rest} END)"
).replace("{rest}", _REST)


@dataclass(frozen=True)
class Scope:
    key: str  # the key column's name in both tables
    value: str  # SQL of a fetch's key, {row} for the fetches row (NULL: not counted)

    @property
    def stats(self) -> str:
        return f"{self.key}_stats"

    @property
    def days(self) -> str:
        return f"{self.key}_days"

    def of(self, row: str) -> str:
        return self.value.replace("{row}", row)


SCOPES = (Scope("host", HOST_SQL), Scope("source", "{row}.source"))
_STATS_COLUMNS = (
    "attempts, failures, consecutive_failures, last_fetch_at, last_success_at,"
    " last_failure_at, last_status, last_error"
)


def _create(scope: Scope) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {scope.stats} ({scope.key} TEXT PRIMARY KEY,"
        " attempts INTEGER NOT NULL, failures INTEGER NOT NULL,"
        " consecutive_failures INTEGER NOT NULL, last_fetch_at TEXT, last_success_at TEXT,"
        " last_failure_at TEXT, last_status INTEGER, last_error TEXT) WITHOUT ROWID",
        # The failure pages start from the keys that failed lately.
        f"CREATE INDEX IF NOT EXISTS {scope.stats}_last_failure_at"
        f" ON {scope.stats} (last_failure_at)",
        f"CREATE TABLE IF NOT EXISTS {scope.days} ({scope.key} TEXT NOT NULL,"
        " day TEXT NOT NULL, attempts INTEGER NOT NULL, failures INTEGER NOT NULL,"
        f" PRIMARY KEY ({scope.key}, day)) WITHOUT ROWID",
    ]


def _count(scope: Scope) -> str:
    """Trigger statements adding the new fetch to its key's two rows."""
    key, failed = scope.of("new"), f"(new.outcome IN {FAILED})"
    if_failed = f"CASE WHEN {failed} THEN new.{{}} END"
    return (
        f"INSERT INTO {scope.stats} ({scope.key}, {_STATS_COLUMNS})"
        f" SELECT {key}, 1, {failed}, {failed}, new.started_at,"
        f" CASE WHEN {failed} THEN NULL ELSE new.started_at END,"
        f" {if_failed.format('started_at')}, {if_failed.format('status')},"
        f" {if_failed.format('error')} WHERE {key} IS NOT NULL"
        f" ON CONFLICT ({scope.key}) DO UPDATE SET attempts = attempts + 1,"
        " failures = failures + excluded.failures,"
        " consecutive_failures = CASE WHEN excluded.failures THEN consecutive_failures + 1"
        " ELSE 0 END, last_fetch_at = excluded.last_fetch_at,"
        " last_success_at = coalesce(excluded.last_success_at, last_success_at),"
        " last_failure_at = CASE WHEN excluded.failures THEN excluded.last_failure_at"
        " ELSE last_failure_at END,"
        " last_status = CASE WHEN excluded.failures THEN excluded.last_status ELSE last_status END,"
        " last_error = CASE WHEN excluded.failures THEN excluded.last_error ELSE last_error END;"
        f" INSERT INTO {scope.days} ({scope.key}, day, attempts, failures)"
        f" SELECT {key}, substr(new.started_at, 1, 10), 1, {failed} WHERE {key} IS NOT NULL"
        f" ON CONFLICT ({scope.key}, day) DO UPDATE SET attempts = attempts + 1,"
        " failures = failures + excluded.failures;"
    )


TRIGGER = SqlObject(
    "trigger",
    "fetch_stats_after_insert",
    "CREATE TRIGGER fetch_stats_after_insert AFTER INSERT ON fetches BEGIN "
    + " ".join(_count(scope) for scope in SCOPES)
    + " END",
)


def fill(conn: sqlite3.Connection) -> None:
    """Compute the four tables from ``fetches`` (the migration, and bulk loads): per scope,
    three passes over the fetches (the days, each key's totals and last ids, the failures
    after its last success)."""
    for scope in SCOPES:
        rows = (
            f"SELECT {scope.of('r')} AS key, r.outcome IN {FAILED} AS failed, r.id,"
            " r.started_at FROM fetches r"
        )
        conn.execute(f"DELETE FROM {scope.days}")
        conn.execute(f"DELETE FROM {scope.stats}")
        conn.execute(
            f"INSERT INTO {scope.days} ({scope.key}, day, attempts, failures)"
            f" SELECT key, substr(started_at, 1, 10), count(*), sum(failed) FROM ({rows})"
            " WHERE key IS NOT NULL GROUP BY 1, 2"
        )
        conn.execute("DROP TABLE IF EXISTS temp.fetch_stats_fill")
        conn.execute(
            "CREATE TEMP TABLE fetch_stats_fill AS SELECT key, count(*) AS attempts,"
            " sum(failed) AS failures, max(id) AS last_id,"
            " max(CASE WHEN failed THEN NULL ELSE id END) AS success_id,"
            f" max(CASE WHEN failed THEN id END) AS failure_id FROM ({rows})"
            " WHERE key IS NOT NULL GROUP BY key"
        )
        conn.execute("CREATE UNIQUE INDEX temp.fetch_stats_fill_key ON fetch_stats_fill (key)")
        conn.execute(
            f"INSERT INTO {scope.stats} ({scope.key}, {_STATS_COLUMNS})"
            " SELECT s.key, s.attempts, s.failures, coalesce(c.count, 0), last.started_at,"
            " success.started_at, failure.started_at, failure.status, failure.error"
            " FROM fetch_stats_fill s JOIN fetches last ON last.id = s.last_id"
            " LEFT JOIN fetches success ON success.id = s.success_id"
            " LEFT JOIN fetches failure ON failure.id = s.failure_id"
            f" LEFT JOIN (SELECT r.key, count(*) AS count FROM ({rows}) r"
            " JOIN fetch_stats_fill f ON f.key = r.key"
            " WHERE r.failed AND r.id > coalesce(f.success_id, 0) GROUP BY r.key) c"
            " ON c.key = s.key"
        )
        conn.execute("DROP TABLE temp.fetch_stats_fill")


def migrate(conn: sqlite3.Connection) -> None:
    """Schema 7: create and fill the tables for an archive written before them."""
    for scope in SCOPES:
        for statement in _create(scope):
            conn.execute(statement)
    fill(conn)


def install(conn: sqlite3.Connection) -> None:
    """The tables and their trigger (idempotent, no commit)."""
    for scope in SCOPES:
        for statement in _create(scope):
            conn.execute(statement)
    ddl.install(conn, TRIGGER)
