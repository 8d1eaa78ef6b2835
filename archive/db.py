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
import stat
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


class ArchiveFault(ArchiveError):
    """The archive failed while it was open (not at opening): the daemon stops, exit 1."""


class ArchiveGone(ArchiveFault):
    """The archive file (or its directory) was removed or replaced while it was open."""


class ArchiveStalled(ArchiveFault):
    """Writes cannot be committed now (disk full, below the free-space floor, I/O error).

    The writes are kept in memory and committed when :meth:`Archive.commit` succeeds.
    """


@dataclass
class WriterHandle:
    """An open writer connection with the lock that makes it the only one."""

    conn: sqlite3.Connection
    lock_file: IO[str]
    lock_path: Path
    path: Path
    identity: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))  # file, directory

    def check_in_place(self) -> None:
        """Raise :class:`ArchiveGone` when the file or its directory was removed or replaced.

        Writes to a file that was unlinked (or is no longer at its path) go nowhere a
        reader will ever look, so they must not be committed and announced.
        """
        if _identity_of(self.path) != self.identity:
            raise ArchiveGone(
                f"{self.path}: the archive file or its directory {self.path.parent} was removed"
                " or replaced while the daemon was writing to it; stopping (the batch in"
                " progress was not committed)"
            )

    def rescue(self, stamp: str) -> Path | None:
        """Copy what was committed to the open (perhaps unlinked) file beside its old path."""
        directory = self.path.parent
        if not directory.is_dir():
            return None
        target = directory / f"{self.path.name}.rescued-{stamp}"
        try:
            copy = sqlite3.connect(target)
            try:
                self.conn.backup(copy)
            finally:
                copy.close()
        except (sqlite3.Error, OSError):
            return None
        return target

    def close(self) -> None:
        try:
            self.conn.close()
            # The last connection is closed (its WAL checkpointed): the file is as it will stay,
            # so the next start may skip the consistency check if it still looks like this.
            _mark_clean(self.lock_file, self.path)
        finally:
            # Closing the descriptor releases the flock; the file stays (removing it would race).
            self.lock_file.close()


