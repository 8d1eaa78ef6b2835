"""latest_versions and facet_counts, kept by triggers, equal what the migration computes.

The writer keeps each article's latest readable version and the pages' facet counts in
the transaction of each version; schema 6 fills both for an archive written before them.
Both paths must give the same rows, and an archive migrated from schema 5 must show the
same latest_articles, facets and search results as one written by today's program.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from archive_helpers import FakeClock, page, read_queries, story

from archive import facet_counts, latest, schema
from archive.store import Archive
from contract.model import Outcome

READS = {
    "latest": "SELECT * FROM latest_versions ORDER BY article_id",
    "counts": "SELECT * FROM facet_counts ORDER BY page, facet, value",
    "page": "SELECT * FROM latest_articles ORDER BY article_id DESC",
    "search": "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'harbour' ORDER BY rowid",
    "changes": "SELECT * FROM recent_changes ORDER BY captured_at DESC",
}


def _history(path: Path) -> None:
    """New, edited, gone and back articles over three sources, with tags and languages."""
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        for i in range(6):
            url = f"https://news.example/a/{i}"
            first = dataclasses.replace(
                story(f"Story {i} about the harbour." if i % 2 else f"Story {i}.", tags=("a", "b")),
                language="en" if i % 3 else "de",
                section="world",
            )
            archive.record(page(url, clock, f"<p>{i}</p>".encode(), source=f"s{i % 3}"), first)
            clock.advance(60)
            if i % 2 == 0:  # edited: new text, one tag less
                edited = dataclasses.replace(first, paragraphs=(f"Story {i}, harbour edit.",),
                                             tags=("a",))  # fmt: skip
                archive.record(page(url, clock, b"<p>edit</p>", source=f"s{i % 3}"), edited)
                clock.advance(60)
            if i in (3, 4):  # gone; 4 comes back
                archive.record(page(url, clock, None, status=410, hint=Outcome.GONE), None)
                clock.advance(60)
            if i == 4:
                back = dataclasses.replace(first, paragraphs=("Back again.",), tags=("c",))
                archive.record(page(url, clock, b"<p>back</p>", source="s1"), back)
        archive.commit()


def test_the_triggers_keep_what_the_migration_computes(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _history(path)
    kept = read_queries(path, READS)
    assert len(kept["latest"]) == 6
    shown = {str(row[2]).rsplit("/", 1)[1]: row for row in kept["page"]}
    assert (shown["4"][-1], shown["4"][11]) == ("Back again.", "live"), "it came back"
    assert (shown["3"][-1], shown["3"][11]) == ("Story 3 about the harbour.", "gone")
    conn = sqlite3.connect(path)
    with conn:
        latest.fill(conn)
        facet_counts.fill(conn)
    conn.close()
    assert read_queries(path, READS) == kept
    counts = {(p, f, v): c for p, f, v, c in kept["counts"]}
    assert counts[("latest_articles", "tags", "a")] == 5  # article 4 now has only "c"
    assert counts[("latest_articles", "tags", "c")] == 1
    assert counts[("recent_changes", "change", "disappeared")] == 2
    assert counts[("articles", "state", "gone")] == 1


def test_an_archive_of_schema_5_is_migrated_to_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _history(path)
    expected = read_queries(path, READS)
    # Back to what a schema-5 program left: no latest_versions, no counts, no new indexes.
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'latest_%'"
        " OR name LIKE 'facet_counts_%' OR name LIKE 'articles_search_%')"
    ).fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    for name in ("latest_articles", "recent_changes", "articles_search"):
        conn.execute(f"DROP VIEW {name}")
    conn.execute("DROP TABLE articles_fts")
    conn.execute("DROP TABLE latest_versions")
    conn.execute("DROP TABLE facet_counts")
    conn.execute("DROP INDEX articles_first_seen")
    conn.execute("DROP INDEX versions_changes")
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    with Archive.open(path, FakeClock()):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    conn.close()
    assert read_queries(path, READS) == expected
