"""``article_tags`` (tag, article_id): each tag of each article's latest version, indexed.

A tag chosen from latest_articles' tags facet (``tags__arraycontains=X``) is, in
Datasette, a ``json_each`` of every article's tags: 6.9 s a page at a million articles.
The archive keeps the pairs instead, by triggers on ``latest_versions`` (whose tags the
page shows) in the transaction that changes its row, with the tag first in the key, so an
article with a tag is an index range; the Datasette plugin (``indexed_tags``) turns the
filter into ``article_id IN`` that range.
"""

from __future__ import annotations

import sqlite3

from archive import ddl
from archive.ddl import SqlObject

TABLE = "article_tags"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (tag NOT NULL, article_id INTEGER NOT NULL,"
    " PRIMARY KEY (tag, article_id)) WITHOUT ROWID"
)
# The distinct tags of a latest_versions row (as facet_counts' array facet reads them).
_TAGS = (
    "SELECT DISTINCT value FROM json_each(CASE WHEN json_valid({row}.tags) THEN {row}.tags"
    " ELSE '[]' END) WHERE value IS NOT NULL"
)


def _add(row: str) -> str:
    return (
        f"INSERT OR IGNORE INTO {TABLE} (tag, article_id)"
        f" SELECT value, {row}.article_id FROM ({_TAGS.format(row=row)});"
    )


def _remove(row: str) -> str:
    return (
        f"DELETE FROM {TABLE} WHERE article_id = {row}.article_id"
        f" AND tag IN ({_TAGS.format(row=row)});"
    )


def _triggers() -> tuple[SqlObject, ...]:
    changed = "old.tags IS NOT new.tags OR old.article_id IS NOT new.article_id"
    bodies = {
        "insert": ("INSERT", _add("new")),
        "delete": ("DELETE", _remove("old")),
        "update": ("UPDATE OF tags, article_id", f"{_remove('old')} {_add('new')}"),
    }
    triggers = []
    for event, (on, body) in bodies.items():
        name = f"{TABLE}_{event}"
        when = f" WHEN {changed}" if event == "update" else ""
        triggers.append(
            SqlObject(
                "trigger",
                name,
                f"CREATE TRIGGER {name} AFTER {on} ON latest_versions{when} BEGIN {body} END",
            )
        )
    return tuple(triggers)


def fill(conn: sqlite3.Connection) -> None:
    """Every article's tags from latest_versions (the migration, and bulk loads)."""
    conn.execute(f"DELETE FROM {TABLE}")
    conn.execute(
        f"INSERT OR IGNORE INTO {TABLE} (tag, article_id) SELECT j.value, l.article_id"
        " FROM latest_versions l, json_each(CASE WHEN json_valid(l.tags) THEN l.tags"
        " ELSE '[]' END) j WHERE j.value IS NOT NULL"
    )


def migrate(conn: sqlite3.Connection) -> None:
    """Schema 11: the tags of an archive written before them."""
    conn.execute(CREATE)
    fill(conn)


def install(conn: sqlite3.Connection) -> None:
    conn.execute(CREATE)
    for trigger in _triggers():
        ddl.install(conn, trigger)
