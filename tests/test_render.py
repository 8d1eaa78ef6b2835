"""The rendering fetcher on the system's Chromium, against a real local site (issue 19).

One browser is shared by the engine-level tests (a module fixture); the daemon-level tests
run ``scraper run`` the way a user does and so start their own. Without Chromium or
Playwright every test here skips, saying which is missing.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import render_pages as pages
from newsserver import NewsSite, serve_site

from contract.clock import SystemClock
from scraper.config import FetchSettings, RenderSettings, Source
from scraper.fetch import Fetcher
from scraper.render.locate import playwright_installed
from scraper.render.procs import chromium_below, read_proc
from scraper.schedule import Schedule

CHROMIUM = pages.chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian's chromium) installed"),
    pytest.mark.skipif(not playwright_installed(), reason="Playwright missing: .[render]"),
]
T = TypeVar("T")


class Watcher:
    """A TCP port that records every connection made to it (nothing should ever come)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(0.5)
            try:
                first = conn.recv(200)
            except OSError:
                first = b""
            self.connections.append(first or b"(connected, sent nothing)")
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def engine(loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    from scraper.render.browser import Engine

    assert CHROMIUM is not None
    shared = Engine(CHROMIUM, pages=2)
    yield shared
    loop.run_until_complete(shared.aclose())
    assert wait_for(lambda: not chromium_below(os.getpid())), chromium_below(os.getpid())


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        site.set("/inline", pages.inline_app())
        site.set("/fetching", pages.fetching_app())
        site.set("/static/app.js", pages.APP_JS, content_type="text/javascript")
        site.set("/api/story.json", pages.story_json(), content_type="application/json")
        site.set("/plain", pages.plain_page())
        site.set("/static/forever.js", "1;", content_type="text/javascript", delay_s=30)
        site.set("/never", pages.NEVER_LOADS)
        site.set("/spin", pages.SPINS)
        site.set("/hog", pages.EATS_MEMORY)
        site.set("/popups", pages.POPUPS)
        yield site


def run(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    return loop.run_until_complete(work)


def wait_for(check: Any, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())


def source(site: NewsSite, path: str, render: str = "auto") -> Source:
    return Source(path.strip("/"), site.url(path), "article", Schedule(every=3600), render=render)


def rendering(site: NewsSite, engine: Any, deadline: float = 8.0, **render: Any) -> Any:
    from scraper.render.fetcher import RenderingFetcher

    settings = FetchSettings(host_gap=0.0, deadline=deadline, max_retries=0)
    plain = Fetcher(settings, SystemClock(), trusted_origins=[site.url("/")])
    return RenderingFetcher(plain, engine, RenderSettings(**render))


def test_auto_renders_an_app_built_from_inline_json(loop: Any, engine: Any, site: NewsSite) -> None:
    fetcher = rendering(site, engine)
    got = run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
    assert got.outcome_hint is None, got.error
    assert got.via == "render"
    assert got.original_body == pages.inline_app().encode()
    html = got.body.decode()
    assert all(p in html for p in pages.STORY)
    assert f"<title>{pages.STORY_TITLE}</title>" in html
    run(loop, fetcher.plain.aclose())


def test_auto_renders_an_app_that_fetches_its_story(loop: Any, engine: Any, site: NewsSite) -> None:
    fetcher = rendering(site, engine)
    before = site.hits.get("/api/story.json", 0)
    got = run(loop, fetcher.fetch(site.url("/fetching"), source=source(site, "/fetching")))
    assert got.outcome_hint is None, got.error
    assert got.via == "render"
    assert all(p in got.body.decode() for p in pages.FETCHED)
    assert site.hits["/api/story.json"] == before + 1  # through the guarded client, once
    assert site.hits["/fetching"] >= 1
    run(loop, fetcher.plain.aclose())


def test_auto_keeps_the_plain_path_for_a_server_rendered_article(
    loop: Any, engine: Any, site: NewsSite
) -> None:
    fetcher = rendering(site, engine)
    got = run(loop, fetcher.fetch(site.url("/plain"), source=source(site, "/plain")))
    assert got.via == "plain" and got.original_body is None
    assert got.body == pages.plain_page().encode()
    assert fetcher.renders == 0
    run(loop, fetcher.plain.aclose())


def test_page_requests_pass_the_network_guard(loop: Any, engine: Any, site: NewsSite) -> None:
    """Loopback on another port, private and link-local addresses, file:, sockets,
    preconnects and trackers are refused; the watched port never sees a connection."""
    watcher = Watcher()
    try:
        site.set("/guarded", pages.guard_page(watcher.port))
        fetcher = rendering(site, engine, block_types=())  # even images and CSS are guarded
        got = run(
            loop, fetcher.fetch(site.url("/guarded"), source=source(site, "/guarded", "always"))
        )
        assert got.outcome_hint is None, got.error
        html = got.body.decode()
        # The page's own host answered; everything else was refused.
        assert f"refused | refused | refused | refused | {pages.FETCHED_TITLE}" in html, html
        time.sleep(0.5)
        assert watcher.connections == [], watcher.connections
        run(loop, fetcher.plain.aclose())
    finally:
        watcher.close()


def test_refusals_name_why(loop: Any, engine: Any, site: NewsSite) -> None:
    from scraper.render.browser import Document
    from scraper.render.fetcher import RenderingFetcher

    watcher = Watcher()
    try:
        fetcher: RenderingFetcher = rendering(site, engine, block_types=())
        src = source(site, "/guarded", "always")
        end = loop.time() + 5
        document = Document(
            site.url("/guarded"), 200, "text/html", pages.guard_page(watcher.port).encode()
        )
        rendered = run(loop, engine.render(document, fetcher._answerer(src, end), 5.0))
        reasons = "\n".join(rendered.refused)
        assert f"127.0.0.1:{watcher.port} resolves to loopback" in reasons
        assert "10.20.30.40 resolves to private" in reasons
        assert "169.254.169.254 resolves to link-local" in reasons
        assert "google-analytics.com" in reasons and "tracker" in reasons
        assert "WebSocket" in reasons
        assert watcher.connections == []
        run(loop, fetcher.plain.aclose())
    finally:
        watcher.close()


@pytest.mark.parametrize("path", ["/never", "/spin", "/hog"])
def test_a_page_is_cut_at_the_deadline_and_the_browser_goes_on(
    loop: Any, engine: Any, site: NewsSite, path: str
) -> None:
    fetcher = rendering(site, engine, deadline=3.0)
    began = time.monotonic()
    got = run(loop, fetcher.fetch(site.url(path), source=source(site, path, "always")))
    took = time.monotonic() - began
    assert got.outcome_hint is not None and got.outcome_hint.value == "failed"
    assert got.error and site.url(path) in got.error, got.error
    assert took < 3.0 + 6.0, took  # the deadline, plus killing a stuck page at worst
    # The same engine renders the next page at once.
    again = run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
    assert again.outcome_hint is None, again.error
    assert pages.STORY[0] in again.body.decode()
    run(loop, fetcher.plain.aclose())


def test_fifty_popups_are_closed_and_never_fetched(loop: Any, engine: Any, site: NewsSite) -> None:
    fetcher = rendering(site, engine, deadline=5.0)
    got = run(loop, fetcher.fetch(site.url("/popups"), source=source(site, "/popups", "always")))
    assert got.outcome_hint is None, got.error
    assert "Fifty windows were asked for." in got.body.decode()
    assert not any(p.startswith("/popup/") for p in site.hits)
    # Only the engine's own browser runs: no window was left behind.
    assert wait_for(lambda: len(engine.processes()) < 12), engine.processes()
    run(loop, fetcher.plain.aclose())


def test_the_browser_restarts_after_n_pages_and_over_the_memory_cap(
    loop: Any, site: NewsSite
) -> None:
    from scraper.render.browser import Engine

    assert CHROMIUM is not None
    for engine in (Engine(CHROMIUM, restart_after=1), Engine(CHROMIUM, max_rss=1024)):
        fetcher = rendering(site, engine)
        run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
        first = {p.pid for p in engine.processes()}
        got = run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
        assert got.outcome_hint is None, got.error
        assert engine.launches == 2
        assert not {p.pid for p in engine.processes()} & first
        assert wait_for(lambda: all(read_proc(pid) is None for pid in first))  # noqa: B023
        run(loop, engine.aclose())
        run(loop, fetcher.plain.aclose())
