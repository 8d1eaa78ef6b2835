"""Content decoding: undo a body's content-encoding with bounded output, and say when a
2xx body is not what the caller expected.

gzip, deflate, br and zstd are decoded here (only those are advertised), each producing
at most ``DECODE_CHUNK`` bytes at a time, so the cap on the decoded body holds while
decompressing: a small compressed bomb never becomes a large body in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import brotli

from archive.compress import CorruptStream, decompress_bounded
from contract.model import Outcome
from scraper.markup import body_looks_like_html, declares_html, media_type
from scraper.wire import Failure, Run

DECODE_CHUNK = 64 * 1024  # decompressed output is produced at most this much at a time
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # only what we decode with bounded output
NON_FEED_MAJOR_TYPES = frozenset({"image", "audio", "video", "font", "model"})
NON_FEED_TYPES = frozenset({"application/pdf", "application/zip", "application/octet-stream"})

Expect = Literal["article", "feed", "any"]


def content_problem(content_type: str | None, body: bytes, expect: Expect) -> str | None:
    """Why a 2xx body is not what the caller expected, or None when it is fine."""
    kind = media_type(content_type)
    if expect == "any":
        return None
    if expect == "article":
        if declares_html(content_type):
            return None
        if kind is None:
            if body_looks_like_html(body):
                return None
            return "missing content type and the body does not look like HTML"
        return f"non-HTML content {kind} where an article was expected"
    if kind is not None and (kind in NON_FEED_TYPES or kind.split("/")[0] in NON_FEED_MAJOR_TYPES):
        return f"content {kind} where a feed was expected"
    return None


class Decoder:
    """Undo one content-encoding, producing output in bounded pieces."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self._zlib: Any = None
        self._brotli: Any = None
        self._raw_deflate_tried = False
        self._zstd: list[bytes] | None = None
        self._zstd_bytes = 0
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif encoding == "br":
            self._brotli = brotli.Decompressor()
        elif encoding == "zstd":
            self._zstd = []  # gathered, then decoded in bounded pieces by finish()
        elif encoding not in ("identity", ""):
            raise Failure(Outcome.FAILED, f"unsupported content-encoding {encoding}")

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            if self._zlib is not None:
                yield from self._feed_zlib(data)
            elif self._brotli is not None:
                yield from self._feed_brotli(data)
            elif self._zstd is not None:
                self._gather_zstd(data)
            else:
                yield data
        except (zlib.error, brotli.error) as exc:
            raise Failure(Outcome.FAILED, f"corrupt {self.encoding} body: {exc}") from None

    def _gather_zstd(self, data: bytes) -> None:
        assert self._zstd is not None
        self._zstd_bytes += len(data)
        if self._zstd_bytes > self.limit:
            raise Failure(
                Outcome.FAILED, f"zstd body larger than {self.limit} bytes even compressed"
            )
        self._zstd.append(data)

    def finish(self, url: object) -> Iterator[bytes]:
        """What is left once the body has arrived: all of a zstd body, in bounded form."""
        if self._zstd is None:
            return
        try:
            body, complete = decompress_bounded(b"".join(self._zstd), self.limit)
        except CorruptStream as exc:
            raise Failure(Outcome.FAILED, f"corrupt zstd body: {exc}") from None
        if not complete and len(body) <= self.limit:
            raise Failure(Outcome.FAILED, f"zstd body from {url} is cut short")
        yield body

    def check_complete(self, url: object) -> None:
        """A compressed body must end where its format says; a cut one is not a page."""
        finished = True
        if self._zlib is not None:
            finished = bool(self._zlib.eof)
        elif self._brotli is not None:
            finished = bool(self._brotli.is_finished())
        if not finished:
            raise Failure(Outcome.FAILED, f"{self.encoding} body from {url} is cut short")

    def _feed_zlib(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending:
            try:
                out = self._zlib.decompress(pending, DECODE_CHUNK)
            except zlib.error:
                # "deflate" is often raw deflate without the zlib header.
                if self.encoding != "deflate" or self._raw_deflate_tried:
                    raise
                self._raw_deflate_tried = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_deflate_tried = True
            if out:
                yield out
            pending = self._zlib.unconsumed_tail
            if self._zlib.eof:
                rest = self._zlib.unused_data
                if rest and self.encoding != "deflate":
                    self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
                    pending = rest
                else:
                    return

    def _feed_brotli(self, data: bytes) -> Iterator[bytes]:
        out = self._brotli.process(data, output_buffer_limit=DECODE_CHUNK)
        if out:
            yield out
        while not self._brotli.can_accept_more_data():
            out = self._brotli.process(b"", output_buffer_limit=DECODE_CHUNK)
            if not out:
                return
            yield out


async def read_body(
    raw: AsyncIterator[bytes],
    content_encoding: str,
    url: str,
    status: int,
    limit: int,
    truncate: bool,
    run: Run,
) -> bytes:
    """Read the raw body, undoing its content-encoding, never holding more than ``limit``
    bytes (``truncate``: keep the first ``limit`` bytes instead of failing)."""
    encodings = [
        e.strip().lower()
        for e in content_encoding.split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    if len(encodings) > 1:
        raise Failure(
            Outcome.FAILED,
            f"unsupported stacked content-encoding {', '.join(encodings)} from {url}",
        )
    encoding = encodings[0] if encodings else ""
    decoder = Decoder(encoding, limit)
    chunks: list[bytes] = []
    total = 0

    def keep(piece: bytes) -> bool:
        """Keep a decoded piece; False once the cap is reached and the rest is dropped."""
        nonlocal total
        total += len(piece)
        if total <= limit:
            chunks.append(piece)
            return True
        if truncate:
            chunks.append(piece[: len(piece) - (total - limit)])
            return False
        after = f" after {encoding} decoding" if encoding else ""
        raise Failure(Outcome.FAILED, f"body larger than {limit} bytes{after} at {url}", status)

    async for data in raw:
        run.received += len(data)
        for piece in decoder.feed(data):
            if not keep(piece):
                return b"".join(chunks)
    for piece in decoder.finish(url):
        if not keep(piece):
            return b"".join(chunks)
    decoder.check_complete(url)
    return b"".join(chunks)
