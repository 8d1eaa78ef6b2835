"""Raw bodies: each distinct one stored once (:class:`BodyStore`), read back by its hash.

Readers (export, WARC, reparse, Datasette) use :func:`read_body` rather than
decompressing ``bodies.content`` themselves: a body stored against a base
body needs that base first.
"""

from __future__ import annotations

import sqlite3

from archive import hashing
from archive.compress import COMPRESSION, DELTA_COMPRESSION, BodyCodec, base_of
from contract.clock import Clock, iso


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


class BodyStore:
    """Writes each distinct raw body once, keyed by its hash, compressed alone or as a delta.

    With ``delta_bodies`` a new body of a known URL is stored compressed against that
    URL's last full body when that is much smaller (``zstd+base``).
    """

    def __init__(
        self, conn: sqlite3.Connection, codec: BodyCodec, clock: Clock, *, delta_bodies: bool
    ) -> None:
        self._conn = conn
        self._codec = codec
        self._clock = clock
        self._delta_bodies = delta_bodies

    def read(self, body_hash: str) -> bytes:
        return read_body(self._conn, body_hash, self._codec)

    def store(self, url: str, content_type: str | None, raw: bytes | None) -> str | None:
        """The body's hash (its key in ``bodies``), stored now if it was not; None for no body."""
        if raw is None:
            return None
        key = hashing.body_hash(raw)
        known = self._conn.execute("SELECT 1 FROM bodies WHERE hash = ?", (key,)).fetchone()
        if known is not None:
            return key
        packed, compression = self._pack(url, raw)
        self._conn.execute(
            "INSERT INTO bodies (hash, size, stored_size, content_type, compression, content,"
            " first_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, len(raw), len(packed), content_type, compression, packed,
             iso(self._clock.now())),
        )  # fmt: skip
        return key

    def _pack(self, url: str, raw: bytes) -> tuple[bytes, str]:
        """Compress alone, or against the URL's last full body when that is much smaller."""
        if self._delta_bodies:
            previous = self._conn.execute(
                "SELECT b.hash, b.compression, substr(b.content, 1, 64) FROM fetches f"
                " JOIN bodies b ON b.hash = f.body_hash"
                " WHERE f.url = ? AND f.body_hash IS NOT NULL ORDER BY f.id DESC LIMIT 1",
                (url,),
            ).fetchone()
            if previous is not None:
                # Always against a full body, so reading any body takes at most two steps.
                base_hash = base_of(previous[2], previous[1]) or previous[0]
                base_raw = self.read(base_hash)
                delta = self._codec.compress_against(raw, base_raw, base_hash)
                if len(delta) * 20 < len(raw):  # clearly a near-copy: keep the delta
                    return delta, DELTA_COMPRESSION
                alone = self._codec.compress(raw)
                if len(delta) < len(alone) // 2:
                    return delta, DELTA_COMPRESSION
                return alone, COMPRESSION  # drifted: this body becomes the next base
        return self._codec.compress(raw), COMPRESSION
