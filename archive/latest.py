"""``latest_versions``: each article's latest readable version, kept beside its history.

The pages a reader opens first (``latest_articles``, its facets, its search) want one row
per article with the current text. Finding "the newest version that is not a gone
marker" for every article on every read cost 2 s a page at 100,000 articles, so the
archive keeps that row instead: one row per article that has a readable version, with
the same content columns as ``versions`` (generated from the article's declaration by
``archive.columns``), the version it was copied from, and the article's source (fixed
when the article is created, and the facet readers use most).

Triggers on ``versions`` keep it, in the transaction of the version's insert, whichever
path writes it (the daemon, ``scraper reparse`` never touches versions): a readable
version newer than the row replaces it; a "gone" marker leaves it (the reader still
sees the last text, with the article's state); an update or delete of a version, which
the program never does, recomputes the article's row from its versions.
"""

from __future__ import annotations

import sqlite3

from archive import columns, ddl
from archive.ddl import SqlObject

TABLE = "latest_versions"
# The table's own columns, before the article's content columns.
KEYS = ("article_id", "source", "version_id", "version", "captured_at")
# Readers filter and facet on these (latest_articles' facets, and its source filter).
INDEXED = ("source", "site_name", "language", "section")


def create_sql() -> str:
    content = ", ".join(f"{f.column} {columns.sql_type(f)}" for f in columns.CONTENT)
    return (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (article_id INTEGER PRIMARY KEY REFERENCES"
        " articles (id), source TEXT, version_id INTEGER NOT NULL REFERENCES versions (id),"
        f" version INTEGER NOT NULL, captured_at TEXT NOT NULL, {content})"
    )


def _index_sql() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {TABLE}_{c} ON {TABLE} ({c})" for c in INDEXED]


def _names() -> str:
    return ", ".join((*KEYS, *columns.CONTENT_COLUMNS))


def _select_from_versions(present: tuple[str, ...] = columns.CONTENT_COLUMNS) -> str:
    """SELECT of latest_versions' columns from versions ``v`` joined to articles ``a``."""
    content = ", ".join(f"v.{c}" if c in present else "NULL" for c in columns.CONTENT_COLUMNS)
    return (
        f"SELECT v.article_id, a.source, v.id, v.version, v.captured_at, {content}"
        " FROM versions v JOIN articles a ON a.id = v.article_id"
    )


def _refresh(article: str) -> str:
    """Statements that recompute one article's row from its versions (``article``: SQL)."""
    return (
        f"DELETE FROM {TABLE} WHERE article_id = {article}; "
        f"INSERT INTO {TABLE} ({_names()}) {_select_from_versions()}"
        f" WHERE v.article_id = {article} AND v.state != 'gone' ORDER BY v.version DESC LIMIT 1;"
    )


# The columns of versions a row is computed from: an update of another one (versions.source,
# set by archive.change_source) leaves the row as it is.
_READ_FROM_VERSIONS = (
    "id",
    "article_id",
    "version",
    "state",
    "captured_at",
    *columns.CONTENT_COLUMNS,
)


def _triggers() -> tuple[SqlObject, ...]:
    new_values = ", ".join(
        (
            "new.article_id",
            "(SELECT source FROM articles WHERE id = new.article_id)",
            "new.id",
            "new.version",
            "new.captured_at",
            *(f"new.{c}" for c in columns.CONTENT_COLUMNS),
        )
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in KEYS[1:] + columns.CONTENT_COLUMNS)
    return (
        SqlObject(
            "trigger",
            "latest_versions_after_insert",
            "CREATE TRIGGER latest_versions_after_insert AFTER INSERT ON versions"
            f" WHEN new.state != 'gone' BEGIN INSERT INTO {TABLE} ({_names()})"
            f" VALUES ({new_values}) ON CONFLICT (article_id) DO UPDATE SET {updates}"
            f" WHERE excluded.version >= {TABLE}.version; END",
        ),
        SqlObject(
            "trigger",
            "latest_versions_after_update",
            "CREATE TRIGGER latest_versions_after_update AFTER UPDATE OF"
            f" {', '.join(_READ_FROM_VERSIONS)} ON versions BEGIN "
            f"{_refresh('old.article_id')} {_refresh('new.article_id')} END",
        ),
        SqlObject(
            "trigger",
            "latest_versions_after_delete",
            "CREATE TRIGGER latest_versions_after_delete AFTER DELETE ON versions BEGIN "
            f"{_refresh('old.article_id')} END",
        ),
    )


def fill(conn: sqlite3.Connection) -> None:
    """Compute every article's row from ``versions`` (the migration, and bulk loads).

    One pass over the versions: the latest readable version number per article from the
    (article_id, version) index, then one lookup per article.
    """
    present = {row[1] for row in conn.execute("PRAGMA table_info(versions)")}
    have = tuple(c for c in columns.CONTENT_COLUMNS if c in present)
    conn.execute(f"DELETE FROM {TABLE}")
    conn.execute(
        f"INSERT INTO {TABLE} ({_names()}) {_select_from_versions(have)}"
        " JOIN (SELECT article_id, max(version) AS version FROM versions WHERE state != 'gone'"
        " GROUP BY article_id) m ON m.article_id = v.article_id AND m.version = v.version"
        " ORDER BY v.article_id"
    )


def migrate(conn: sqlite3.Connection) -> None:
    """Schema 6: create and fill the table for an archive written before it."""
    conn.execute(create_sql())
    fill(conn)


def install(conn: sqlite3.Connection) -> None:
    """The table's indexes and triggers, current with the declared columns (idempotent)."""
    conn.execute(create_sql())
    for statement in _index_sql():
        conn.execute(statement)
    for trigger in _triggers():
        ddl.install(conn, trigger)
