"""Start a real Datasette (``archive serve``) on 127.0.0.1 for a test, and talk to it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        request = urllib.request.Request(self.base + path)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read().decode("utf-8")
                return response.status, body, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)

    def text(self, path: str) -> str:
        status, body, _ = self.get(path)
        assert status == 200, (
            f"GET {path} -> {status}: {body[:500]}\n{self.log.read_text()[-2000:]}"
        )
        return body

    def json(self, path: str) -> Any:
        return json.loads(self.text(path))


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"datasette exited early:\n{server.log.read_text()}")
        try:
            with urllib.request.urlopen(server.base + "/-/versions.json", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(
        f"datasette did not answer within {STARTUP_TIMEOUT_S} s:\n{server.log.read_text()}"
    )


@contextmanager
def running(argv: Sequence[str], port: int, log: Path) -> Iterator[Server]:
    """Run ``argv`` (a command that starts Datasette on ``port``) until the block ends."""
    with open(log, "wb") as out:
        process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def archive_serve_command(archive: Path, *extra: str) -> list[str]:
    """``archive serve ARCHIVE ...`` through the installed console script's module."""
    return [
        sys.executable,
        "-c",
        "from archive.cli import main; main()",
        "serve",
        str(archive),
        *extra,
    ]
