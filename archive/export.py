"""Export articles (with their latest readable version, or every version) as JSON Lines or CSV."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from typing import Any, TextIO

from archive import columns

FORMATS = ("jsonl", "csv")
_JSON_COLUMNS = (*columns.JSON_COLUMNS, "changed_fields")
# The article's columns, then its version's: the content columns its declaration makes
# (canonical_url stays beside url: the export fills it from the article when the version has none).
COLUMNS = (
    "url", "canonical_url", "source", "article_state", "first_seen", "last_checked",
    "last_changed", "version", "captured_at", "state",
    *(name for name in columns.CONTENT_COLUMNS if name != "canonical_url"),
    "content_hash", "changed_fields", "summary", "extractor_version", "fetched_at", "due_at",
)  # fmt: skip

_SELECT = """
SELECT a.url, a.canonical_url AS article_canonical_url, a.source, a.state AS article_state,
       a.first_seen, a.last_checked, a.last_changed, v.*,
       f.started_at AS fetched_at, f.due_at
FROM articles a JOIN versions v ON v.article_id = a.id
LEFT JOIN fetches f ON f.id = v.fetch_id
"""
# fetched_at - due_at is how late the scheduler was for the fetch that found the version.
# The latest version a reader could read (a gone article keeps its last text).
_LATEST = """
WHERE v.version = (SELECT max(version) FROM versions
                   WHERE article_id = a.id AND state != 'gone')
"""


def rows(conn: sqlite3.Connection, *, all_versions: bool = False) -> Iterator[dict[str, Any]]:
    query = _SELECT + ("" if all_versions else _LATEST) + " ORDER BY a.id, v.version"
    cursor = conn.execute(query)
    cursor.row_factory = sqlite3.Row
    for row in cursor:
        record = dict(row)
        record["url"] = row["url"]
        record["canonical_url"] = row["canonical_url"] or row["article_canonical_url"]
        out = {name: record.get(name) for name in COLUMNS}
        for name in _JSON_COLUMNS:
            stored = out[name]
            out[name] = json.loads(stored) if isinstance(stored, str) and stored else []
        yield out


def write(conn: sqlite3.Connection, out: TextIO, fmt: str, *, all_versions: bool = False) -> int:
    """Write the export to ``out``; returns the number of rows written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    count = 0
    if fmt == "jsonl":
        for record in rows(conn, all_versions=all_versions):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for record in rows(conn, all_versions=all_versions):
        for name in _JSON_COLUMNS:
            record[name] = json.dumps(record[name], ensure_ascii=False)
        writer.writerow(record)
        count += 1
    return count
