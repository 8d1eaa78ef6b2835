"""Facet counts kept by triggers, so an unfiltered page's facets are read, not computed.

Datasette computes a facet with a ``GROUP BY`` over every row of the page's table or
view: at a million articles that is a pass over a million rows per facet, several per
page. The pages' own facets (those ``datasette_metadata.json`` lists as ``counted``) are
counted here instead, in ``facet_counts`` (page, facet, value, count), by triggers on the
table whose rows they count, in the transaction that changes the row. The Datasette
plugin reads them for a page without filters; a filtered page (fewer rows, on an index)
is computed by Datasette as before.

Each :class:`Counted` says which page and column it serves, which table's rows it
counts, the SQL of the value for a row (``{row}`` is ``new`` or ``old``), and which rows
count. Kinds: ``column`` (the value), ``array`` (each distinct element of a JSON array,
as Datasette's array facet), ``date`` (the day of an ISO-8601 time).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Literal

from archive import ddl
from archive.ddl import SqlObject

TABLE = "facet_counts"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (page TEXT NOT NULL, facet TEXT NOT NULL,"
    " value NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (page, facet, value)) WITHOUT ROWID"
)
FacetKind = Literal["column", "array", "date"]

# recent_changes' "change" column, from a version's state (archive.views uses it too).
CHANGE_SQL = (
    "CASE {row}.state WHEN 'gone' THEN 'disappeared' WHEN 'back' THEN 'came back' ELSE 'edited' END"
)
# A version after the first is a change (recent_changes' rows).
IS_CHANGE = "{row}.version > 1"


@dataclass(frozen=True)
class Counted:
    page: str  # the Datasette table or view whose facet this is
    facet: str  # its column there
    kind: FacetKind
    table: str  # whose rows are counted (the triggers are on it)
    value: str  # SQL of the row's value, with {row} for new/old
    when: str = "1"  # SQL: whether the row counts

    def value_of(self, row: str) -> str:
        expr = self.value.format(row=row)
        return f"substr({expr}, 1, 10)" if self.kind == "date" else expr

    def counts(self, row: str) -> str:
        return self.when.format(row=row)


def _column(page: str, facet: str, table: str, kind: FacetKind = "column") -> Counted:
    return Counted(page, facet, kind, table, "{row}." + facet)


COUNTED: tuple[Counted, ...] = (
    *(_column("latest_articles", c, "latest_versions") for c in ("source", "site_name",
                                                                 "language", "section")),
    _column("latest_articles", "tags", "latest_versions", "array"),
    Counted("recent_changes", "change", "column", "versions", CHANGE_SQL, IS_CHANGE),
    Counted("recent_changes", "source", "column", "versions",
            "(SELECT source FROM articles WHERE id = {row}.article_id)", IS_CHANGE),
    Counted("recent_changes", "captured_at", "date", "versions", "{row}.captured_at", IS_CHANGE),
    *(_column("articles", c, "articles") for c in ("source", "site_name", "state")),
    _column("articles", "first_seen", "articles", "date"),
)  # fmt: skip


def find(page: str, facet: str) -> Counted | None:
    return next((c for c in COUNTED if c.page == page and c.facet == facet), None)


def _values(item: Counted, row: str) -> str:
    """SELECT of the values (one row each) that one table row adds to the counts."""
    value, counts = item.value_of(row), item.counts(row)
    if item.kind == "array":
        return (
            "SELECT DISTINCT value FROM json_each(CASE WHEN"
            f" json_valid({value}) THEN {value} ELSE '[]' END) WHERE {counts} AND value IS NOT NULL"
        )
    return f"SELECT {value} AS value WHERE {counts} AND {value} IS NOT NULL"


def _add(item: Counted, row: str, guard: str = "1") -> str:
    return (
        f"INSERT INTO {TABLE} (page, facet, value, count) SELECT '{item.page}', '{item.facet}',"
        f" value, 1 FROM ({_values(item, row)}) WHERE {guard}"
        " ON CONFLICT (page, facet, value) DO UPDATE SET count = count + 1;"
    )


def _remove(item: Counted, row: str, guard: str = "1") -> str:
    where = f"page = '{item.page}' AND facet = '{item.facet}' AND {guard}"
    values = _values(item, row)
    return (
        f"UPDATE {TABLE} SET count = count - 1 WHERE {where} AND value IN ({values});"
        f" DELETE FROM {TABLE} WHERE {where} AND count <= 0 AND value IN ({values});"
    )


def _changed(item: Counted) -> str:
    """Whether an UPDATE moved the row between values (or in or out of the counted rows)."""
    return (
        f"(({item.value_of('old')}) IS NOT ({item.value_of('new')})"
        f" OR ({item.counts('old')}) IS NOT ({item.counts('new')}))"
    )


def _triggers() -> tuple[SqlObject, ...]:
    triggers = []
    for table in dict.fromkeys(c.table for c in COUNTED):
        items = [c for c in COUNTED if c.table == table]
        bodies = {
            "insert": " ".join(_add(c, "new") for c in items),
            "delete": " ".join(_remove(c, "old") for c in items),
            "update": " ".join(
                _remove(c, "old", _changed(c)) + " " + _add(c, "new", _changed(c)) for c in items
            ),
        }
        # An update counts again only when a column the counted values read changes (the
        # daemon updates every article's schedule on each fetch).
        read = sorted(
            {c for i in items for c in re.findall(r"\{row\}\.(\w+)", f"{i.value} {i.when}")}
        )
        events = {"insert": "INSERT", "delete": "DELETE", "update": f"UPDATE OF {', '.join(read)}"}
        for event, body in bodies.items():
            name = f"{TABLE}_{table}_{event}"
            triggers.append(
                SqlObject(
                    "trigger",
                    name,
                    f"CREATE TRIGGER {name} AFTER {events[event]} ON {table} BEGIN {body} END",
                )
            )
    return tuple(triggers)


def fill(conn: sqlite3.Connection) -> None:
    """Count every facet from its table (the migration, and bulk loads): one GROUP BY each."""
    conn.execute(f"DELETE FROM {TABLE}")
    for item in COUNTED:
        value, counts = item.value_of("r"), item.counts("r")
        if item.kind == "array":
            rows = (
                f"SELECT j.value AS value FROM {item.table} r, json_each(CASE WHEN"
                f" json_valid({value}) THEN {value} ELSE '[]' END) j WHERE {counts}"
                " AND j.value IS NOT NULL GROUP BY r.rowid, j.value"
            )
        else:
            rows = (
                f"SELECT {value} AS value FROM {item.table} r WHERE {counts}"
                f" AND {value} IS NOT NULL"
            )
        conn.execute(
            f"INSERT INTO {TABLE} (page, facet, value, count) SELECT '{item.page}',"
            f" '{item.facet}', value, count(*) FROM ({rows}) GROUP BY value"
        )


# The counts of one facet, most first (Datasette's order): page, facet, limit.
READ_SQL = (
    f"SELECT value, count FROM {TABLE} WHERE page = ? AND facet = ?"
    " ORDER BY count DESC, value LIMIT ?"
)


def migrate(conn: sqlite3.Connection) -> None:
    """Schema 6: the counts of an archive written before them."""
    conn.execute(CREATE)
    fill(conn)


def install(conn: sqlite3.Connection) -> None:
    conn.execute(CREATE)
    for trigger in _triggers():
        ddl.install(conn, trigger)
