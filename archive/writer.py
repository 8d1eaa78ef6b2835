"""The single writer's transactions: batches, savepoints, stalls and what is announced when.

Writes are batched: a write opens a ``BEGIN IMMEDIATE`` transaction when none is
open and leaves it open; :meth:`Writer.commit` (called by the daemon after each job
and at shutdown) makes the batch durable. Each write is wrapped in a savepoint, so
one that fails half way leaves nothing behind. A batch is also committed on its own
once it holds ``commit_every`` writes or is ``commit_after_s`` seconds old.

Every write since the last commit is journaled: when the storage fails (disk full,
below ``min_free``, I/O error) the batch is held in memory and replayed by
:meth:`Writer.resume`; what a write announces (``then``) runs only once committed.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from archive import db
from contract.clock import Clock
from contract.units import human_bytes

T = TypeVar("T")

# SQLite's primary result codes that mean "the storage cannot take this write now".
_STORAGE_ERRORS = {8: "read-only", 10: "I/O error", 13: "disk full", 14: "cannot open"}
# Writes held in memory while the archive is stalled; beyond this the oldest are dropped
# (their URLs made due again at once when writing works again).
MAX_HELD_WRITES = 5000

# Makes the articles of these URLs due now (the writes of their fetches were dropped).
MakeDue = Callable[[Sequence[str]], None]


class Writer:
    """The open archive's one connection, its batch, and the writes held through a stall."""

    def __init__(
        self,
        handle: db.WriterHandle,
        clock: Clock,
        commit_every: int,
        commit_after_s: float,
        min_free: int,
        make_due: MakeDue,
    ) -> None:
        self._handle = handle
        self.conn = handle.conn
        self._clock = clock
        self._commit_every = commit_every
        self._commit_after_s = commit_after_s
        self._min_free = min_free
        self._make_due = make_due
        self._pending = 0
        self._batch_started = 0.0
        # Every write since the last commit, to replay when a commit fails and SQLite has
        # rolled the batch back; announcements run only once their batch is committed.
        self._journal: list[_Entry] = []
        self._stall: str | None = None  # why writes are held, while they are
        self._redo: set[str] = set()  # URLs of dropped writes: due again at once
        self._replaying = False
        self._gone: db.ArchiveGone | None = None  # the file went: every write fails with this

    def commit(self) -> None:
        """Make the batch durable, then announce it; raises :class:`db.ArchiveStalled`.

        While stalled it raises at once: :meth:`resume` tries the held writes again.
        """
        if self._stall is not None:
            raise db.ArchiveStalled(self._stall)
        if self.conn.in_transaction:
            self._check_in_place()
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._stalled(exc)
        self._pending = 0
        self._announce()

    @property
    def stalled(self) -> str | None:
        """Why writes are held in memory (disk full, ...), or None when they are not."""
        return self._stall

    @property
    def held_writes(self) -> int:
        return len(self._journal)

    def free_space(self) -> int:
        try:
            return shutil.disk_usage(self._handle.path.parent).free
        except OSError:
            return 0

    def trace(self, callback: Callable[[str], None] | None) -> None:
        """Hand every SQL statement the writer runs to ``callback`` (query-plan tests)."""
        self.conn.set_trace_callback(callback)

    def close(self) -> None:
        try:
            try:
                self.resume()
            except db.ArchiveStalled as exc:
                raise db.ArchiveStalled(
                    f"{exc}; closing with {len(self._journal)} held writes not committed"
                    " (those fetches are made again when their articles come due)"
                ) from None
        finally:
            self._handle.close()

    @contextmanager
    def write(self) -> Iterator[None]:
        """``with writer.write():`` joins the open batch (or starts one) inside a savepoint,
        so a write that fails undoes only itself."""
        self._begin_if_needed()
        self.conn.execute("SAVEPOINT record")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite rolls back the whole batch on some errors
                self.conn.execute("ROLLBACK TO record")
                self.conn.execute("RELEASE record")
            raise
        self.conn.execute("RELEASE record")

    def journaled(
        self,
        op: Callable[[], T],
        *,
        then: Callable[[T], None] | None = None,
        replay: Callable[[], T] | None = None,
        url: str | None = None,
    ) -> T:
        """Run a write as part of the batch, and keep it to replay should the batch be lost."""
        entry = _Entry(op, replay or op, then, url)
        self._hold(entry)
        if self._stall is not None:
            raise db.ArchiveStalled(self._stall)
        try:
            entry.result = op()
        except (sqlite3.OperationalError, _BelowFloor) as exc:
            if isinstance(exc, sqlite3.OperationalError) and _storage_error(exc) is None:
                self._forget(entry)
                raise
            self._stalled(exc)
        except BaseException:
            self._forget(entry)
            raise
        self._record_done()
        result: T = entry.result
        return result

    def unjournaled(self, op: Callable[[], T]) -> T:
        """A write that is not held through a stall (a claim: unclaimed, an article is due)."""
        if self._stall is not None:
            raise db.ArchiveStalled(self._stall)
        try:
            with self.write():
                return op()
        except (sqlite3.OperationalError, _BelowFloor) as exc:
            if isinstance(exc, sqlite3.OperationalError) and _storage_error(exc) is None:
                raise
            self._stalled(exc)

    def resume(self) -> None:
        """Replay every held write in one transaction and commit it, or stay stalled."""
        if self._stall is None:
            self.commit()
            return
        self._rollback_quietly()
        self._replaying = True
        try:
            self._begin_if_needed()
            for entry in self._journal:
                entry.result = entry.replay()
            if self._redo:
                self._make_due(sorted(self._redo))
            self._check_in_place()
            self.conn.execute("COMMIT")
        except (sqlite3.OperationalError, _BelowFloor) as exc:
            if isinstance(exc, sqlite3.OperationalError) and _storage_error(exc) is None:
                raise
            self._stalled(exc)
        finally:
            self._replaying = False
        self._stall = None
        self._redo.clear()
        self._pending = 0
        self._announce()

    def _check_in_place(self) -> None:
        """Before a commit: the file must still be the one we opened, or the batch would vanish."""
        if self._gone is not None:
            raise self._gone
        try:
            self._handle.check_in_place()
        except db.ArchiveGone as exc:
            self._rollback_quietly()
            self._journal.clear()  # never announced: it was never committed anywhere
            stamp = self._clock.now().strftime("%Y%m%dT%H%M%SZ")
            saved = self._handle.rescue(stamp)
            where = (
                f"what it had committed is saved in {saved}"
                if saved is not None
                else "its directory is gone, so what it had committed could not be saved"
            )
            self._gone = db.ArchiveGone(f"{exc}; {where}")
            raise self._gone from None

    def _begin_if_needed(self) -> None:
        if not self.conn.in_transaction:
            self._check_in_place()
            free = self.free_space()
            if free < self._min_free:
                raise _BelowFloor(
                    f"only {human_bytes(free)} free beside {self._handle.path}, below"
                    f" [archive] min_free {human_bytes(self._min_free)}"
                )
            self.conn.execute("BEGIN IMMEDIATE")
            self._batch_started = self._clock.monotonic()

    def _forget(self, entry: _Entry) -> None:
        self._journal = [held for held in self._journal if held is not entry]

    def _hold(self, entry: _Entry) -> None:
        self._journal.append(entry)
        while len(self._journal) > MAX_HELD_WRITES:
            dropped = self._journal.pop(0)
            if dropped.url is not None:
                self._redo.add(dropped.url)

    def _stalled(self, exc: Exception) -> NoReturn:
        """A write or commit failed for lack of storage: hold the batch, raise ArchiveStalled."""
        self._rollback_quietly()
        if isinstance(exc, _BelowFloor):
            self._stall = str(exc)
        else:
            kind = _storage_error(exc) if isinstance(exc, sqlite3.OperationalError) else None
            self._stall = (
                f"writing {self._handle.path} failed ({kind or 'error'}: {exc});"
                f" {human_bytes(self.free_space())} free"
            )
        raise db.ArchiveStalled(self._stall) from None

    def _rollback_quietly(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.OperationalError:
                # SQLite may have rolled back on its own (disk full): nothing left to undo.
                assert not self.conn.in_transaction
        self._pending = 0

    def _announce(self) -> None:
        held, self._journal = self._journal, []
        for entry in held:
            if entry.then is not None:
                entry.then(entry.result)

    def _record_done(self) -> None:
        if self._replaying:
            return
        self._pending += 1
        too_many = self._pending >= self._commit_every
        too_old = self._clock.monotonic() - self._batch_started >= self._commit_after_s
        if too_many or too_old:
            self.commit()


@dataclass
class _Entry:
    """One write of the batch: how to run it again, and what to announce once committed."""

    op: Callable[[], Any]
    replay: Callable[[], Any]
    then: Callable[[Any], None] | None
    url: str | None  # made due again at once if this write is dropped
    result: Any = None


class _BelowFloor(Exception):
    """Less free space than ``[archive] min_free`` beside the archive."""


def _storage_error(exc: sqlite3.OperationalError) -> str | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else _STORAGE_ERRORS.get(code & 0xFF)
