"""robots.txt per RFC 9309 as the fetcher applies it, against a real server."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faultserver import (
    Conn,
    FaultServer,
    MapResolver,
    Request,
    Route,
    closed_port,
    fetch_settings,
    fixed,
    html,
    response,
)

from contract.clock import Clock
from contract.model import Fetch, Outcome
from scraper.config import Source
from scraper.fetch import Fetcher
from scraper.politeness import MAX_CRAWL_DELAY_S, HostSlots
from scraper.schedule import Schedule

PAGE = b"<html><body><p>ok</p></body></html>"


class ShiftedClock:
    """The system clock, plus an offset a test can advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer()
    for path in ("/page", "/early", "/late", "/private/x", "/mine", "/a", "/b"):
        srv.route(path, html(PAGE))
    yield srv
    srv.stop()


def robots(text: str | bytes, status: int = 200) -> Route:
    body = text.encode() if isinstance(text, str) else text
    return fixed(response(status, body, {"Content-Type": "text/plain"}), keep=True)


def fetch_paths(
    server: FaultServer,
    paths: list[str],
    *,
    clock: Clock | None = None,
    between: Callable[[], None] | None = None,
    source: Source | None = None,
    **settings: Any,
) -> list[Fetch]:
    config = fetch_settings(**{"robots": True, **settings})

    async def go() -> list[Fetch]:
        fetcher = Fetcher(config, clock or ShiftedClock(), trusted_hosts={"127.0.0.1"})
        results = []
        try:
            for path in paths:
                began = time.monotonic()
                results.append(await fetcher.fetch(server.url(path), source=source))
                assert time.monotonic() - began <= config.deadline + 1.0
                if between:
                    between()
        finally:
            await fetcher.aclose()
        return results

    return asyncio.run(go())


def test_disallowed_path_is_rejected_with_the_reason(server: FaultServer) -> None:
    server.route("/robots.txt", robots("User-agent: *\nDisallow: /private\n"))
    page, private = fetch_paths(server, ["/page", "/private/x"])
    assert page.outcome_hint is None
    assert private.outcome_hint == Outcome.REJECTED
    assert private.error == (
        f"robots.txt disallows /private/x for newsarchive-test ({server.url('/private/x')})"
    )
    assert server.paths() == ["/robots.txt", "/page"]  # fetched once, then cached


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_robots_4xx_allows_everything(server: FaultServer, status: int) -> None:
    server.route("/robots.txt", robots("User-agent: *\nDisallow: /\n", status))
    (page,) = fetch_paths(server, ["/page"])
    assert page.outcome_hint is None
    assert server.paths() == ["/robots.txt", "/page"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_robots_5xx_disallows_everything(server: FaultServer, status: int) -> None:
    # Not fetched, but not refused either: the site could not be asked, so the page failed.
    server.route("/robots.txt", robots("", status))
    (page,) = fetch_paths(server, ["/page"])
    assert page.outcome_hint == Outcome.FAILED
    assert page.error == f"robots.txt unreachable: HTTP {status}"
    assert server.paths() == ["/robots.txt"]


def test_robots_network_error_disallows(server: FaultServer) -> None:
    server.route("/robots.txt", fixed(b""))
    (page,) = fetch_paths(server, ["/page"])
    assert page.outcome_hint == Outcome.FAILED
    assert page.error == "robots.txt unreachable: broken or incomplete response"
    assert server.paths() == ["/robots.txt"]


def test_nobody_listening_is_a_failure_with_one_short_cause() -> None:
    # A real loopback port with a socket bound but not listening: every connect is refused,
    # as for a host that is down. Nothing refused the page; it failed, in one short cause.
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}/news/story.html"

        async def go() -> Fetch:
            fetcher = Fetcher(
                fetch_settings(robots=True, max_retries=1),
                ShiftedClock(),
                trusted_hosts={"127.0.0.1"},
                backoff_base=0.01,
            )
            try:
                return await fetcher.fetch(url)
            finally:
                await fetcher.aclose()

        page = asyncio.run(go())
    assert page.outcome_hint == Outcome.FAILED
    assert page.error == "robots.txt unreachable: connection refused"


