"""A throwaway PostgreSQL server for the cluster tests, on 127.0.0.1 only.

``initdb`` into a temporary folder, then ``postgres -k FOLDER -h 127.0.0.1 -p PORT``
(no durability: a test database lives for one test run). PostgreSQL refuses to run as
root, so as root both run as the ``postgres`` user (Debian's package creates it), else
as ``nobody``. Each test gets a database of its own (``createdb``).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasette_server import free_port

_SEARCH = "/usr/lib/postgresql/*/bin"
USER = "newsarchive"  # the database superuser initdb creates
_names = itertools.count()


class PostgresMissing(Exception):
    """No PostgreSQL server programs on this machine; the message says what to install."""


def binaries() -> Path:
    """The folder of initdb and postgres: on PATH, or Debian's newest version folder."""
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("postgres") is not None:
        return Path(on_path).resolve().parent
    found = sorted(glob.glob(_SEARCH), key=_version)
    for folder in reversed(found):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    raise PostgresMissing(
        "PostgreSQL's initdb and postgres were not found (on PATH or in /usr/lib/postgresql);"
        " install Debian's postgresql package (.ci/postgresql.sh does)"
    )


def _version(folder: str) -> int:
    name = Path(folder).parent.name
    return int(name) if name.isdigit() else 0


def _run_as() -> dict[str, Any]:
    """How to start a server program as a user PostgreSQL accepts: as root, that user's ids
    (given to the process itself, so signals reach the server, not a runuser in between)."""
    if os.getuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise PostgresMissing("running as root with neither a postgres nor a nobody user")


@dataclass(frozen=True)
class Server:
    port: int
    bin: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on the server; its URL."""
        name = f"test_{os.getpid()}_{next(_names)}"
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name],
            check=True,
            capture_output=True,
        )
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[Server]:
    folder = Path(tempfile.mkdtemp(prefix="newsarchive-pg-"))
    who = _run_as()
    bin_dir = binaries()
    if who:
        os.chown(folder, who["user"], who["group"])
    data = folder / "data"
    log = folder / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, cwd=folder, **who,
        )  # fmt: skip
        port = free_port()
        with open(log, "wb") as out:
            server = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-k", str(folder),
                 "-h", "127.0.0.1", "-p", str(port), "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=out, stderr=subprocess.STDOUT, cwd=folder, **who,
            )  # fmt: skip
        _wait_ready(server, port, log)
        yield Server(port, bin_dir)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)  # fast shutdown: a test database is thrown away
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited: {log.read_text(errors='replace')[-2000:]}")
        if "ready to accept connections" in log.read_text(errors="replace"):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
        time.sleep(0.05)
    raise RuntimeError(f"postgres did not start within 30 s: {log.read_text(errors='replace')}")
