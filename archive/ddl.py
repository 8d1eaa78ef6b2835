"""Install views, triggers and virtual tables so that re-running is free and changes apply.

``schema.ensure`` runs the installers every time a writer opens the archive. An object
is left alone when its stored definition is the one we ship, and replaced when it
differs, so a newer program brings an older file's views and triggers up to date.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

Kind = Literal["table", "view", "trigger"]


@dataclass(frozen=True)
class SqlObject:
    kind: Kind
    name: str
    sql: str  # a CREATE statement without IF NOT EXISTS, as SQLite stores it


def _normalise(sql: str) -> str:
    return " ".join(sql.split())


def stored_sql(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def install(conn: sqlite3.Connection, obj: SqlObject) -> bool:
    """Create ``obj`` or replace an outdated definition; True when something was (re)created."""
    current = stored_sql(conn, obj.name)
    if current is not None and _normalise(current) == _normalise(obj.sql):
        return False
    if current is not None:
        conn.execute(f'DROP {obj.kind.upper()} "{obj.name}"')
    conn.execute(obj.sql)
    return True


def drop(conn: sqlite3.Connection, obj: SqlObject) -> None:
    if stored_sql(conn, obj.name) is not None:
        conn.execute(f'DROP {obj.kind.upper()} "{obj.name}"')
