"""Retry-After in both forms holds the whole host; holds survive a restart; capped at 6 h."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from faultserver import Conn, FaultServer, Request, fetch_settings, fixed, html, response

from contract.clock import SystemClock
from contract.model import Fetch, Outcome
from scraper.fetch import Fetcher

PAGE = b"<html><body><p>ok</p></body></html>"


def serve_sequence(server: FaultServer, path: str, answers: list[bytes]) -> None:
    """Answer ``path`` with each response in turn, then with the last one."""

    def route(conn: Conn, _req: Request) -> bool:
        conn.send(answers.pop(0) if len(answers) > 1 else answers[0])
        return True

    server.route(path, route)


def fetch_all(urls: list[str], settings: Any, **kw: Any) -> tuple[list[Fetch], list[float]]:
    """Fetch ``urls`` one after another with one fetcher; elapsed seconds of each."""

    async def go() -> tuple[list[Fetch], list[float]]:
        fetcher = Fetcher(
            settings, SystemClock(), trusted_hosts={"127.0.0.1"}, backoff_base=0.01, **kw
        )
        results, times = [], []
        try:
            for url in urls:
                began = time.monotonic()
                results.append(await fetcher.fetch(url))
                times.append(time.monotonic() - began)
        finally:
            await fetcher.aclose()
        return results, times

    results, times = asyncio.run(go())
    assert all(t <= settings.deadline + 1.0 for t in times), times
    return results, times


def test_429_retry_after_seconds_waits_and_retries() -> None:
    server = FaultServer()
    try:
        serve_sequence(
            server,
            "/page",
            [
                response(429, b"", {"Retry-After": "1"}),
                response(200, PAGE, {"Content-Type": "text/html"}),
            ],
        )
        holds: list[tuple[str, datetime, str]] = []
        before = datetime.now(UTC)
        (result,), (elapsed,) = fetch_all(
            [server.url("/page")],
            fetch_settings(max_retries=1, deadline=3.0),
            on_host_hold=lambda *a: holds.append(a),
        )
        after = datetime.now(UTC)
        assert result.outcome_hint is None and result.body == PAGE
        assert elapsed >= 0.95
        ((host, until, reason),) = holds
        assert host == "127.0.0.1" and reason == "HTTP 429 Retry-After: 1"
        # The hold lasts the second the server asked for, and the retry waited it out: measured
        # against the clock around the whole fetch, so a slow start on a loaded machine is no fault.
        assert until - before >= timedelta(seconds=0.9)
        assert until <= after
        gap = server.records[1].request.received_at - server.records[0].finished_at
        assert gap >= 0.95
    finally:
        server.stop()


def test_503_retry_after_http_date_waits_and_retries() -> None:
    server = FaultServer()
    try:
        when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        stamp = format_datetime(when, usegmt=True)
        serve_sequence(
            server,
            "/page",
            [
                response(503, b"", {"Retry-After": stamp}),
                response(200, PAGE, {"Content-Type": "text/html"}),
            ],
        )
        holds: list[tuple[str, datetime, str]] = []
        (result,), _ = fetch_all(
            [server.url("/page")],
            fetch_settings(max_retries=1, deadline=6.0),
            on_host_hold=lambda *a: holds.append(a),
        )
        assert result.outcome_hint is None, result.error
        ((_host, until, reason),) = holds
        assert abs((until - when).total_seconds()) < 0.1
        assert reason == f"HTTP 503 Retry-After: {stamp}"
        # The date has whole-second resolution, so the retry is due at that instant, not
        # a fixed time after the 503 (which may have come late in the second before).
        wall_minus_monotonic = time.time() - time.monotonic()
        retried_at = server.records[1].request.received_at + wall_minus_monotonic
        assert retried_at >= when.timestamp() - 0.05
    finally:
        server.stop()


def test_long_retry_after_fails_fast_and_holds_the_whole_host() -> None:
    server = FaultServer()
    try:
        server.route("/a", fixed(response(429, b"", {"Retry-After": "3600"}), keep=True))
        server.route("/b", html(PAGE))
        holds: list[tuple[str, datetime, str]] = []
        (first, second), times = fetch_all(
            [server.url("/a"), server.url("/b")],
            fetch_settings(max_retries=2),
            on_host_hold=lambda *a: holds.append(a),
        )
        assert first.outcome_hint == Outcome.FAILED and first.status == 429
        assert first.error is not None
        assert first.error.endswith("; Retry-After holds the host for 3600s")
        assert second.outcome_hint == Outcome.FAILED
        assert second.error is not None and "asked to be left alone until" in second.error
        assert "(Retry-After)" in second.error
        assert server.paths() == ["/a"]  # no retry into the hold, nothing sent to /b
        assert max(times) < 0.5
        assert len(holds) == 1
    finally:
        server.stop()


def test_retry_after_is_capped_at_six_hours() -> None:
    server = FaultServer()
    try:
        server.route("/a", fixed(response(503, b"", {"Retry-After": "99999999"}), keep=True))
        holds: list[tuple[str, datetime, str]] = []
        before = datetime.now(UTC)
        fetch_all([server.url("/a")], fetch_settings(), on_host_hold=lambda *a: holds.append(a))
        ((_host, until, _reason),) = holds
        assert timedelta(hours=6) <= until - before <= timedelta(hours=6, seconds=2)
    finally:
        server.stop()


def test_short_hold_delays_the_next_request_to_the_host() -> None:
    server = FaultServer()
    try:
        server.route("/a", fixed(response(429, b"", {"Retry-After": "1"}), keep=True))
        server.route("/b", html(PAGE))
        (first, second), _ = fetch_all([server.url("/a"), server.url("/b")], fetch_settings())
        assert first.outcome_hint == Outcome.FAILED
        assert second.outcome_hint is None
        assert server.records[1].request.received_at - server.records[0].finished_at >= 0.95
    finally:
        server.stop()


def test_saved_holds_are_honoured_after_a_restart() -> None:
    server = FaultServer()
    try:
        server.route("/a", html(PAGE))
        saved = {"127.0.0.1": datetime.now(UTC) + timedelta(hours=1)}
        (held,), _ = fetch_all([server.url("/a")], fetch_settings(), host_holds=saved)
        assert held.outcome_hint == Outcome.FAILED and server.paths() == []
        expired = {"127.0.0.1": datetime.now(UTC) - timedelta(seconds=1)}
        (fine,), _ = fetch_all([server.url("/a")], fetch_settings(), host_holds=expired)
        assert fine.outcome_hint is None and server.paths() == ["/a"]
    finally:
        server.stop()


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    server = FaultServer()
    try:
        serve_sequence(
            server,
            "/page",
            [
                response(503, b"", {"Retry-After": "soon-ish"}),
                response(200, PAGE, {"Content-Type": "text/html"}),
            ],
        )
        holds: list[object] = []
        (result,), _ = fetch_all(
            [server.url("/page")],
            fetch_settings(max_retries=1),
            on_host_hold=lambda *a: holds.append(a),
        )
        assert result.outcome_hint is None and holds == []
    finally:
        server.stop()
