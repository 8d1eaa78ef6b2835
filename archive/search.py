"""Full-text search over the archive, kept in sync by triggers.

Two FTS5 indexes, both *external content* (they store no second copy of the text):

- ``versions_fts``: every version's title and text; its rowid is ``versions.id``.
- ``articles_fts``: each article's latest readable version (the newest one that is not
  a "gone" marker, kept in ``latest_versions`` by ``archive.latest``); its rowid is
  ``articles.id``, so Datasette's search box works on
  ``articles`` and on the ``latest_articles`` view.

The tokenizer is ``unicode61 remove_diacritics 2``: "nguoi" finds "người" and "muller"
finds "Müller". Two foldings it cannot do are added as extra columns, filled only for
text that needs them: Vietnamese "đ" (a letter of its own, not d plus a mark) and the
German spellings a keyboard without umlauts produces ("Mueller", "Fussball").

Sync works without ever reading stale values: a BEFORE trigger removes the rows as the
content views show them before the change, an AFTER trigger adds them as they show
them after it. Versions are append-only in practice, but updates and deletes are
handled the same way, so the index cannot drift from the table.
"""

from __future__ import annotations

import sqlite3

from archive import ddl
from archive.ddl import SqlObject

TOKENIZER = "unicode61 remove_diacritics 2"
# Spellings the tokenizer cannot fold, as (letter, replacement). Text containing none of
# these letters gets no folded copy, so the extra columns cost nothing for most languages.
FOLDS: tuple[tuple[str, str], ...] = (
    ("đ", "d"), ("Đ", "D"),
    ("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"),
    ("ß", "ss"), ("ẞ", "SS"),
)  # fmt: skip
# "Grüße" is also typed "Grusse": a second copy with only ß spelled out, umlauts left to
# the tokenizer (which drops their dots).
SHARP_S = (("ß", "ss"), ("ẞ", "SS"))
COLUMNS = ("title", "text", "title_folded", "text_folded")


def _replaced(expr: str, folds: tuple[tuple[str, str], ...]) -> str:
    for letter, ascii_form in folds:
        expr = f"replace({expr}, '{letter}', '{ascii_form}')"
    return expr


def _contains_any(expr: str, folds: tuple[tuple[str, str], ...]) -> str:
    return " OR ".join(f"instr({expr}, '{letter}') > 0" for letter, _ in folds)


def folded_sql(expr: str) -> str:
    """SQL for the folded copy of ``expr``: NULL unless it contains a letter to fold."""
    sharp_s = (
        f"CASE WHEN {_contains_any(expr, SHARP_S)} THEN ' ' || {_replaced(expr, SHARP_S)}"
        " ELSE '' END"
    )
    return f"CASE WHEN {_contains_any(expr, FOLDS)} THEN {_replaced(expr, FOLDS)} || {sharp_s} END"


def _content_columns(alias: str) -> str:
    return (
        f"{alias}.title AS title, {alias}.text AS text, "
        f"{folded_sql(alias + '.title')} AS title_folded, "
        f"{folded_sql(alias + '.text')} AS text_folded"
    )


VERSIONS_CONTENT = SqlObject(
    "view",
    "versions_search",
    f"CREATE VIEW versions_search AS SELECT v.id AS id, {_content_columns('v')} FROM versions v",
)

# The newest version of each article that a reader could read (a "gone" marker has no text),
# as archive.latest keeps it.
ARTICLES_CONTENT = SqlObject(
    "view",
    "articles_search",
    "CREATE VIEW articles_search AS SELECT l.article_id AS article_id, "
    f"{_content_columns('l')} FROM latest_versions l",
)


def _fts(name: str, content: str, rowid: str) -> SqlObject:
    return SqlObject(
        "table",
        name,
        f"CREATE VIRTUAL TABLE {name} USING fts5({', '.join(COLUMNS)}, "
        f"content='{content}', content_rowid='{rowid}', tokenize='{TOKENIZER}')",
    )


