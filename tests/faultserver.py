"""A raw-socket HTTP server that misbehaves on purpose, for the fetcher's tests and bench.

It listens on a loopback address (port 0), answers each connection in its own
thread and hands the parsed request to a route: a function that writes whatever
bytes it likes to the socket (slow headers, drips, resets, broken framing...).
It records every request with the time it arrived and the time its answer was
finished, and how many requests were in flight at once, so politeness can be
measured from the server's side.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from scraper.config import FetchSettings

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    408: "Request Timeout",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    received_at: float  # time.monotonic()


@dataclass
class Record:
    request: Request
    finished_at: float = 0.0


class Conn:
    """The client connection, with the ways a route may answer or misbehave."""

    def __init__(self, sock: socket.socket, server: FaultServer) -> None:
        self.sock = sock
        self.server = server

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def drip(self, data: bytes, every: float) -> None:
        """Send one byte at a time; stop when the client goes away or the server stops."""
        for i in range(len(data)):
            if self.server.stopping.is_set() or not self.send(data[i : i + 1]):
                return
            time.sleep(every)

    def pause(self, seconds: float) -> None:
        self.server.stopping.wait(seconds)

    def reset(self) -> None:
        """Close with RST instead of FIN."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Route = Callable[[Conn, Request], bool | None]  # True keeps the connection for another request


def response(
    status: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    content_length: int | None = None,
) -> bytes:
    """A complete HTTP/1.1 response with a Content-Length (the given one, if any)."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    merged = {"Content-Length": str(len(body) if content_length is None else content_length)}
    merged.update(headers or {})
    lines += [f"{k}: {v}" for k, v in merged.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def html(body: bytes | str, status: int = 200, extra: dict[str, str] | None = None) -> Route:
    data = body.encode("utf-8") if isinstance(body, str) else body
    headers = {"Content-Type": "text/html; charset=utf-8", **(extra or {})}

    def route(conn: Conn, _req: Request) -> bool:
        conn.send(response(status, data, headers))
        return True

    return route


def fixed(raw: bytes, keep: bool = False) -> Route:
    """Send exactly these bytes, then close (or keep) the connection."""

    def route(conn: Conn, _req: Request) -> bool:
        conn.send(raw)
        return keep

    return route


@dataclass
class FaultServer:
    host: str = "127.0.0.1"
    routes: dict[str, Route] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    connections: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, 0))
        self._listener.listen(256)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Route) -> None:
        self.routes[path] = handler

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Until every handler has returned: a client can read its answer a moment
        before the serving thread notes the request's end (``finished_at``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.in_flight == 0:
                    return
            time.sleep(0.005)
        raise TimeoutError(f"{self.url()}: {self.in_flight} requests still being answered")

    def paths(self) -> list[str]:
        with self._lock:
            return [r.request.path for r in self.records]

    def stop(self) -> None:
        self.stopping.set()
        self._accepter.join(timeout=2)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(5.0)
        buffer = b""
        try:
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                request = _parse(head)
                record = Record(request)
                with self._lock:
                    self.records.append(record)
                    self.in_flight += 1
                    self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    handler = self.routes.get(request.path.split("?")[0]) or _not_found
                    keep = handler(Conn(sock, self), request)
                finally:
                    with self._lock:
                        self.in_flight -= 1
                        record.finished_at = time.monotonic()
                if not keep:
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                sock.close()


def _not_found(conn: Conn, _req: Request) -> bool:
    conn.send(response(404, b"not found", {"Content-Type": "text/plain"}))
    return True


def _parse(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = [*lines[0].split(" ", 2), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, path, headers, time.monotonic())


# --- helpers shared by the fetcher's tests and bench ---------------------------------------


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port where nobody listens: a socket holds it bound, so connects are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def fetch_settings(**overrides: Any) -> FetchSettings:
    """Short timeouts and no gap, so fault tests stay fast; override per test."""
    defaults = FetchSettings(
        user_agent="newsarchive-test/1.0",
        connect_timeout=1.0,
        read_timeout=1.0,
        deadline=2.0,
        host_gap=0.0,
        max_retries=0,
        robots=False,
    )
    return replace(defaults, **overrides)


class MapResolver:
    """A resolver answering from a table, recording every name it was asked for."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"test resolver: no such host {host}")
        return list(self.table[host])


class ConnectRecorder:
    """Every socket.connect() this process makes while recording (a sys audit hook)."""

    _installed = False
    _active: list[list[object]] = []  # noqa: RUF012  (the hook is process-wide, so is this)

    def __init__(self) -> None:
        self.addresses: list[object] = []
        if not ConnectRecorder._installed:
            sys.addaudithook(ConnectRecorder._hook)
            ConnectRecorder._installed = True

    @staticmethod
    def _hook(event: str, args: tuple[object, ...]) -> None:
        if event == "socket.connect" and ConnectRecorder._active:
            for sink in ConnectRecorder._active:
                sink.append(args[1])

    def __enter__(self) -> ConnectRecorder:
        ConnectRecorder._active.append(self.addresses)
        return self

    def __exit__(self, *_exc: object) -> None:
        ConnectRecorder._active.remove(self.addresses)

    def hosts(self) -> list[str]:
        return [str(a[0]) for a in self.addresses if isinstance(a, tuple)]
