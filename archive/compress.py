"""Raw bodies in and out of zstd: the one module that talks to zstandard.

Two forms: a body on its own (``zstd``), or a body compressed against an
earlier body of the same URL used as a raw-content dictionary (``zstd+base``).
A re-fetch whose bytes differ only by a timestamp or a counter then costs
about a hundred bytes instead of the whole page. A ``zstd+base`` blob starts
with the 64 hex characters of its base body's hash, then the zstd frame.
"""

from __future__ import annotations

import io

import zstandard

COMPRESSION = "zstd"
DELTA_COMPRESSION = "zstd+base"
COMPRESSIONS = (COMPRESSION, DELTA_COMPRESSION)
_HASH_LENGTH = 64  # sha256 hex
# A server may not make us hold more than this much history while decoding (zstd's own
# default allows 128 MiB, which alone would break the fetcher's memory bound).
MAX_WINDOW = 8 * 1024 * 1024
_STREAM_CHUNK = 64 * 1024
# Level 6: within 3% of level 10's size on news HTML at 2.3x the speed (bench/storage.py).
LEVEL = 6


class BodyCodec:
    """Compresses and decompresses stored bodies; one per writer (holds a zstd context)."""

    def __init__(self, level: int = LEVEL) -> None:
        self._level = level
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._decompressor = zstandard.ZstdDecompressor()

    def compress(self, raw: bytes) -> bytes:
        return bytes(self._compressor.compress(raw))

    def compress_against(self, raw: bytes, base: bytes, base_hash: str) -> bytes:
        """``raw`` compressed with ``base`` as dictionary, prefixed by the base's hash."""
        if len(base_hash) != _HASH_LENGTH:
            raise ValueError(f"base hash must be {_HASH_LENGTH} hex characters: {base_hash!r}")
        dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        compressor = zstandard.ZstdCompressor(level=self._level, dict_data=dictionary)
        return base_hash.encode("ascii") + bytes(compressor.compress(raw))

    def decompress(
        self, stored: bytes, compression: str = COMPRESSION, base: bytes | None = None
    ) -> bytes:
        if compression == COMPRESSION:
            return bytes(self._decompressor.decompress(stored))
        if compression == DELTA_COMPRESSION:
            if base is None:
                raise ValueError("a zstd+base body needs its base body to be read")
            dictionary = zstandard.ZstdCompressionDict(
                base, dict_type=zstandard.DICT_TYPE_RAWCONTENT
            )
            frame = stored[_HASH_LENGTH:]
            return bytes(zstandard.ZstdDecompressor(dict_data=dictionary).decompress(frame))
        raise ValueError(
            f"unknown body compression {compression!r}; expected one of {', '.join(COMPRESSIONS)}"
        )


def decompress(stored: bytes, compression: str = COMPRESSION, base: bytes | None = None) -> bytes:
    """One-off decompression; prefer :func:`archive.bodies.read_body`, which finds the base."""
    return BodyCodec().decompress(stored, compression, base)


def base_of(stored: bytes, compression: str) -> str | None:
    """The hash of the body a ``zstd+base`` blob was compressed against (None otherwise)."""
    if compression != DELTA_COMPRESSION:
        return None
    return stored[:_HASH_LENGTH].decode("ascii")


class CorruptStream(ValueError):
    """Bytes that are not a valid zstd stream; the message says why."""


def decompress_bounded(
    data: bytes, limit: int, *, max_window: int = MAX_WINDOW
) -> tuple[bytes, bool]:
    """Decode a zstd content-encoded HTTP body without ever producing more than ``limit + 1``
    bytes, so a decompression bomb stops early.

    Returns ``(body, complete)``: a body longer than ``limit`` means "too large"; ``complete``
    is false when the stream was cut short.
    """
    decompressor = zstandard.ZstdDecompressor(max_window_size=max_window)
    pieces: list[bytes] = []
    total = 0
    try:
        # Output comes in chunks of at most _STREAM_CHUNK, whatever the compression ratio.
        for piece in decompressor.read_to_iter(
            io.BytesIO(data), read_size=_STREAM_CHUNK, write_size=_STREAM_CHUNK
        ):
            pieces.append(piece)
            total += len(piece)
            if total > limit:
                return b"".join(pieces)[: limit + 1], True
        # Within the limit: decode once more, cheaply bounded now, to learn whether it ended.
        check = decompressor.decompressobj()
        check.decompress(data)
    except zstandard.ZstdError as exc:
        raise CorruptStream(str(exc)) from None
    return b"".join(pieces), bool(check.eof)
