"""Open the archive file: the one module that talks to sqlite-utils.

A writer gets the single-instance lock, a WAL-mode file that passed
``quick_check`` and is at the current schema, and a connection on which the
store opens ``BEGIN IMMEDIATE`` transactions itself (autocommit mode, so
Python's sqlite3 never opens or commits one behind our back).

Readers (history, diff, export) open the file read-only and never take the
lock, so they work while the daemon writes.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import sqlite_utils

from archive import schema

BUSY_TIMEOUT_MS = 10_000


class ArchiveError(Exception):
    """A problem with the archive file, phrased for the user as one line."""


class ArchiveLocked(ArchiveError):
    """Another process is already writing to this archive."""


class ArchiveDamaged(ArchiveError):
    """The file fails SQLite's own consistency check; we refuse to write to it."""


@dataclass
class WriterHandle:
    """An open writer connection with the lock that makes it the only one."""

    conn: sqlite3.Connection
    lock_file: IO[str]
    lock_path: Path

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            # Closing the descriptor releases the flock; the file stays (removing it would race).
            self.lock_file.close()


def lock_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def open_writer(path: Path) -> WriterHandle:
    """Lock, open, check and migrate the archive at ``path`` for writing."""
    lock_path = lock_path_for(path)
    lock_file = _take_lock(path, lock_path)
    try:
        try:
            conn = _connect(path)
        except sqlite3.Error as exc:
            raise ArchiveError(f"{path}: cannot open the archive ({exc})") from None
        try:
            _quick_check(conn, path)
            database = sqlite_utils.Database(conn, execute_plugins=False)
            database.enable_wal()
            conn.execute("PRAGMA synchronous = FULL")  # a committed version survives power loss
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE")
            try:
                schema.ensure(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except schema.SchemaTooNew as exc:
            conn.close()
            raise ArchiveError(f"{path}: {exc}") from None
        except sqlite3.OperationalError as exc:
            conn.close()
            raise ArchiveError(f"{path}: cannot open the archive for writing ({exc})") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ArchiveDamaged(
                f"{path}: not a usable SQLite archive ({exc}); refusing to write to it. "
                "Move it aside or restore a backup."
            ) from None
        except BaseException:
            conn.close()
            raise
    except BaseException:
        lock_file.close()
        raise
    return WriterHandle(conn=conn, lock_file=lock_file, lock_path=lock_path)


def open_reader(path: Path) -> sqlite3.Connection:
    """Open an existing archive read-only (safe while the daemon writes)."""
    if not path.exists():
        raise ArchiveError(
            f"{path}: no archive here; run `scraper run` first or pass --archive PATH"
        )
    conn = sqlite3.connect(
        f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        version = schema.schema_version(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ArchiveDamaged(f"{path}: not a usable SQLite archive ({exc})") from None
    if version == 0:
        conn.close()
        raise ArchiveError(f"{path}: not an archive written by newsarchive (no schema)")
    conn.row_factory = sqlite3.Row
    return conn


def integrity_check(path: Path) -> list[str]:
    """Full ``PRAGMA integrity_check`` of a file: ``["ok"]`` when it is sound."""
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None)
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        shown = "; ".join(problems[:3])
        raise ArchiveDamaged(
            f"{path}: the archive is damaged (quick_check: {shown}); refusing to write to it. "
            f"Inspect it with `sqlite3 {path} .recover` or restore a backup."
        )


def _take_lock(path: Path, lock_path: Path) -> IO[str]:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held until close()
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot create the lock file {lock_path}: {exc}") from None
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or "unknown"
        lock_file.close()
        raise ArchiveLocked(
            f"{path}: another process (pid {holder}) is already writing to this archive "
            f"(lock file {lock_path}); stop it first, or point this one at another archive"
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return lock_file
