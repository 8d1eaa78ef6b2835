"""The fetcher against a server that misbehaves on purpose: every fault is a recorded outcome.

Each case serves one misbehaviour from a raw-socket server on 127.0.0.1 and asserts
the outcome and the error sentence the archive would record. For every case: no
exception escapes, and the fetch ends within its deadline plus one second.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import brotli
import pytest
from faultserver import (
    Conn,
    FaultServer,
    Request,
    Route,
    fetch_settings,
    fixed,
    html,
    response,
)

from archive.compress import BodyCodec
from contract.clock import SystemClock
from contract.model import Fetch, Outcome
from scraper.fetch import Fetcher, Validators

PAGE = b"<!doctype html><html><head><title>t</title></head><body><p>Hello</p></body></html>"
MiB = 1024 * 1024
BOMB_SIZE = 200 * MiB  # decoded size of each bomb; the cap is 10 MiB


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer()
    yield srv
    srv.stop()


def run_fetch(
    url: str,
    *,
    settings: Any = None,
    validators: Validators | None = None,
    expect: Any = "article",
    **fetcher_kw: Any,
) -> Fetch:
    settings = settings or fetch_settings()

    async def go() -> tuple[Fetch, float]:
        fetcher = Fetcher(
            settings,
            SystemClock(),
            trusted_hosts={"127.0.0.1"},
            backoff_base=fetcher_kw.pop("backoff_base", 0.01),
            **fetcher_kw,
        )
        try:
            began = time.monotonic()
            result = await fetcher.fetch(url, validators=validators, expect=expect)
            return result, time.monotonic() - began
        finally:
            await fetcher.aclose()

    result, elapsed = asyncio.run(go())
    assert elapsed <= settings.deadline + 1.0, f"took {elapsed:.2f}s"
    return result


# --- the misbehaviours -----------------------------------------------------------------


def slow(seconds: float, then: bytes) -> Route:
    def route(conn: Conn, _req: Request) -> bool:
        conn.pause(seconds)
        conn.send(then)
        return False

    return route


def drip(head: bytes, body: bytes, every: float) -> Route:
    def route(conn: Conn, _req: Request) -> bool:
        conn.send(head)
        conn.drip(body, every)
        return False

    return route


def reset_after(data: bytes) -> Route:
    def route(conn: Conn, _req: Request) -> bool:
        conn.send(data)
        time.sleep(0.05)
        conn.reset()
        return False

    return route


def redirect(location: str, status: int = 302) -> Route:
    return fixed(response(status, b"", {"Location": location}), keep=True)


def encoded(body: bytes, encoding: str, content_type: str = "text/html") -> bytes:
    return response(200, body, {"Content-Encoding": encoding, "Content-Type": content_type})


def _zeros_compressed(make: Callable[[], Any], size: int) -> bytes:
    compressor = make()
    block = b"\0" * MiB
    parts = [compressor.compress(block) for _ in range(size // MiB)]
    parts.append(compressor.flush())
    return b"".join(parts)


class _BrotliStream:
    def __init__(self) -> None:
        self.inner = brotli.Compressor(quality=5)

    def compress(self, data: bytes) -> bytes:
        return bytes(self.inner.process(data))

    def flush(self) -> bytes:
        return bytes(self.inner.finish())


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {
        "gzip": _zeros_compressed(lambda: zlib.compressobj(9, zlib.DEFLATED, 31), BOMB_SIZE),
        "deflate": _zeros_compressed(lambda: zlib.compressobj(9, zlib.DEFLATED, 15), BOMB_SIZE),
        "raw-deflate": _zeros_compressed(
            lambda: zlib.compressobj(9, zlib.DEFLATED, -15), BOMB_SIZE
        ),
        "br": _zeros_compressed(_BrotliStream, BOMB_SIZE),
        "zstd": BodyCodec().compress(b"\0" * (20 * MiB)),
    }


@dataclass
class Case:
    name: str
    routes: dict[str, Route]
    outcome: Outcome | None
    error: str | None  # a regex the recorded error must match
    path: str = "/page"
    settings: dict[str, Any] = field(default_factory=dict)
    expect: str = "article"
    validators: Validators | None = None
    status: int | None = None


def chain(n: int) -> dict[str, Callable[[Conn, Request], bool | None]]:
    routes: dict[str, Route] = {f"/hop{i}": redirect(f"/hop{i + 1}") for i in range(n)}
    routes[f"/hop{n}"] = html(PAGE)
    return routes


HEAD_1000 = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n"

CASES = [
    Case(
        "slow headers past the read timeout",
        {"/page": slow(3, response(200, PAGE))},
        Outcome.FAILED,
        r"read timeout: 127\.0\.0\.1 sent nothing for too long after 0 bytes",
        settings={"read_timeout": 0.3},
    ),
    Case(
        "slow headers past the deadline",
        {"/page": slow(3, response(200, PAGE))},
        Outcome.FAILED,
        r"^deadline of 1s exceeded after 0 bytes fetching http://127\.0\.0\.1:\d+/page$",
        settings={"read_timeout": 5.0, "deadline": 1.0},
    ),
    Case(
        "one-byte drip of the body",
        {"/page": drip(HEAD_1000, b"x" * 1000, 0.05)},
        Outcome.FAILED,
        r"^deadline of 1s exceeded after [1-9]\d* bytes",
        settings={"deadline": 1.0},
    ),
    Case(
        "one-byte drip of the headers",
        {"/page": drip(b"", HEAD_1000, 0.05)},
        Outcome.FAILED,
        r"^deadline of 1s exceeded after 0 bytes",
        settings={"deadline": 1.0},
    ),
    Case(
        "reset in the middle of the body",
        {"/page": reset_after(HEAD_1000 + b"x" * 100)},
        Outcome.FAILED,
        r"(broke|broken or incomplete response).* after \d+ bytes fetching",
    ),
    Case(
        "close before any header",
        {"/page": fixed(b"")},
        Outcome.FAILED,
        r"broken or incomplete response from 127\.0\.0\.1 after 0 bytes.*disconnected",
    ),
    Case(
        "reset before any header",
        {"/page": reset_after(b"")},
        Outcome.FAILED,
        r"(broke|broken or incomplete response) .*after 0 bytes",
    ),
    Case(
        "close in the middle of the headers",
        {"/page": fixed(b"HTTP/1.1 200 OK\r\nContent-Le")},
        Outcome.FAILED,
        r"broken or incomplete response",
    ),
    Case(
        "garbage instead of a status line",
        {"/page": fixed(b"HELLO THERE\r\n\r\n")},
        Outcome.FAILED,
        r"broken or incomplete response",
    ),
    Case(
        "Content-Length larger than the body",
        {"/page": fixed(response(200, PAGE, {"Content-Type": "text/html"}, content_length=5000))},
        Outcome.FAILED,
        r"broken or incomplete response .*after \d+ bytes.*(incomplete|closed)",
    ),
    Case(
        "broken chunked framing",
        {
            "/page": fixed(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"ZZ\r\nhello\r\n0\r\n\r\n"
            )
        },
        Outcome.FAILED,
        r"broken or incomplete response",
    ),
    Case(
        "chunked body cut before its last chunk",
        {
            "/page": fixed(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n"
            )
        },
        Outcome.FAILED,
        r"broken or incomplete response",
    ),
    Case(
        "plain body over the cap",
        {
            "/page": fixed(
                response(200, b"<html>" + b"x" * (2 * MiB), {"Content-Type": "text/html"})
            )
        },
        Outcome.FAILED,
        r"^body larger than 1048576 bytes at http://127\.0\.0\.1:\d+/page$",
        settings={"max_bytes": MiB},
    ),
    Case(
        "corrupt gzip",
        {"/page": fixed(encoded(b"\x1f\x8b\x08\x00garbage-not-gzip-data", "gzip"))},
        Outcome.FAILED,
        r"corrupt gzip body",
    ),
    Case(
        "gzip body cut short",
        {"/page": fixed(encoded(gzip.compress(PAGE * 50)[:-30], "gzip"))},
        Outcome.FAILED,
        r"^gzip body from http://127\.0\.0\.1:\d+/page is cut short$",
    ),
    Case(
        "brotli body cut short",
        {"/page": fixed(encoded(brotli.compress(PAGE * 50)[:-5], "br"))},
        Outcome.FAILED,
        r"^br body from http://127\.0\.0\.1:\d+/page is cut short$",
    ),
    Case(
        "stacked content encodings",
        {"/page": fixed(encoded(gzip.compress(gzip.compress(PAGE)), "gzip, gzip"))},
        Outcome.FAILED,
        r"unsupported stacked content-encoding gzip, gzip",
    ),
    Case(
        "a 25-hop redirect chain",
        chain(25),
        Outcome.FAILED,
        r"^too many redirects \(>10\) starting at http://127\.0\.0\.1:\d+/hop0$",
        path="/hop0",
    ),
    Case(
        "a redirect loop",
        {"/a": redirect("/b"), "/b": redirect("/a")},
        Outcome.FAILED,
        r"^redirect loop: http://127\.0\.0\.1:\d+/b leads back to http://127\.0\.0\.1:\d+/a$",
        path="/a",
    ),
    Case(
        "a page redirecting to itself",
        {"/self": redirect("/self#top", 301)},
        Outcome.FAILED,
        r"^redirect loop",
        path="/self",
    ),
    Case(
        "redirect to file:",
        {"/page": redirect("file:///etc/passwd")},
        Outcome.REJECTED,
        r"refused scheme file: in file:///etc/passwd",
    ),
    Case(
        "redirect to FILE: in capitals",
        {"/page": redirect("FILE:///etc/passwd")},
        Outcome.REJECTED,
        r"refused scheme file: in FILE:///etc/passwd",
    ),
    Case(
        "redirect to ftp:",
        {"/page": redirect("ftp://127.0.0.1/pub/x")},
        Outcome.REJECTED,
        r"refused scheme ftp:",
    ),
    Case(
        "redirect to FtP: in mixed case",
        {"/page": redirect("FtP://127.0.0.1/pub/x")},
        Outcome.REJECTED,
        r"refused scheme ftp:",
    ),
    Case(
        "redirect to javascript:",
        {"/page": redirect("javascript:alert(1)")},
        Outcome.REJECTED,
        r"refused scheme javascript:",
    ),
    Case(
        "redirect without a Location",
        {"/page": fixed(response(302, b""), keep=True)},
        Outcome.FAILED,
        r"^HTTP 302 redirect without a Location from",
        status=302,
    ),
    Case(
        "503 on every attempt",
        {"/page": fixed(response(503, b"busy"), keep=True)},
        Outcome.FAILED,
        r"^HTTP 503 Service Unavailable from http://127\.0\.0\.1:\d+/page after 3 attempts$",
        settings={"max_retries": 2},
        status=503,
    ),
    Case(
        "408 on every attempt",
        {"/page": fixed(response(408, b""), keep=True)},
        Outcome.FAILED,
        r"^HTTP 408 Request Timeout from .* after 2 attempts$",
        settings={"max_retries": 1},
        status=408,
    ),
    Case(
        "304 to a conditional request",
        {"/page": fixed(response(304, b"", {"ETag": '"v1"'}), keep=True)},
        Outcome.NOT_MODIFIED,
        None,
        validators=Validators('"v1"', "Sun, 29 Nov 2026 00:00:00 GMT"),
        status=304,
    ),
    Case(
        "304 to a request without validators",
        {"/page": fixed(response(304, b""), keep=True)},
        Outcome.FAILED,
        r"answered 304 Not Modified to a request without validators",
        status=304,
    ),
    Case("404", {}, Outcome.GONE, r"^HTTP 404 Not Found for http://127", status=404),
    Case(
        "410",
        {"/page": fixed(response(410, b""), keep=True)},
        Outcome.GONE,
        r"^HTTP 410 Gone for",
        status=410,
    ),
    Case(
        "a PDF where an article was expected",
        {"/page": fixed(response(200, b"%PDF-1.7 fake", {"Content-Type": "application/pdf"}))},
        Outcome.FAILED,
        r"^non-HTML content application/pdf where an article was expected \(sha256 "
        + hashlib.sha256(b"%PDF-1.7 fake").hexdigest()
        + r", 13 bytes\) at http://127",
        status=200,
    ),
    Case(
        "an image where an article was expected",
        {"/page": fixed(response(200, b"\x89PNG\r\n\x1a\n", {"Content-Type": "image/png"}))},
        Outcome.FAILED,
        r"^non-HTML content image/png where an article was expected \(sha256 [0-9a-f]{64}, 8 bytes",
    ),
    Case(
        "JSON where an article was expected",
        {"/page": fixed(response(200, b"{}", {"Content-Type": "application/json"}))},
        Outcome.FAILED,
        r"^non-HTML content application/json",
    ),
    Case(
        "a feed where an article was expected",
        {"/page": fixed(response(200, b"<rss/>", {"Content-Type": "application/rss+xml"}))},
        Outcome.FAILED,
        r"^non-HTML content application/rss\+xml where an article was expected",
    ),
    Case(
        "an image where a feed was expected",
        {"/page": fixed(response(200, b"GIF89a", {"Content-Type": "image/gif"}))},
        Outcome.FAILED,
        r"^content image/gif where a feed was expected",
        expect="feed",
    ),
    Case(
        "missing content type on a binary body",
        {"/page": fixed(response(200, b"\x00\x01\x02binary"))},
        Outcome.FAILED,
        r"^missing content type and the body does not look like HTML \(sha256",
    ),
    Case(
        "missing content type on an HTML body",
        {"/page": fixed(response(200, PAGE))},
        None,
        None,
        status=200,
    ),
    Case(
        "Content-Length smaller than the body: the declared length is kept",
        {"/page": fixed(response(200, PAGE, {"Content-Type": "text/html"}, content_length=15))},
        None,
        None,
        status=200,
    ),
    Case(
        "a 10-hop redirect chain is followed",
        chain(10),
        None,
        None,
        path="/hop0",
        status=200,
    ),
    Case(
        "start URL with an ftp: scheme",
        {},
        Outcome.REJECTED,
        r"^refused scheme ftp: in FTP://127\.0\.0\.1/x; only http and https are fetched$",
        path="FTP://127.0.0.1/x",
    ),
    Case(
        "nobody listening",
        {},
        Outcome.FAILED,
        r"^cannot connect to 127\.0\.0\.1 fetching http://127\.0\.0\.1:1/page",
        path="http://127.0.0.1:1/page",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_is_recorded(server: FaultServer, case: Case) -> None:
    for path, route in case.routes.items():
        server.route(path, route)
    url = case.path if "://" in case.path else server.url(case.path)
    result = run_fetch(
        url,
        settings=fetch_settings(**case.settings),
        validators=case.validators,
        expect=case.expect,
    )
    assert result.outcome_hint == case.outcome, result.error
    if case.error is None:
        assert result.error is None
        assert (result.body is not None) == (case.outcome is None)
    else:
        assert result.error is not None and re.search(case.error, result.error), result.error
        assert result.body is None
    if case.status is not None:
        assert result.status == case.status


def test_content_length_smaller_keeps_declared_bytes(server: FaultServer) -> None:
    server.route(
        "/page", fixed(response(200, PAGE, {"Content-Type": "text/html"}, content_length=15))
    )
    assert run_fetch(server.url("/page")).body == PAGE[:15]


def test_ten_hops_end_at_the_last_url(server: FaultServer) -> None:
    for path, route in chain(10).items():
        server.route(path, route)
    result = run_fetch(server.url("/hop0"))
    assert result.final_url == server.url("/hop10")
    assert result.url == server.url("/hop0")
    assert server.paths() == [f"/hop{i}" for i in range(11)]


def test_503_retried_then_served(server: FaultServer) -> None:
    answers = [
        response(503, b""),
        response(500, b""),
        response(200, PAGE, {"Content-Type": "text/html"}),
    ]

    def route(conn: Conn, _req: Request) -> bool:
        conn.send(answers.pop(0))
        return True

    server.route("/page", route)
    result = run_fetch(server.url("/page"), settings=fetch_settings(max_retries=2))
    assert result.outcome_hint is None and result.body == PAGE
    assert server.paths() == ["/page"] * 3


def test_reset_is_retried(server: FaultServer) -> None:
    answers: list[Route] = [
        reset_after(HEAD_1000 + b"x" * 10),
        fixed(response(200, PAGE, {"Content-Type": "text/html"})),
    ]
    server.route("/page", lambda conn, req: answers.pop(0)(conn, req))
    result = run_fetch(server.url("/page"), settings=fetch_settings(max_retries=1))
    assert result.outcome_hint is None and result.body == PAGE


def test_conditional_get_sends_validators(server: FaultServer) -> None:
    server.route("/page", fixed(response(304, b""), keep=True))
    validators = Validators('"abc"', "Sat, 28 Nov 2026 10:00:00 GMT")
    result = run_fetch(server.url("/page"), validators=validators)
    assert result.outcome_hint == Outcome.NOT_MODIFIED
    headers = server.records[0].request.headers
    assert headers["if-none-match"] == '"abc"'
    assert headers["if-modified-since"] == "Sat, 28 Nov 2026 10:00:00 GMT"


def test_success_records_validators_and_headers(server: FaultServer) -> None:
    server.route(
        "/page",
        html(PAGE, extra={"ETag": '"v2"', "Last-Modified": "Sat, 28 Nov 2026 10:00:00 GMT"}),
    )
    result = run_fetch(server.url("/page"))
    assert (result.etag, result.last_modified) == ('"v2"', "Sat, 28 Nov 2026 10:00:00 GMT")
    assert result.status == 200 and result.content_type == "text/html; charset=utf-8"
    assert ("ETag", '"v2"') in result.headers or ("etag", '"v2"') in result.headers
    assert server.records[0].request.headers["accept-encoding"] == "gzip, deflate, br, zstd"


# --- decompression bombs ---------------------------------------------------------------------

BOMB_CASES = [
    ("gzip", "gzip", r"^body larger than 10485760 bytes after gzip decoding at http://127"),
    ("deflate", "deflate", r"^body larger than 10485760 bytes after deflate decoding"),
    ("raw-deflate", "deflate", r"^body larger than 10485760 bytes after deflate decoding"),
    ("br", "br", r"^body larger than 10485760 bytes after br decoding"),
    ("zstd", "zstd", r"^body larger than 10485760 bytes after zstd decoding"),
]


@pytest.mark.parametrize(("bomb", "encoding", "error"), BOMB_CASES, ids=[b[0] for b in BOMB_CASES])
def test_decompression_bomb_stops_early(
    server: FaultServer, bombs: dict[str, bytes], bomb: str, encoding: str, error: str
) -> None:
    server.route("/page", fixed(encoded(bombs[bomb], encoding)))
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        result = run_fetch(server.url("/page"), settings=fetch_settings(deadline=5.0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.outcome_hint == Outcome.FAILED
    assert result.error is not None and re.search(error, result.error), result.error
    assert peak - baseline < 64 * MiB, f"grew {(peak - baseline) / MiB:.1f} MiB"


def test_small_compressed_bodies_are_decoded(server: FaultServer) -> None:
    server.route("/gz", fixed(encoded(gzip.compress(PAGE), "gzip")))
    server.route("/br", fixed(encoded(brotli.compress(PAGE), "br")))
    server.route("/raw", fixed(encoded(zlib.compress(PAGE)[2:-4], "deflate")))
    server.route("/zst", fixed(encoded(BodyCodec().compress(PAGE), "zstd")))
    server.route(
        "/two", fixed(encoded(gzip.compress(PAGE[:20]) + gzip.compress(PAGE[20:]), "gzip"))
    )
    for path in ("/gz", "/br", "/raw", "/two", "/zst"):
        result = run_fetch(server.url(path))
        assert (path, result.body) == (path, PAGE), result.error


def test_cut_short_and_corrupt_zstd_bodies_fail(server: FaultServer) -> None:
    whole = BodyCodec().compress(PAGE * 50)
    server.route("/cut", fixed(encoded(whole[: len(whole) // 2], "zstd")))
    server.route("/junk", fixed(encoded(b"certainly not zstd" * 10, "zstd")))
    cut = run_fetch(server.url("/cut"))
    assert cut.outcome_hint == Outcome.FAILED
    assert cut.error is not None and re.search(r"^zstd body from .* is cut short", cut.error)
    junk = run_fetch(server.url("/junk"))
    assert junk.outcome_hint == Outcome.FAILED
    assert junk.error is not None and junk.error.startswith("corrupt zstd body")