VERSIONS_FTS = _fts("versions_fts", "versions_search", "id")
ARTICLES_FTS = _fts("articles_fts", "articles_search", "article_id")

_COLS = ", ".join(COLUMNS)


def _fts_command(table: str, *, delete: bool) -> tuple[str, str]:
    """The column list's head and the values' head: FTS5 removes a row by a 'delete' command
    written into the column named after the table, given the old values themselves."""
    return (f"{table}, ", "'delete', ") if delete else ("", "")


def _versions_row(key: str, *, delete: bool = False) -> str:
    column, command = _fts_command("versions_fts", delete=delete)
    return (
        f"INSERT INTO versions_fts ({column}rowid, {_COLS}) "
        f"SELECT {command}id, {_COLS} FROM versions_search WHERE id = {key};"
    )


def _versions_trigger(name: str, timing: str, body: str) -> SqlObject:
    return SqlObject(
        "trigger", name, f"CREATE TRIGGER {name} {timing} ON versions BEGIN {body} END"
    )


def _article_row(row: str) -> str:
    return (
        f"{row}.article_id, {row}.title, {row}.text, {folded_sql(row + '.title')},"
        f" {folded_sql(row + '.text')}"
    )


def _article(row: str, *, delete: bool = False) -> str:
    column, command = _fts_command("articles_fts", delete=delete)
    return (
        f"INSERT INTO articles_fts ({column}rowid, {_COLS}) VALUES ({command}{_article_row(row)});"
    )


def _latest_trigger(name: str, event: str, body: str) -> SqlObject:
    return SqlObject(
        "trigger", name, f"CREATE TRIGGER {name} AFTER {event} ON latest_versions BEGIN {body} END"
    )


# versions_fts follows versions; articles_fts follows latest_versions (archive.latest), which
# triggers on versions keep. The FTS5 'delete' is given the old values themselves.
TRIGGERS = (
    _versions_trigger("versions_search_after_insert", "AFTER INSERT", _versions_row("new.id")),
    _versions_trigger(
        "versions_search_before_update",
        "BEFORE UPDATE OF title, text, state, version, article_id",
        _versions_row("old.id", delete=True),
    ),
    _versions_trigger(
        "versions_search_after_update",
        "AFTER UPDATE OF title, text, state, version, article_id",
        _versions_row("new.id"),
    ),
    _versions_trigger(
        "versions_search_before_delete", "BEFORE DELETE", _versions_row("old.id", delete=True)
    ),
    _latest_trigger("articles_search_after_insert", "INSERT", _article("new")),
    _latest_trigger(
        "articles_search_after_update",
        "UPDATE",
        _article("old", delete=True) + " " + _article("new"),
    ),
    _latest_trigger("articles_search_after_delete", "DELETE", _article("old", delete=True)),
)
# Triggers an older program installed that these replace.
RETIRED = ("versions_search_before_insert", "versions_search_after_delete")


def install(conn: sqlite3.Connection) -> None:
    """Create or update the search indexes and their triggers (idempotent, no commit).

    When an index or the view it reads from is new or changed, the index is rebuilt
    from the versions table, so an existing archive becomes searchable at once.
    """
    views_changed = ddl.install(conn, VERSIONS_CONTENT) | ddl.install(conn, ARTICLES_CONTENT)
    for index in (VERSIONS_FTS, ARTICLES_FTS):
        if views_changed and ddl.stored_sql(conn, index.name) is not None:
            conn.execute(f'DROP TABLE "{index.name}"')
        if ddl.install(conn, index):
            conn.execute(f"INSERT INTO {index.name} ({index.name}) VALUES ('rebuild')")
    for name in RETIRED:
        ddl.drop(conn, SqlObject("trigger", name, ""))
    for trigger in TRIGGERS:
        ddl.install(conn, trigger)
