"""``scraper extract --jsonl --workers N``: the JSON-lines stream read by worker processes.

A reader thread numbers the input lines and hands each to the pool; the calling thread
writes the answers in input order as they complete. At most ``IN_FLIGHT_PER_WORKER`` lines
a worker are out at once, so memory stays bounded on an input of any length. Output is
flushed whenever the writer would otherwise wait (for a page still being read, or for
more input), so a caller that sends one line and waits gets its answer, and a stream of
many lines is written in few system calls. A worker that dies gives an error line for
its page, a fresh worker takes its place and the stream goes on.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO

from scraper.extract.jsonl import answer_line, failure_line
from scraper.workers import PoolBroken, Workers

# Enough lines queued that no worker idles while the writer waits on an earlier, longer
# page; few enough that a stream of big pages stays a few megabytes in memory.
IN_FLIGHT_PER_WORKER = 4
# The worker runs only what the parent has imported before forking it.
_WORKER_MODULES = ("scraper.extract.jsonl",)


def read_lines(descriptor: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a file descriptor, each with its newline (the last may lack one).

    Read with os.read, not through a file object: a buffered reader holds its lock while
    it waits for input, so closing it on the way out (Ctrl-C, a closed output) would wait
    forever on the reader thread.
    """
    parts: list[bytes] = []
    while data := os.read(descriptor, chunk):
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            parts.append(data[start : end + 1])
            yield b"".join(parts)
            parts.clear()
            start = end + 1
        if start < len(data):
            parts.append(data[start:])
    if parts:
        yield b"".join(parts)


@dataclass(frozen=True)
class _Pending:
    """One input line handed to the pool, kept until its answer is written."""

    number: int
    line: bytes
    future: Future[bytes]


class _Reader(threading.Thread):
    """Reads the input and submits each line, as long as there is room in flight."""

    def __init__(self, lines: Iterable[bytes], pool: Workers, room: threading.Semaphore) -> None:
        super().__init__(name="jsonl-reader", daemon=True)  # never holds up an exit
        self.lines = lines
        self.pool = pool
        self.room = room
        self.pending: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for number, line in enumerate(self.lines, start=1):
                if not line.strip():
                    continue
                self.room.acquire()
                future = self.pool.submit(answer_line, number, line)
                self.pending.put(_Pending(number, line, future))
        except BaseException as error:  # the input failed: the writer re-raises it
            self.error = error
        finally:
            self.pending.put(None)


def extract_jsonl_parallel(
    lines: Iterable[bytes], out: IO[bytes], workers: int, *, exiting: bool = False
) -> None:
    """:func:`scraper.extract.jsonl.extract_jsonl` over ``workers`` processes.

    The same lines out, in the same order. ``lines`` and ``out`` must not be
    ``sys.stdin``/``sys.stdout`` themselves: a worker forked while a thread holds their
    lock, or while output waits in ``sys.stdout``'s buffer, would hang on it or write it
    again as it exits (a worker flushes ``sys.stdout``). Read the input descriptor with
    :func:`read_lines` and open the output one anew.
    ``exiting``: the process exits next, so the workers are not waited for here.
    """
    pool = Workers(workers, budget=None, warm=_WORKER_MODULES)
    reader = _Reader(lines, pool, threading.Semaphore(IN_FLIGHT_PER_WORKER * workers))
    try:
        reader.start()
        _write_in_order(reader, pool, out)
    finally:
        pool.close(wait=not exiting)
    if reader.error is not None:
        raise reader.error


def _write_in_order(reader: _Reader, pool: Workers, out: IO[bytes]) -> None:
    while True:
        try:
            pending = reader.pending.get_nowait()
        except queue.Empty:
            out.flush()  # the caller may be waiting for these answers before it sends more
            pending = reader.pending.get()
        if pending is None:
            break
        if not pending.future.done():
            out.flush()
        out.write(_answer(pool, pending))
        reader.room.release()
    out.flush()


def _answer(pool: Workers, pending: _Pending) -> bytes:
    future = pending.future
    try:
        try:
            return pool.result(future)
        except PoolBroken:  # failed with whichever page broke the pool: once more
            future = pool.submit(answer_line, pending.number, pending.line)
            return pool.result(future)
    except Exception as error:  # its worker died: this page fails, the stream goes on
        return failure_line(pending.number, pending.line, f"{type(error).__name__}: {error}")