def lock_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def open_writer(path: Path) -> WriterHandle:
    """Lock, open, check and migrate the archive at ``path`` for writing.

    ``quick_check`` runs only when the last writer did not stop cleanly (or the file
    changed since it did): on a large cold file it takes seconds before the first fetch.
    """
    lock_path = lock_path_for(path)
    _check_writable(path, lock_path)
    lock_file, clean = _take_lock(path, lock_path)
    try:
        try:
            conn = _connect(path)
        except sqlite3.Error as exc:
            raise ArchiveError(f"{path}: cannot open the archive ({_cause(path, exc)})") from None
        try:
            if not clean:
                _quick_check(conn, path)
            database = sqlite_utils.Database(conn, execute_plugins=False)
            database.enable_wal()
            conn.execute("PRAGMA synchronous = FULL")  # a committed version survives power loss
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE")
            try:
                schema.ensure(conn)
                # A write even when there is nothing to migrate: a file SQLite opened
                # read-only fails here, not at the first fetch.
                conn.execute(f"PRAGMA user_version = {schema.schema_version(conn)}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except schema.SchemaTooNew as exc:
            conn.close()
            raise ArchiveError(f"{path}: {exc}") from None
        except sqlite3.OperationalError as exc:
            conn.close()
            raise ArchiveError(
                f"{path}: cannot open the archive for writing ({_cause(path, exc)})"
            ) from None
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
    return WriterHandle(
        conn=conn, lock_file=lock_file, lock_path=lock_path, path=path, identity=_identity_of(path)
    )


def _identity_of(path: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    """(device, inode) of the file and of its directory; zeros for one that is gone."""
    found = []
    for item in (path, path.parent):
        try:
            st = item.stat()
        except OSError:
            found.append((0, 0))
        else:
            found.append((st.st_dev, st.st_ino))
    return found[0], found[1]


def open_reader(path: Path) -> sqlite3.Connection:
    """Open an existing archive read-only (safe while the daemon writes)."""
    if not path.exists():
        raise ArchiveError(
            f"{path}: no archive here; run `scraper run` first or pass --archive PATH"
        )
    if not os.access(path, os.R_OK):
        raise ArchiveError(f"{path}: cannot read the archive ({_mode(path)})")
    # On a read-only file system no writer can change the file, and SQLite could not create
    # the WAL index it needs to read it: read it as the immutable file it is.
    immutable = "&immutable=1" if _read_only_fs(path.parent) else ""
    conn = sqlite3.connect(
        f"file:{path.resolve()}?mode=ro{immutable}",
        uri=True,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        version = schema.schema_version(conn)
    except sqlite3.OperationalError as exc:
        conn.close()
        raise ArchiveError(f"{path}: cannot read the archive ({_cause(path, exc)})") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ArchiveDamaged(f"{path}: not a usable SQLite archive ({exc})") from None
    if version == 0:
        conn.close()
        raise ArchiveError(f"{path}: not an archive written by newsarchive (no schema)")
    conn.row_factory = sqlite3.Row
    return conn


def integrity_check(path: Path, *, quick: bool = False) -> list[str]:
    """``PRAGMA integrity_check`` (or ``quick_check``) of a file: ``["ok"]`` when it is sound."""
    conn = open_reader(path)
    try:
        pragma = "quick_check" if quick else "integrity_check"
        try:
            return [str(row[0]) for row in conn.execute(f"PRAGMA {pragma}")]
        except sqlite3.DatabaseError as exc:  # too damaged to walk
            return [str(exc)]
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


def _check_writable(path: Path, lock_path: Path) -> None:
    """Name the reason a writer cannot work here before SQLite gives a vaguer one."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(
            f"{path}: cannot create the lock file {lock_path}: {exc.strerror or exc} "
            f"(cannot create the directory {directory})"
        ) from None
    if _read_only_fs(directory):
        raise ArchiveError(
            f"{path}: cannot write the archive: {directory} is on a read-only file system"
        )
    if not directory.is_dir():
        return  # the lock file's creation says why
    beside = (path, lock_path, *(path.with_name(path.name + s) for s in ("-wal", "-shm")))
    if not os.access(directory, os.W_OK | os.X_OK) and not all(p.exists() for p in beside):
        raise ArchiveError(
            f"{path}: cannot write the archive: the directory {directory} is not writable "
            f"by this user ({_mode(directory)}); SQLite keeps {path.name}-wal and "
            f"{path.name}-shm beside the archive, and the lock file is {lock_path.name}"
        )
    for name in beside:
        if name.exists() and not os.access(name, os.R_OK | os.W_OK):
            raise ArchiveError(
                f"{path}: cannot write the archive: {name} is read-only for this user "
                f"({_mode(name)})"
            )


def _read_only_fs(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _mode(path: Path) -> str:
    try:
        st = path.stat()
    except OSError as exc:
        return exc.strerror or str(exc)
    return f"mode {stat.filemode(st.st_mode)}, owner uid {st.st_uid}, this user uid {os.geteuid()}"


def _cause(path: Path, exc: sqlite3.Error) -> str:
    """SQLite's message, with the file-system reason when one explains it."""
    directory = path.parent
    if _read_only_fs(directory):
        return f"{exc}: {directory} is on a read-only file system"
    if not os.access(directory, os.W_OK | os.X_OK):
        return (
            f"{exc}: the directory {directory} is not writable by this user ({_mode(directory)}),"
            f" and SQLite needs to create {path.name}-shm there to read a WAL archive"
        )
    if path.exists() and not os.access(path, os.W_OK):
        return f"{exc}: the file is read-only for this user ({_mode(path)})"
    return str(exc)


_CLEAN = "clean"


def _identity(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _mark_clean(lock_file: IO[str], path: Path) -> None:
    """Record in the lock file that the writer stopped cleanly, and what the file looked like."""
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{_CLEAN} {_identity(path)}\n")
    lock_file.flush()
    os.fsync(lock_file.fileno())


def _take_lock(path: Path, lock_path: Path) -> tuple[IO[str], bool]:
    """The lock, and whether the last writer stopped cleanly on the file as it is now."""
    try:
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
    previous = lock_file.read().split()
    clean = not path.exists() or previous == [_CLEAN, _identity(path)]
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{os.getpid()}\n")  # until a clean stop: a crash leaves this behind
    lock_file.flush()
    os.fsync(lock_file.fileno())
    return lock_file, clean


@dataclass(frozen=True)
class LockHolder:
    """The process that holds an archive's writer lock, as the lock file tells."""

    pid: int
    since: float  # when it took the lock (the lock file's mtime, seconds since the epoch)


def lock_holder(path: Path) -> LockHolder | None:
    """Who writes to the archive at ``path`` now, without taking or disturbing the lock.

    A writer writes its pid into the lock file when it takes the lock and ``clean ...``
    when it stops cleanly; a pid left by a crash is not a holder unless that process is
    alive and (where ``/proc/locks`` tells) holds a lock on that very file.
    """
    lock_path = lock_path_for(path)
    try:
        text = lock_path.read_text(encoding="utf-8").split()
        st = lock_path.stat()
    except OSError:
        return None
    if len(text) != 1 or not text[0].isdigit():
        return None  # "clean ...": the last writer stopped
    pid = int(text[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    held = _flock_inodes()
    if held is not None and (st.st_ino, pid) not in held:
        return None
    return LockHolder(pid=pid, since=st.st_mtime)


def _flock_inodes() -> set[tuple[int, int]] | None:
    """(inode, pid) of every FLOCK lock on this machine, or None without /proc/locks."""
    try:
        lines = Path("/proc/locks").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    found: set[tuple[int, int]] = set()
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK":  # "1: FLOCK ADVISORY WRITE pid maj:min:inode"
            continue
        try:
            found.add((int(parts[5].rsplit(":", 1)[1]), int(parts[4])))
        except (ValueError, IndexError):
            continue
    return found
