"""versions.source: each version carries its article's source, set by a trigger whatever
writes the version, and an archive of schema 8 gets the same column from its migration;
recent_changes filtered by source shows that source's changes, newest first."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import datasette_archive as known
from archive_helpers import FakeClock, read_queries

from archive import schema
from archive.store import Archive

READS = {
    "sources": "SELECT v.id, v.source, a.source FROM versions v JOIN articles a"
    " ON a.id = v.article_id ORDER BY v.id",
    "changes": "SELECT * FROM recent_changes ORDER BY captured_at DESC, version",
    "by source": "SELECT source, captured_at, article_id, version FROM recent_changes"
    " WHERE source = 'zeitung' OR source = 'blog' ORDER BY source, captured_at DESC",
    "latest": "SELECT * FROM latest_versions ORDER BY article_id",
    "counts": "SELECT * FROM facet_counts ORDER BY page, facet, value",
}


def test_every_version_carries_its_articles_source(tmp_path: Path) -> None:
    archive = known.build(tmp_path / "news.db")
    rows = read_queries(archive.path, READS)
    assert rows["sources"] and all(copied == own for _, copied, own in rows["sources"])
    # The German edit and the two edits of the scripted post, newest first per source.
    assert [(r[0], r[3]) for r in rows["by source"]] == [
        ("blog", 3), ("blog", 2), ("zeitung", 2)
    ]  # fmt: skip


def test_an_archive_of_schema_8_is_migrated_to_the_same_rows(tmp_path: Path) -> None:
    archive = known.build(tmp_path / "news.db")
    expected = read_queries(archive.path, READS)
    # Back to what a schema-8 program left: no column, no index, no trigger; the update
    # triggers that followed every column.
    conn = sqlite3.connect(archive.path, isolation_level=None)
    for index in (
        "versions_source_changes",
        "fetches_failures",
        "articles_changes",
        "articles_gone",
        "versions_gone",
    ):
        conn.execute(f"DROP INDEX {index}")
    conn.execute("DROP TRIGGER versions_source_after_insert")
    conn.execute("DROP VIEW recent_changes")
    conn.execute("ALTER TABLE versions DROP COLUMN source")
    for name in ("latest_versions_after_update", "facet_counts_versions_update"):
        stored = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
        conn.execute(f"DROP TRIGGER {name}")
        conn.execute(
            re.sub(r"AFTER UPDATE OF .*? ON versions", "AFTER UPDATE ON versions", stored[0])
        )
    conn.execute("PRAGMA user_version = 8")
    conn.close()
    with Archive.open(archive.path, FakeClock()):
        pass
    conn = sqlite3.connect(archive.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    updates = [
        row[0]
        for row in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'versions'"
            " AND sql LIKE '%AFTER UPDATE%'"
        )
    ]
    conn.close()
    assert {
        "versions_source_changes", "fetches_failures", "articles_changes", "articles_gone",
        "versions_gone", "versions_source_after_insert",
    } <= names  # fmt: skip
    assert all("AFTER UPDATE OF" in sql for sql in updates), updates
    assert read_queries(archive.path, READS) == expected