def test_no_network_is_a_failure_naming_the_name_that_did_not_resolve() -> None:
    # Offline, names do not resolve: the page failed; nothing refused it.
    async def go() -> Fetch:
        fetcher = Fetcher(
            fetch_settings(robots=True),
            ShiftedClock(),
            trusted_origins={"http://news.test/"},
            resolver=MapResolver({}),
        )
        try:
            return await fetcher.fetch("http://news.test/story.html")
        finally:
            await fetcher.aclose()

    page = asyncio.run(go())
    assert page.outcome_hint == Outcome.FAILED
    assert page.error == "robots.txt unreachable: cannot resolve news.test"


def test_a_one_off_fetch_reports_the_page_not_its_robots(server: FaultServer) -> None:
    # scraper extract: a person asked for this page, so an unreadable robots.txt does not
    # hide the page's own answer; robots.txt rules, when it can be read, still apply.
    server.route("/robots.txt", robots("", 503))
    server.route("/gone", fixed(response(410, b""), keep=True))

    async def go() -> list[Fetch]:
        fetcher = Fetcher(
            fetch_settings(robots=True), ShiftedClock(), trusted_hosts={"127.0.0.1"}, one_off=True
        )
        try:
            return [await fetcher.fetch(server.url(p)) for p in ("/page", "/gone")]
        finally:
            await fetcher.aclose()

    page, gone = asyncio.run(go())
    assert page.outcome_hint is None and page.body == PAGE
    assert gone.outcome_hint == Outcome.GONE
    assert gone.error == f"HTTP 410 Gone for {server.url('/gone')}"


def test_unreachable_robots_is_tried_again_later(server: FaultServer) -> None:
    answers = [response(503, b""), response(200, b"User-agent: *\nAllow: /\n")]

    def route(conn: Conn, _req: Request) -> bool:
        conn.send(answers.pop(0))
        return True

    server.route("/robots.txt", route)
    clock = ShiftedClock()

    def later() -> None:
        clock.offset += 601

    first, second = fetch_paths(server, ["/page", "/page"], clock=clock, between=later)
    assert first.outcome_hint == Outcome.FAILED
    assert second.outcome_hint is None
    assert server.paths() == ["/robots.txt", "/robots.txt", "/page"]


def test_robots_is_cached_at_most_a_day(server: FaultServer) -> None:
    answers = [b"User-agent: *\nAllow: /\n", b"User-agent: *\nDisallow: /\n"]

    def route(conn: Conn, _req: Request) -> bool:
        conn.send(response(200, answers.pop(0)))
        return True

    server.route("/robots.txt", route)
    clock = ShiftedClock()
    steps = iter([3600.0, 23 * 3600.0 + 1])

    def later() -> None:
        clock.offset += next(steps, 0.0)

    first, second, third = fetch_paths(
        server, ["/page", "/page", "/page"], clock=clock, between=later
    )
    assert (first.outcome_hint, second.outcome_hint) == (None, None)
    assert third.outcome_hint == Outcome.REJECTED
    assert server.paths() == ["/robots.txt", "/page", "/page", "/robots.txt"]


