"""``/-/sources`` over HTTP on what a real daemon wrote: ``scraper run --once`` against a local
site with one working source and two broken ones, then ``archive serve`` on the archive."""

from __future__ import annotations

import re
import subprocess
import sys
from html import unescape
from pathlib import Path

from datasette_server import archive_serve_command, free_port, running
from newsserver import article_page, rss_feed, serve_site

PATHS = ["/news/harbour-wall-to-be-rebuilt", "/news/new-library-opens-its-doors"]
ROW = re.compile(
    r'<tr class="source-row" data-source="([^"]+)" data-state="([^"]+)">(.*?)</tr>', re.S
)


def test_the_page_judges_what_the_daemon_recorded(tmp_path: Path) -> None:
    with serve_site() as site:
        site.set("/feed.xml", rss_feed(site, PATHS), content_type="application/rss+xml")
        for i, path in enumerate(PATHS):
            site.set(path, article_page(f"Story {i}", [f"Paragraph of story {i}. " * 8]))
        site.set("/broken.xml", "down for maintenance", status=503, content_type="text/plain")
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[archive]
path = "archive.db"

[fetch]
host_gap = "0s"
max_retries = 0

[[sources]]
name = "daily"
url = "{site.url("/feed.xml")}"
every = "1h"

[[sources]]
name = "broken"
url = "{site.url("/broken.xml")}"
every = "1h"

[[sources]]
name = "moved"
url = "{site.url("/old-feed.xml")}"
every = "1h"
""",
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    archive = tmp_path / "archive.db"
    port = free_port()
    command = archive_serve_command(archive, "--host", "127.0.0.1", "--port", str(port))
    with running(command, port, tmp_path / "serve.log") as server:
        index = server.text("/")
        page = server.text("/-/sources")
        status, _, _ = server.get("/-/sources?db=elsewhere")
    assert 'href="/-/sources"' in index and "Source health" in index
    rows = {name: (state, unescape(body)) for name, state, body in ROW.findall(page)}
    assert [name for name in rows] == ["broken", "moved", "daily"]  # the failing ones first
    state, broken = rows["broken"]
    assert state == "failing" and "the last run failed" in broken
    assert "503" in broken and 'class="error"' in broken
    state, moved = rows["moved"]  # a feed that is gone (404) is a failing source
    assert state == "failing" and "HTTP 404 Not Found" in moved
    state, daily = rows["daily"]
    assert state == "healthy" and "2 in 30 days" in daily and ">2 / 2<" in daily
    assert "0 in 30 days" in daily  # no failed fetch
    assert "2 failing" in page and "1 healthy" in page
    assert status == 404
