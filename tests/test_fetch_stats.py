"""Fetch tallies per host and source, kept by the writer, equal what the migration computes,
and the failure views show from them what a reader expects.

The history is written through ``Archive.record`` over ten days up to today (the views
count the last seven UTC days from the real clock): a host that always works, one that
failed nine days ago and twice today, one that never worked (upper case and a port in its
URL), a source whose feed was refused by robots.txt.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive_helpers import FakeClock, page, read_queries, story

from archive import fetch_stats, schema
from archive.store import Archive, SourceInfo
from contract.model import Outcome

READS = {
    "host_stats": "SELECT * FROM host_stats ORDER BY host",
    "host_days": "SELECT * FROM host_days ORDER BY host, day",
    "source_stats": "SELECT * FROM source_stats ORDER BY source",
    "source_days": "SELECT * FROM source_days ORDER BY source, day",
    "failing_hosts": "SELECT * FROM failing_hosts",
    "failing_sources": "SELECT * FROM failing_sources",
}


def _history(path: Path) -> None:
    clock = FakeClock(current=datetime.now(UTC) - timedelta(days=10))
    with Archive.open(path, clock) as archive:
        archive.sync_sources(
            SourceInfo(name, f"https://{name}.example/feed.xml", "feed", "every 1h")
            for name in ("ok", "flaky", "down")
        )

        def fetch(url: str, source: str, failed: bool = False, status: int = 200) -> None:
            if failed:
                archive.record(
                    page(url, clock, None, status=status, hint=Outcome.FAILED, source=source),
                    None,
                )
            else:
                archive.record(page(url, clock, url.encode(), source=source), story(url))
            clock.advance(60)

        fetch("https://ok.example/a/1", "ok")
        fetch("https://flaky.example/a/1", "flaky", failed=True, status=500)  # 9+ days ago
        fetch("https://flaky.example/a/2", "flaky")
        clock.current = datetime.now(UTC) - timedelta(days=3)
        fetch("https://ok.example/a/2", "ok")
        fetch("https://flaky.example/a/3", "flaky")
        robots = page("https://flaky.example/feed.xml", clock, None, hint=Outcome.REJECTED,
                      source="flaky")  # fmt: skip
        archive.record(replace(robots, error="robots.txt disallows it", status=None), None)
        clock.advance(60)
        fetch("https://flaky.example/a/3", "flaky")
        clock.current = datetime.now(UTC) - timedelta(minutes=30)
        for i in range(3):
            fetch(f"https://Down.Example:8080/a/{i}", "down", failed=True, status=503)
        fetch("https://flaky.example/a/4", "flaky", failed=True, status=502)
        fetch("https://flaky.example/a/1", "flaky", failed=True, status=504)
        fetch("https://ok.example/a/3", "ok")
        archive.commit()


def test_the_failure_views_read_the_tallies_kept_with_each_fetch(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _history(path)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    hosts = [dict(row) for row in conn.execute("SELECT * FROM failing_hosts")]
    sources = {row["source"]: dict(row) for row in conn.execute("SELECT * FROM source_stats")}
    conn.close()
    # Most failures of the last seven days first; the one nine days ago is not counted.
    assert [(h["host"], h["failures_7d"], h["attempts_7d"]) for h in hosts] == [
        ("down.example:8080", 3, 3),
        ("flaky.example", 3, 5),
    ]
    down, flaky = hosts
    assert (down["consecutive_failures"], down["last_status"], down["last_success_at"]) == (
        3, 503, None
    )  # fmt: skip
    assert (flaky["consecutive_failures"], flaky["last_status"], flaky["failure_percent"]) == (
        2, 504, 60.0
    )  # fmt: skip
    success, failure = flaky["last_success_at"], flaky["last_failure_at"]
    assert success is not None and success < failure
    # Every fetch counted once, per source too: the robots.txt refusal is a failure.
    assert (sources["flaky"]["attempts"], sources["flaky"]["failures"]) == (7, 4)
    assert (sources["ok"]["attempts"], sources["ok"]["failures"]) == (3, 0)


def test_the_trigger_keeps_what_the_migration_computes(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _history(path)
    kept = read_queries(path, READS)
    assert len(kept["host_stats"]) == 3
    assert [(row[0], row[6], row[8]) for row in kept["failing_sources"]] == [
        ("down", 3, 3), ("flaky", 3, 2)
    ]  # fmt: skip
    conn = sqlite3.connect(path)
    with conn:
        fetch_stats.fill(conn)
    conn.close()
    assert read_queries(path, READS) == kept


def test_an_archive_of_schema_6_is_migrated_to_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _history(path)
    expected = read_queries(path, READS)
    # Back to what a schema-6 program left: no tallies, no trigger, no change index.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER fetch_stats_after_insert")
    for view in ("failing_hosts", "failing_sources"):
        conn.execute(f"DROP VIEW {view}")
    for table in ("host_stats", "host_days", "source_stats", "source_days"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP INDEX versions_change")
    conn.execute("PRAGMA user_version = 6")
    conn.close()
    with Archive.open(path, FakeClock()):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert "versions_change" in indexes
    assert read_queries(path, READS) == expected
