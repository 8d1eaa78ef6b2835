"""The rendering fetcher on the system's Chromium, against a real local site (issue 19).

One browser is shared by the engine-level tests (a module fixture); the daemon-level tests
run ``scraper run`` the way a user does and so start their own. Without Chromium or
Playwright every test here skips, saying which is missing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
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
        document = Document(
            site.url("/guarded"), 200, "text/html", pages.guard_page(watcher.port).encode()
        )
        rendered = run(loop, engine.render(document, fetcher._answerer(src), 5.0))
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
    fetcher = rendering(site, engine, deadline=2.0)
    began = time.monotonic()
    got = run(loop, fetcher.fetch(site.url(path), source=source(site, path, "always")))
    took = time.monotonic() - began
    assert got.outcome_hint is not None and got.outcome_hint.value == "failed"
    assert got.error and site.url(path) in got.error, got.error
    assert took < 2.0 + 6.0, took  # the deadline, plus killing a stuck page at worst
    # The same engine renders the next page at once (its own deadline: a loaded machine
    # may need more than 2 s for any page).
    run(loop, fetcher.plain.aclose())
    fetcher = rendering(site, engine)
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
    loop: Any, engine: Any, site: NewsSite
) -> None:
    fetcher = rendering(site, engine)
    limits = (engine.restart_after, engine.max_rss)
    try:
        for restart_after, max_rss in ((limits[0], 1024), (1, limits[1])):
            run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
            first = {p.pid for p in engine.processes()}
            launches = engine.launches
            engine.restart_after, engine.max_rss = restart_after, max_rss
            got = run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
            engine.restart_after, engine.max_rss = limits
            assert got.outcome_hint is None, got.error
            if restart_after == 1:  # retired after that page: the next one starts a browser
                run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
            assert engine.launches == launches + 1
            assert not {p.pid for p in engine.processes()} & first
            assert wait_for(lambda: all(read_proc(pid) is None for pid in first))  # noqa: B023
    finally:
        engine.restart_after, engine.max_rss = limits
        run(loop, fetcher.plain.aclose())


# -- the daemon, as a user runs it ----------------------------------------------------------


def daemon_config(tmp_path: Path, sources: str, *, deadline: str = "8s") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[archive]
path = "archive.db"

[fetch]
host_gap = "0s"
deadline = "{deadline}"
max_retries = 0

[revisit]
min_interval = "1s"
max_interval = "1s"

[render]
chromium = "{CHROMIUM}"
{sources}
""",
        encoding="utf-8",
    )
    return config


def article_source(site: NewsSite, path: str, render: str) -> str:
    return f"""
[[sources]]
name = "{path.strip("/")}"
url = "{site.url(path)}"
kind = "article"
every = "1h"
render = "{render}"
"""


def run_once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