def test_huge_robots_is_read_up_to_512_kib(server: FaultServer) -> None:
    filler = b"# " + b"x" * 98 + b"\n"
    body = (
        b"User-agent: *\nDisallow: /early\n"
        + filler * (2 * 1024 * 1024 // len(filler) + 1)
        + b"Disallow: /late\n"
    )
    assert len(body) > 2 * 1024 * 1024
    server.route("/robots.txt", robots(body))
    early, late = fetch_paths(server, ["/early", "/late"])
    assert early.outcome_hint == Outcome.REJECTED
    assert late.outcome_hint is None  # the rule past 512 KiB was never read


def test_rules_for_our_product_token_apply(server: FaultServer) -> None:
    server.route(
        "/robots.txt",
        robots("User-agent: newsarchive-test\nDisallow: /mine\n\nUser-agent: *\nAllow: /\n"),
    )
    mine, page = fetch_paths(server, ["/mine", "/page"])
    assert mine.outcome_hint == Outcome.REJECTED and page.outcome_hint is None


def test_robots_redirect_is_followed(server: FaultServer) -> None:
    server.route("/robots.txt", fixed(response(301, b"", {"Location": "/real-robots"}), keep=True))
    server.route("/real-robots", robots("User-agent: *\nDisallow: /private\n"))
    private, page = fetch_paths(server, ["/private/x", "/page"])
    assert private.outcome_hint == Outcome.REJECTED and page.outcome_hint is None


def test_crawl_delay_raises_the_gap(server: FaultServer) -> None:
    server.route("/robots.txt", robots("User-agent: *\nCrawl-delay: 0.4\n"))
    fetch_paths(server, ["/a", "/b", "/page"])
    pages = server.records[1:]
    gaps = [b.request.received_at - a.finished_at for a, b in itertools.pairwise(pages)]
    assert len(gaps) == 2 and min(gaps) >= 0.4


def test_crawl_delay_is_capped() -> None:
    class Fixed:
        def now(self) -> datetime:
            return datetime(2026, 1, 1, tzinfo=UTC)

        def monotonic(self) -> float:
            return 0.0

    slots = HostSlots(Fixed(), gap=1.0)
    slots.set_crawl_delay("example.org", 3600)
    assert slots.gap_for("example.org") == MAX_CRAWL_DELAY_S == 30.0
    assert slots.gap_for("EXAMPLE.org") == 30.0 and slots.gap_for("other.org") == 1.0


def test_source_may_opt_out_of_robots(server: FaultServer) -> None:
    server.route("/robots.txt", robots("User-agent: *\nDisallow: /\n"))
    own = Source("mine", server.url("/"), "article", Schedule(every=60), robots=False)
    (page,) = fetch_paths(server, ["/page"], source=own)
    assert page.outcome_hint is None and server.paths() == ["/page"]


def test_robots_can_be_switched_off_globally(server: FaultServer) -> None:
    server.route("/robots.txt", robots("User-agent: *\nDisallow: /\n"))
    (page,) = fetch_paths(server, ["/page"], robots=False)
    assert page.outcome_hint is None and server.paths() == ["/page"]


def test_many_origins_keep_their_rules_not_their_parsers() -> None:
    """10,000 hosts must not hold 10,000 protego parsers: the text stays (compressed),
    the parser of an origin used long ago is made again from it, never fetched again."""
    servers = [FaultServer(host=f"127.0.0.{2 + n}") for n in range(4)]
    try:
        for server in servers:
            server.route("/robots.txt", robots("User-agent: *\nDisallow: /private\n"))
            server.route("/page", html(PAGE))
        config = fetch_settings(robots=True)

        async def go() -> tuple[list[Fetch], int]:
            hosts = {s.host for s in servers}
            fetcher = Fetcher(config, ShiftedClock(), trusted_hosts=hosts)
            fetcher.robots.parsed_kept = 2
            results = []
            try:
                for _ in range(2):
                    for server in servers:
                        for path in ("/page", "/private/x"):
                            results.append(await fetcher.fetch(server.url(path)))
            finally:
                await fetcher.aclose()
            return results, fetcher.robots.parses

        results, parses = asyncio.run(go())
    finally:
        for server in servers:
            server.stop()
    outcomes = [r.outcome_hint for r in results]
    assert outcomes == [None, Outcome.REJECTED] * 8, "the rules hold in the second round too"
    for server in servers:
        assert server.paths().count("/robots.txt") == 1
    assert parses == 8, "four origins, two parsers kept: each parsed again in round two"
