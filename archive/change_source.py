"""``versions.source``: the article's source on each version, so recent_changes filters by it.

``recent_changes?source=NAME`` (and the Atom feed's ``?source=``) once read the source of
every change through the article (a subquery per row): a scan of every change, 0.5 s at a
million articles. The source is copied onto the version instead, by a trigger in the
version's own transaction (whichever path writes it; an article's source is fixed when
the article is created), and the changes are indexed by (source, captured_at), so a
source's page is an index range in the page's order that stops at the page.

The trigger sets the column with an UPDATE of the row just inserted: the triggers that
follow other columns of versions (``archive.latest``, ``archive.facet_counts``,
``archive.search``) name their columns, so this one sets off none of them.
"""

from __future__ import annotations

import sqlite3

from archive import ddl
from archive.ddl import SqlObject
from archive.facet_counts import IS_CHANGE

TRIGGER = SqlObject(
    "trigger",
    "versions_source_after_insert",
    "CREATE TRIGGER versions_source_after_insert AFTER INSERT ON versions"
    " WHEN new.source IS NULL BEGIN UPDATE versions SET source ="
    " (SELECT source FROM articles WHERE id = new.article_id) WHERE id = new.id; END",
)
# The changes (recent_changes' rows) of one source, newest first.
INDEX = (
    "CREATE INDEX IF NOT EXISTS versions_source_changes ON versions (source, captured_at)"
    f" WHERE {IS_CHANGE.replace('{row}.', '')}"
)
# Update triggers of an older program that followed every column: filling the new column
# would have recomputed every article's latest row. install() of their modules puts back
# the ones that name their columns.
_EVERY_COLUMN = ("latest_versions_after_update", "facet_counts_versions_update")


def migrate(conn: sqlite3.Connection) -> None:
    """The column (unless a newer program made it), filled from the articles, and its index."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(versions)")}
    if "source" not in present:
        conn.execute("ALTER TABLE versions ADD COLUMN source TEXT")
    for name in _EVERY_COLUMN:
        ddl.drop(conn, SqlObject("trigger", name, ""))
    conn.execute(
        "UPDATE versions SET source = (SELECT a.source FROM articles a WHERE a.id ="
        " versions.article_id) WHERE source IS NULL"
    )
    conn.execute(INDEX)


def install(conn: sqlite3.Connection) -> None:
    ddl.install(conn, TRIGGER)