def test_auto_archives_script_built_articles_without_version_churn(
    tmp_path: Path, site: NewsSite
) -> None:
    """Inline JSON and fetch() apps, render = "auto", fetched twice: the right text, one
    version each, the rendered DOM kept as the raw body beside the response as served."""
    config = daemon_config(
        tmp_path,
        article_source(site, "/inline", "auto")
        + article_source(site, "/fetching", "auto")
        + article_source(site, "/plain", "auto"),
    )
    for _ in range(2):
        done = run_once(config)
        assert done.returncode == 0, done.stderr
    db = tmp_path / "archive.db"
    texts = dict(rows(db, "SELECT url, text FROM versions"))
    assert texts == {
        site.url("/inline"): "\n\n".join(pages.STORY),
        site.url("/fetching"): "\n\n".join(pages.FETCHED),
        site.url("/plain"): "\n\n".join(pages.PLAIN),
    }
    titles = {t for (t,) in rows(db, "SELECT title FROM versions")}
    assert titles == {pages.STORY_TITLE, pages.FETCHED_TITLE, pages.PLAIN_TITLE}
    fetches = rows(
        db, "SELECT url, outcome, via, original_hash IS NOT NULL FROM fetches ORDER BY id"
    )
    assert [f[1] for f in fetches] == ["new"] * 3 + ["unchanged"] * 3, fetches
    via = {url: (v, has_original) for url, _, v, has_original in fetches}
    assert via[site.url("/inline")] == ("render", 1)
    assert via[site.url("/fetching")] == ("render", 1)
    assert via[site.url("/plain")] == ("plain", 0)
    # Each render's DOM differs (a timestamp, a random build id): new raw bodies, no versions.
    bodies = rows(db, "SELECT count(DISTINCT body_hash) FROM fetches WHERE via = 'render'")
    assert bodies == [(4,)]
    # The response as served is kept too: one body, the app shell, for both fetches.
    shells = rows(
        db,
        "SELECT count(DISTINCT original_hash), min(b.size) FROM fetches f"
        " JOIN bodies b ON b.hash = f.original_hash WHERE f.url = ?",
        site.url("/inline"),
    )
    assert shells == [(1, len(pages.inline_app().encode()))]
    # Each version says which path read it.
    made = dict(rows(db, "SELECT url, extractor_version FROM versions"))
    assert made[site.url("/inline")].endswith("+render")
    assert not made[site.url("/plain")].endswith("+render")
    # reparse reads the rendered DOM: today's extractor finds the same articles in it.
    from scraper.reparse import reparse

    report = reparse(db, everything=True, show_progress=False)
    assert (report.read, report.changed, report.failed) == (3, 0, ())
    # WARC: the response as served, and the rendered DOM as a conversion tied to it.
    exported = check_warc(db, site)
    assert exported["conversions"] == 4  # two rendered pages, fetched twice


