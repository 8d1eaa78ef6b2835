"""article_tags, kept by triggers, holds each tag of each article's latest version.

The tag filter of latest_articles reads it (archive.article_tags): after any insert,
update or delete of a version it must equal the tags latest_articles shows, and an archive
written before it (schema 10) must be migrated to the same rows.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from archive_helpers import FakeClock, page, read_queries, story

from archive import article_tags, schema
from archive.store import Archive
from contract.model import Outcome

KEPT = {"tags": "SELECT tag, article_id FROM article_tags ORDER BY tag, article_id"}
# What latest_articles shows: each article's distinct tags.
SHOWN = (
    "SELECT DISTINCT j.value, a.article_id FROM latest_articles a, json_each(a.tags) j"
    " ORDER BY j.value, a.article_id"
)


def _history(path: Path) -> None:
    """Articles with tags, edited to other tags, gone (tags kept), back with new ones."""
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        for i in range(6):
            url = f"https://news.example/a/{i}"
            first = story(f"Story {i}.", tags=("a", "b") if i % 2 else ("a", "a", "z"))
            archive.record(page(url, clock, f"<p>{i}</p>".encode()), first)
            clock.advance(60)
            if i % 2 == 0:
                edited = dataclasses.replace(first, paragraphs=(f"Edit {i}.",), tags=("b",))
                archive.record(page(url, clock, b"<p>edit</p>"), edited)
                clock.advance(60)
            if i in (3, 4):
                archive.record(page(url, clock, None, status=410, hint=Outcome.GONE), None)
                clock.advance(60)
            if i == 4:
                back = dataclasses.replace(first, paragraphs=("Back.",), tags=("c", "a"))
                archive.record(page(url, clock, b"<p>back</p>"), back)
        archive.commit()


def _kept_and_shown(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(KEPT["tags"]).fetchall(), conn.execute(SHOWN).fetchall()
    finally:
        conn.close()


def test_the_triggers_keep_the_tags_latest_articles_shows(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _history(path)
    kept, shown = _kept_and_shown(path)
    assert kept == shown
    assert ("z", 1) not in kept and ("b", 1) in kept, "an edit moves the article's tags"
    assert ("c", 5) in kept and ("b", 5) not in kept, "a return brings its own tags"
    assert ("a", 4) in kept, "a gone article keeps its last tags, as the page shows them"
    conn = sqlite3.connect(path)
    with conn:  # changes the program never makes, but the triggers must follow
        conn.execute(
            'UPDATE versions SET tags = \'["x", "y"]\' WHERE article_id = 2 AND version = 1'
        )
        conn.execute("UPDATE latest_versions SET tags = '[\"q\"]' WHERE article_id = 6")
        conn.execute("DELETE FROM versions WHERE article_id = 3 AND version = 2")
        conn.execute("DELETE FROM latest_versions WHERE article_id = 1")
    conn.close()
    kept, shown = _kept_and_shown(path)
    assert kept == shown
    assert [t for t, a in kept if a == 6] == ["q"] and not [t for t, a in kept if a == 1]
    conn = sqlite3.connect(path)
    with conn:
        article_tags.fill(conn)
    conn.close()
    assert _kept_and_shown(path)[0] == kept


def test_an_archive_of_schema_10_is_migrated_to_the_same_tags(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _history(path)
    expected = read_queries(path, KEPT)
    assert expected["tags"]
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'article_tags_%'"
    ).fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.execute("DROP TABLE article_tags")
    conn.execute("PRAGMA user_version = 10")
    conn.close()
    with Archive.open(path, FakeClock()):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    conn.close()
    assert read_queries(path, KEPT) == expected
