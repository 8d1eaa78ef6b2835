"""A cluster's result is recorded once, by its fetch id, even when delivered twice; and a
schema-7 archive gains the table without losing a row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from archive_helpers import FakeClock, page, read_queries, story

from archive import schema
from archive.store import Archive

URL = "https://news.example/a/1"
READS = {
    "versions": "SELECT article_id, version, title, text FROM versions ORDER BY id",
    "fetches": "SELECT url, outcome, version FROM fetches ORDER BY id",
}


def deliver(archive: Archive, fetch_id: str, clock: FakeClock, text: str) -> bool:
    """What the archiver does with one delivery: record it unless received already."""
    if archive.received(fetch_id):
        return False
    archive.record(page(URL, clock, text.encode()), story(text))
    archive.note_received(fetch_id)
    archive.commit()
    return True


def test_a_result_delivered_twice_is_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        assert deliver(archive, "f-1", clock, "First text.")
        clock.advance(60)
        assert deliver(archive, "f-2", clock, "Second text.")
    # Reopened (an archiver restarted after a crash): the queue hands f-2 over again.
    with Archive.open(path, clock) as archive:
        clock.advance(60)
        assert not deliver(archive, "f-2", clock, "Second text.")
    kept = read_queries(path, READS)
    assert [(row[1], row[3]) for row in kept["versions"]] == [
        (1, "First text."), (2, "Second text.")
    ]  # fmt: skip
    assert [row[1] for row in kept["fetches"]] == ["new", "changed"]


def test_an_archive_of_schema_7_is_migrated_to_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        deliver(archive, "f-1", clock, "First text.")
    expected = read_queries(path, READS)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE received")  # what a schema-7 program left
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with Archive.open(path, clock) as archive:
        assert not archive.received("f-1")
        assert deliver(archive, "f-2", clock, "Second text.")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    conn.close()
    assert read_queries(path, READS)["versions"][:1] == expected["versions"]
