"""The article's columns in ``versions`` and ``extractions``, generated from its declaration.

``contract.model.Article`` declares each field once (:mod:`contract.fields`). From that
come, here: the stored columns and their SQL types, a field's stored value (lists as
JSON arrays, the body as its reader view), the columns a diff compares, the columns
that hold JSON, URLs and long text, the Datasette column descriptions, and
:func:`ensure`, which adds a newly declared field's column to an older archive.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from archive import hashing
from contract.fields import ArticleField, Kind
from contract.model import ARTICLE_FIELDS, Article

# The tables that hold one row per reading of an article, with every content column.
TABLES = ("versions", "extractions", "latest_versions")
# What extractions' descriptions add to the declared one.
EXTRACTION_NOTE = " (as this extractor reads it)"

CONTENT: tuple[ArticleField, ...] = tuple(f for f in ARTICLE_FIELDS if f.declared.stored)
CONTENT_COLUMNS: tuple[str, ...] = tuple(f.column for f in CONTENT)
COMPARED_COLUMNS: tuple[str, ...] = tuple(f.column for f in CONTENT if f.declared.compared)
JSON_COLUMNS: tuple[str, ...] = tuple(
    f.column for f in CONTENT if f.kind in (Kind.NAMES, Kind.IMAGES)
)
URL_COLUMNS: tuple[str, ...] = tuple(f.column for f in CONTENT if f.kind == Kind.URL)
LONG_TEXT_COLUMNS: tuple[str, ...] = tuple(
    f.column for f in CONTENT if f.kind in (Kind.BODY, Kind.LONG_TEXT)
)
BODY_COLUMN: str = next(f.column for f in CONTENT if f.kind == Kind.BODY)


def sql_type(item: ArticleField) -> str:
    return "INTEGER" if item.kind == Kind.COUNT else "TEXT"


def stored(item: ArticleField, value: Any, view: hashing.ReaderView | None = None) -> Any:
    """The value as its column holds it: lists as JSON arrays, the body as the reader sees it."""
    if item.kind == Kind.BODY:
        # What the reader sees: normalised paragraphs, counters and relative times left out.
        seen = view.value(item.name) if view is not None else hashing.reader_value(item, value)
        return "\n\n".join(seen)
    if item.kind == Kind.NAMES:
        return json.dumps(list(value), ensure_ascii=False)
    if item.kind == Kind.IMAGES:
        return json.dumps([dataclasses.asdict(image) for image in value], ensure_ascii=False)
    return value


def values(article: Article, view: hashing.ReaderView | None = None) -> dict[str, Any]:
    """Every content column of one reading of ``article``, by column name."""
    view = view or hashing.reader_view(article)
    return {f.column: stored(f, getattr(article, f.name), view) for f in CONTENT}


def content_of(row: Mapping[str, Any] | sqlite3.Row) -> dict[str, Any]:
    """The content columns of a stored row (None for a column an older file lacks)."""
    names = set(row.keys())
    return {name: row[name] if name in names else None for name in CONTENT_COLUMNS}


def insert(
    conn: sqlite3.Connection, table: str, row: Mapping[str, Any], suffix: str = ""
) -> sqlite3.Cursor:
    """``INSERT INTO table (the row's columns) VALUES (...)`` plus ``suffix`` (ON CONFLICT ...)."""
    names = ", ".join(row)
    marks = ", ".join("?" * len(row))
    return conn.execute(
        f"INSERT INTO {table} ({names}) VALUES ({marks}){suffix}", tuple(row.values())
    )


def missing_columns(conn: sqlite3.Connection, table: str) -> list[ArticleField]:
    present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    return [f for f in CONTENT if f.column not in present]


def ensure(conn: sqlite3.Connection) -> None:
    """Add the column of each declared field an older archive lacks (inside the caller's write).

    The numbered migrations (``archive.schema``) made the columns the fields had then;
    a field declared since gets its column here, empty for the versions stored before.
    """
    for table in TABLES:
        for item in missing_columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {item.column} {sql_type(item)}")


def descriptions(table: str) -> dict[str, str]:
    """The Datasette descriptions of ``table``'s content columns."""
    note = EXTRACTION_NOTE if table == "extractions" else ""
    return {f.column: f.description + note for f in CONTENT}
