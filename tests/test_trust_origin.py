"""A configured source trusts its origin (scheme, host, port), not every port of its host.

Two real servers on 127.0.0.1: the configured news site, and another service on another
port of the same host that a feed item points at (the SSRF of issue 20, problem 7).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from newsserver import NewsSite, article_page, rss_feed, serve_site

STORY = [
    "The harbour board approved the plan for a new ferry terminal on Thursday evening.",
    "Construction is to start in spring and the terminal should open two years later.",
]


@pytest.fixture
def sites() -> Iterator[tuple[NewsSite, NewsSite]]:
    with serve_site() as news, serve_site() as other:
        other.set("/secret", article_page("Internal admin page", ["Do not fetch me."] * 3))
        news.set("/news/ferry", article_page("Ferry terminal approved", STORY))
        feed = rss_feed(news, ["/news/ferry"]).replace(
            "</channel>",
            f"<item><title>x</title><link>{other.url('/secret')}</link></item></channel>",
        )
        news.set("/feed.xml", feed, content_type="application/rss+xml")
        yield news, other


def run_once(tmp_path: Path, news: NewsSite, fetch_extra: str = "") -> str:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[fetch]\nhost_gap = "0s"\nmax_retries = 0\n{fetch_extra}\n'
        f'[[sources]]\nname = "news"\nurl = "{news.url("/feed.xml")}"\nevery = "1h"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def outcomes(db: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        return {
            url: (o, e) for url, o, e in conn.execute("SELECT url, outcome, error FROM fetches")
        }


def test_another_port_of_a_source_host_is_refused(
    tmp_path: Path, sites: tuple[NewsSite, NewsSite]
) -> None:
    news, other = sites
    run_once(tmp_path, news)
    port = other.base_url.rsplit(":", 1)[1]
    assert other.hits == {}  # not even its robots.txt: no request reached the other port
    seen = outcomes(tmp_path / "archive.db")
    assert seen[news.url("/news/ferry")][0] == "new"
    outcome, error = seen[other.url("/secret")]
    assert outcome == "rejected"
    assert error == (
        f"127.0.0.1:{port} resolves to loopback address 127.0.0.1; refused for an origin that "
        "is not a configured source (allow it with fetch.allow_networks or fetch.allow_hosts)"
    )


def test_another_port_is_fetched_when_the_config_allows_it(
    tmp_path: Path, sites: tuple[NewsSite, NewsSite]
) -> None:
    news, other = sites
    run_once(tmp_path, news, 'allow_networks = ["127.0.0.0/8"]\n')
    assert other.hits.get("/secret") == 1
    assert outcomes(tmp_path / "archive.db")[other.url("/secret")][0] == "new"
