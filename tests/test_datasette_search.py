"""The search indexes and views on a real SQLite file: installed once, kept in sync, upgradable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import datasette_archive as known
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import schema, search, views


@pytest.fixture
def archive(tmp_path: Path) -> known.KnownArchive:
    return known.build(tmp_path / "news.db")


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def matches(conn: sqlite3.Connection, index: str, words: str) -> list[int]:
    query = f"SELECT rowid FROM {index} WHERE {index} MATCH ? ORDER BY rowid"
    return [row[0] for row in conn.execute(query, (words,))]


def integrity(conn: sqlite3.Connection) -> None:
    for index in ("versions_fts", "articles_fts"):
        # Raises "database disk image is malformed" when the index and its content disagree.
        conn.execute(f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)")


def schema_objects(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_the_archive_written_by_the_store_has_consistent_indexes(
    archive: known.KnownArchive,
) -> None:
    conn = connect(archive.path)
    integrity(conn)
    assert matches(conn, "articles_fts", "nguoi") == [archive.vietnamese_id]
    assert matches(conn, "articles_fts", '"dong bang"') == [archive.vietnamese_id]
    # A gone article stays findable by its last readable text.
    assert matches(conn, "articles_fts", "publisher") == [archive.gone_id]


def test_installing_again_changes_nothing(archive: known.KnownArchive) -> None:
    conn = connect(archive.path)
    before = schema_objects(conn)
    conn.execute("BEGIN IMMEDIATE")
    schema.ensure(conn)
    conn.execute("COMMIT")
    assert schema_objects(conn) == before


def test_an_archive_from_before_search_existed_is_indexed_on_install(
    archive: known.KnownArchive,
) -> None:
    conn = connect(archive.path)
    for trigger in search.TRIGGERS:
        conn.execute(f"DROP TRIGGER {trigger.name}")
    for name in ("versions_fts", "articles_fts", "versions_search", "articles_search"):
        kind = "VIEW" if name.endswith("_search") else "TABLE"
        conn.execute(f"DROP {kind} {name}")
    conn.execute("BEGIN IMMEDIATE")
    search.install(conn)
    conn.execute("COMMIT")
    integrity(conn)
    assert matches(conn, "articles_fts", "mueller") == [archive.german_id]
    assert len(matches(conn, "versions_fts", "koalition")) == 2


def test_an_outdated_view_is_replaced(archive: known.KnownArchive) -> None:
    conn = connect(archive.path)
    conn.execute("DROP VIEW recent_changes")
    conn.execute("CREATE VIEW recent_changes AS SELECT 1 AS old")
    views.install(conn)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(recent_changes)")]
    assert "summary" in columns and "old" not in columns


def test_updates_and_deletes_of_versions_keep_the_indexes_in_sync(
    archive: known.KnownArchive,
) -> None:
    conn = connect(archive.path)
    conn.execute(
        "UPDATE versions SET text = 'Ganz neuer Text über Brücken' WHERE article_id = ? AND"
        " version = 2",
        (archive.german_id,),
    )
    integrity(conn)
    assert matches(conn, "articles_fts", "bruecken") == [archive.german_id]
    assert matches(conn, "articles_fts", "Donnerstag") == []
    conn.execute("DELETE FROM versions WHERE article_id = ? AND version = 2", (archive.german_id,))
    integrity(conn)
    # The article's latest readable version is version 1 again.
    assert matches(conn, "articles_fts", "Mittwoch") == [archive.german_id]
    assert matches(conn, "versions_fts", "bruecken") == []


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Đà Nẵng đón khách", "da nang"),
        ("Đà Nẵng đón khách", "đà nẵng"),
        ("Hội đồng nhân dân", "hoi dong"),
        ("Grüße aus Köln", "gruesse koeln"),
        ("Grüße aus Köln", "grusse koln"),
        ("Grüße aus Köln", "GRÜSSE"),
        ("Weihnachtsmarkt in Noël", "noel"),
        ("café crème", "cafe creme"),
    ],
)
def test_folding_finds_text_however_it_is_typed(stored: str, typed: str) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("BEGIN")
    schema.ensure(conn)
    conn.execute("INSERT INTO articles (id, url, first_seen) VALUES (1, 'u', 't')")
    conn.execute(
        "INSERT INTO versions (article_id, version, captured_at, state, url, text)"
        " VALUES (1, 1, 't', 'live', 'u', ?)",
        (stored,),
    )
    conn.execute("COMMIT")
    query = " ".join(f'"{word}"' for word in typed.split())
    assert matches(conn, "articles_fts", query) == [1], (stored, typed)


_words = st.text(
    alphabet=st.sampled_from(list("aäbcdđeêfghiklmnoöpqrsßtuüvyư ")), min_size=1, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(history=st.lists(st.tuples(st.integers(1, 3), _words), min_size=1, max_size=12))
def test_any_sequence_of_new_versions_leaves_the_indexes_consistent(
    history: list[tuple[int, str]],
) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("BEGIN")
    schema.ensure(conn)
    versions: dict[int, int] = {}
    for article_id, text in history:
        if article_id not in versions:
            conn.execute(
                "INSERT INTO articles (id, url, first_seen) VALUES (?, ?, 't')",
                (article_id, f"u{article_id}"),
            )
        versions[article_id] = versions.get(article_id, 0) + 1
        state = "gone" if text.startswith("ß") else "live"
        conn.execute(
            "INSERT INTO versions (article_id, version, captured_at, state, url, text)"
            " VALUES (?, ?, 't', ?, 'u', ?)",
            (article_id, versions[article_id], state, None if state == "gone" else text),
        )
    conn.execute("COMMIT")
    integrity(conn)
    indexed = sorted(row[0] for row in conn.execute("SELECT rowid FROM articles_fts_docsize"))
    readable = sorted(
        row[0]
        for row in conn.execute("SELECT DISTINCT article_id FROM versions WHERE state != 'gone'")
    )
    assert indexed == readable