def check_warc(db: Path, site: NewsSite) -> dict[str, int]:
    from click.testing import CliRunner
    from warcio.archiveiterator import ArchiveIterator

    from archive.cli import main as archive_main

    out = db.with_name("export.warc.gz")
    done = CliRunner().invoke(
        archive_main, ["export", "--archive", str(db), "--format", "warc", "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "4 rendered pages" in done.output
    records: dict[str, Any] = {}
    conversions = []
    with out.open("rb") as handle:
        for record in ArchiveIterator(handle):
            kind = record.rec_type
            uri = record.rec_headers.get_header("WARC-Target-URI")
            entry = (kind, uri, record.content_stream().read(), record.rec_headers)
            records[record.rec_headers.get_header("WARC-Record-ID")] = entry
            if kind == "conversion":
                conversions.append(entry)
    inline = [c for c in conversions if c[1] == site.url("/inline")]
    assert len(inline) == 2
    for _, _, dom, headers in inline:
        assert pages.STORY[0].encode() in dom
        assert headers.get_header("Content-Type").startswith("text/html")
        refers = records[headers.get_header("WARC-Refers-To")]
        assert refers[0] in ("response", "revisit") and refers[1] == site.url("/inline")
        if refers[0] == "response":  # the first copy: the app shell, exactly as served
            assert refers[2] == pages.inline_app().encode()
    return {"conversions": len(conversions)}


def test_switching_paths_is_a_parser_change_not_an_edit(
    loop: Any, engine: Any, site: NewsSite, tmp_path: Path
) -> None:
    """The same response read plain, then rendered (a script adds a paragraph), then plain
    again: one publisher version; the rendered reading is recorded as a re-extraction."""
    import logging

    from archive.store import Archive
    from scraper.pipeline import Stages, archive_article

    adds = f'document.getElementById("more").innerHTML = "<p>{pages.ADDED_BY_SCRIPT}</p>";'
    site.set("/switch", pages.plain_page(adds))
    db = tmp_path / "archive.db"
    fetcher = rendering(site, engine)
    outcomes = []
    with Archive.open(db, SystemClock()) as archive:
        stages = Stages(fetcher, archive, logging.getLogger("test"))
        for render in ("never", "always", "never"):
            src = source(site, "/switch", render)
            recorded = run(loop, archive_article(site.url("/switch"), src, stages))
            archive.commit()
            outcomes.append(recorded.outcome.value)
    run(loop, fetcher.plain.aclose())
    assert outcomes == ["new", "unchanged", "unchanged"]
    assert rows(db, "SELECT via FROM fetches ORDER BY id") == [("plain",), ("render",), ("plain",)]
    assert rows(db, "SELECT count(*) FROM versions") == [(1,)]
    readings = rows(db, "SELECT extractor_version, text FROM extractions")
    assert len(readings) == 1 and readings[0][0].endswith("+render")
    assert pages.ADDED_BY_SCRIPT in readings[0][1]


def descendant_pids(pid: int) -> set[int]:
    from scraper.render.procs import descendants

    return {p.pid for p in descendants(pid)}


def alive(pids: set[int]) -> list[Any]:
    """The processes of ``pids`` still running (a zombie counts too: nobody reaped it)."""
    return [p for p in (read_proc(pid) for pid in pids) if p is not None]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_no_browser_process_outlives_the_daemon(
    tmp_path: Path, site: NewsSite, how: signal.Signals
) -> None:
    """A page that spins forever is cut at the deadline and the daemon goes on to the next;
    with a render in flight, SIGTERM or SIGKILL: every process the daemon started (driver,
    browser, renderers) is gone soon after; SIGTERM still records the cut page."""
    script = f"/static/slow-{how.name}.js"
    site.set(script, "1;", content_type="text/javascript", delay_s=1.5)
    path = f"/slow-app-{how.name}"
    site.set(path, pages.NEVER_LOADS.replace("/static/forever.js", script))
    config = daemon_config(
        tmp_path,
        article_source(site, path, "always") + article_source(site, "/spin", "always"),
        deadline="3s",
    )
    spins = site.hits.get("/spin", 0)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "scraper", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # One host: the second page is fetched once the first render is over.
        assert wait_for(lambda: site.hits.get(script, 0) >= 1, 30)
        assert wait_for(lambda: site.hits.get("/spin", 0) > spins, 30)
        assert daemon.poll() is None  # a page cut at its deadline did not stop the daemon
        started = descendant_pids(daemon.pid)
        browsers = [p for p in alive(started) if "chrom" in p.name]
        assert len(browsers) >= 2, alive(started)  # the browser and at least one renderer
        os.kill(daemon.pid, how)
        _, errors = daemon.communicate(timeout=30)
        assert wait_for(lambda: not alive(started), 10), alive(started)
        if how == signal.SIGTERM:
            assert daemon.returncode == 0, errors
            cut = rows(
                tmp_path / "archive.db", "SELECT outcome, error FROM fetches WHERE url = ?",
                site.url("/spin"),
            )  # fmt: skip
            assert len(cut) == 1 and cut[0][0] == "failed", cut
            assert "render deadline of 3s exceeded" in cut[0][1], cut
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def test_robots_txt_applies_to_the_page_url(loop: Any, engine: Any, site: NewsSite) -> None:
    from scraper.render.fetcher import RenderingFetcher

    site.set("/robots.txt", "User-agent: *\nDisallow: /private-app\n", content_type="text/plain")
    site.set("/private-app", pages.inline_app())
    try:
        plain = Fetcher(
            FetchSettings(host_gap=0.0, max_retries=0),
            SystemClock(),
            trusted_origins=[site.url("/")],
        )
        fetcher = RenderingFetcher(plain, engine, RenderSettings())
        got = run(
            loop,
            fetcher.fetch(site.url("/private-app"), source=source(site, "/private-app", "always")),
        )
        assert got.outcome_hint is not None and got.outcome_hint.value == "rejected", got.error
        assert "robots.txt" in (got.error or "")
        assert fetcher.renders == 0 and "/private-app" not in site.hits
        run(loop, plain.aclose())
    finally:
        site.set("/robots.txt", "", status=404)


def test_secret_headers_go_only_to_the_sources_origin(
    loop: Any, engine: Any, site: NewsSite
) -> None:
    from scraper.render.fetcher import RenderingFetcher
    from scraper.secrets import SecretStore

    with serve_site() as other:
        other.set("/counter.json", "{}", content_type="application/json")
        site.set("/two-origins", pages.two_origins_app(other.base_url))
        settings = FetchSettings(host_gap=0.0, max_retries=0, allow_networks=("127.0.0.0/8",))
        secrets = SecretStore({"two-origins": (("Authorization", "Bearer s3cret"),)})
        plain = Fetcher(settings, SystemClock(), trusted_origins=[site.url("/")], secrets=secrets)
        fetcher = RenderingFetcher(plain, engine, RenderSettings())
        got = run(
            loop,
            fetcher.fetch(site.url("/two-origins"), source=source(site, "/two-origins", "always")),
        )
        assert got.outcome_hint is None, got.error
        assert pages.FETCHED[0] in (got.body or b"").decode()
        assert site.headers["/api/story.json"].get("authorization") == "Bearer s3cret"
        assert other.hits.get("/counter.json") == 1  # allowed by allow_networks ...
        assert "authorization" not in other.headers["/counter.json"]  # ... but no secret
        assert all(v != "Bearer s3cret" for _, v in got.headers)
        run(loop, plain.aclose())


def test_the_hosts_slot_covers_the_whole_render(loop: Any, engine: Any, site: NewsSite) -> None:
    """Two pages of one host, two contexts free: the renders still take turns, with the
    host's gap between them."""
    from scraper.render.browser import Document, Rendered, Requests
    from scraper.render.fetcher import RenderingFetcher

    spans: list[tuple[float, float]] = []

    class Timed:
        """The shared engine, with the time each render began and ended written down."""

        async def render(self, document: Document, answer: Requests, deadline: float) -> Rendered:
            began = time.monotonic()
            try:
                rendered: Rendered = await engine.render(document, answer, deadline)
                return rendered
            finally:
                spans.append((began, time.monotonic()))

    plain = Fetcher(
        FetchSettings(host_gap=0.3, max_retries=0, robots=False), SystemClock(),
        trusted_origins=[site.url("/")],
    )  # fmt: skip
    fetcher = RenderingFetcher(plain, Timed(), RenderSettings())  # type: ignore[arg-type]

    async def both() -> list[Any]:
        return list(
            await asyncio.gather(
                fetcher.fetch(site.url("/inline"), source=source(site, "/inline", "always")),
                fetcher.fetch(site.url("/fetching"), source=source(site, "/fetching", "always")),
            )
        )

    try:
        results = run(loop, both())
        assert all(r.outcome_hint is None for r in results), [r.error for r in results]
        first, second = sorted(spans)
        assert second[0] >= first[1] + 0.3, spans
    finally:
        run(loop, plain.aclose())


def test_a_browser_that_dies_is_started_again(loop: Any, engine: Any, site: NewsSite) -> None:
    """Chromium killed from outside (the OOM killer, a crash): the next page starts a new one."""
    fetcher = rendering(site, engine)
    run(loop, fetcher.fetch(site.url("/inline"), source=source(site, "/inline")))
    procs = engine.processes()
    pids = {p.pid for p in procs}
    root = next(p.pid for p in procs if p.ppid not in pids)
    launches = engine.launches
    os.killpg(root, signal.SIGKILL)
    assert wait_for(lambda: all(read_proc(pid) is None for pid in pids))
    got = run(loop, fetcher.fetch(site.url("/fetching"), source=source(site, "/fetching")))
    assert got.outcome_hint is None, got.error
    assert pages.FETCHED[0] in got.body.decode()
    assert engine.launches == launches + 1
    run(loop, fetcher.plain.aclose())
