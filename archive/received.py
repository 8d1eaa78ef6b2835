"""``received``: the results a cluster's archiver has recorded, by fetch id.

In a cluster (``[cluster]``) results reach the one writer through a queue, and a queue
can hand the same result over twice: an archiver killed after its commit but before
it told the queue runs that result again. Each result carries the id its fetch was
given when it was queued; the id is noted here in the same transaction as what the
result records, so a second delivery is recognised and recorded nothing.
"""

from __future__ import annotations

import sqlite3

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS received (
    fetch_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
) WITHOUT ROWID;
"""


def note(conn: sqlite3.Connection, fetch_id: str, now: str) -> bool:
    """Note ``fetch_id`` as received at ``now``; False when it was received before.

    The caller runs this inside the write that records the result.
    """
    cursor = conn.execute(
        "INSERT INTO received (fetch_id, received_at) VALUES (?, ?)"
        " ON CONFLICT (fetch_id) DO NOTHING",
        (fetch_id, now),
    )
    return cursor.rowcount == 1


def was_received(conn: sqlite3.Connection, fetch_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM received WHERE fetch_id = ?", (fetch_id,)).fetchone()
    return row is not None
