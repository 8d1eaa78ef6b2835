"""Read a stored raw body back by its hash, whichever way it was compressed.

Readers (export, WARC, reparse, Datasette) use :func:`read_body` rather than
decompressing ``bodies.content`` themselves: a body stored against a base
body needs that base first.
"""

from __future__ import annotations

import sqlite3

from archive.compress import BodyCodec, base_of


class BodyMissing(KeyError):
    """No body with this hash in the archive."""


def read_body(conn: sqlite3.Connection, body_hash: str, codec: BodyCodec | None = None) -> bytes:
    codec = codec or BodyCodec()
    row = conn.execute(
        "SELECT content, compression FROM bodies WHERE hash = ?", (body_hash,)
    ).fetchone()
    if row is None:
        raise BodyMissing(body_hash)
    content, compression = row
    base_hash = base_of(content, compression)
    base = read_body(conn, base_hash, codec) if base_hash else None
    return codec.decompress(content, compression, base)
