"""The whole path, real at every stage: config -> scheduler -> HTTP -> extractor -> SQLite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from newsserver import NewsSite, article_page, rss_feed, serve_site

FIRST = [
    "The city council voted on Tuesday to rebuild the old harbour wall before the winter storms.",
    "Engineers said the work would take eleven weeks and cost four million euros in total.",
    "Residents of the harbour district welcomed the decision after years of flooding.",
]
EDITED = [
    *FIRST[:1],
    "Engineers said the work would take nine weeks and cost five million euros.",
    *FIRST[2:],
]
SECOND = [
    "A new library opened its doors in the north of the city on Monday morning.",
    "It holds two hundred thousand books and a reading room with a view over the river.",
    "The architects used timber from local forests for the whole frame of the building.",
]


def write_config(
    tmp_path: Path, site: NewsSite, *, every: str = "1h", extra: str = "", deadline: str = "10s"
) -> Path:
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

[[sources]]
name = "daily"
url = "{site.url("/feed.xml")}"
every = "{every}"
{extra}
""",
        encoding="utf-8",
    )
    return config


def run_once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows as SQLite returns them: column types depend on the query, so Any."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        site.set("/feed.xml", "", content_type="application/rss+xml")
        site.set(
            "/feed.xml",
            rss_feed(
                site, ["/news/harbour-wall-to-be-rebuilt", "/news/new-library-opens-its-doors"]
            ),
            content_type="application/rss+xml",
        )
        site.set(
            "/news/harbour-wall-to-be-rebuilt",
            article_page("Harbour wall to be rebuilt", FIRST, comments=0),
        )
        site.set(
            "/news/new-library-opens-its-doors",
            article_page("A new library", SECOND, comments=2, related=["Old story", "Other story"]),
        )
        yield site


def test_edits_make_versions_and_noise_does_not(tmp_path: Path, site: NewsSite) -> None:
    config = write_config(tmp_path, site)
    first = run_once(config)
    assert first.returncode == 0, first.stderr
    db = tmp_path / "archive.db"
    versions = dict(
        rows(
            db,
            "SELECT a.url, count(v.id) FROM articles a JOIN versions v"
            " ON v.article_id = a.id GROUP BY a.url",
        )
    )
    assert versions == {
        site.url("/news/harbour-wall-to-be-rebuilt"): 1,
        site.url("/news/new-library-opens-its-doors"): 1,
    }
    stored = rows(db, "SELECT title, text FROM versions ORDER BY id")
    assert any("eleven weeks" in str(text) for _, text in stored)
    assert all("Share on Facebook" not in str(text) for _, text in stored)
    assert all("Related articles" not in str(text) for _, text in stored)

    # The publisher edits one article; the other only gets new comments, views and teasers.
    site.set(
        "/news/harbour-wall-to-be-rebuilt",
        article_page("Harbour wall to be rebuilt", EDITED, comments=0),
    )
    site.set(
        "/news/new-library-opens-its-doors",
        article_page(
            "A new library",
            SECOND,
            comments=17,
            views=5000,
            related=["Brand new teaser", "Another teaser", "Third"],
        ),
    )
    time.sleep(1.2)  # the revisit interval of the test config
    second = run_once(config)
    assert second.returncode == 0, second.stderr
    versions = dict(
        rows(
            db,
            "SELECT a.url, count(v.id) FROM articles a JOIN versions v"
            " ON v.article_id = a.id GROUP BY a.url",
        )
    )
    assert versions == {
        site.url("/news/harbour-wall-to-be-rebuilt"): 2,
        site.url("/news/new-library-opens-its-doors"): 1,
    }
    latest = rows(
        db,
        "SELECT v.text, v.changed_fields FROM versions v JOIN articles a"
        " ON a.id = v.article_id WHERE a.url = ? ORDER BY v.version DESC LIMIT 1",
        site.url("/news/harbour-wall-to-be-rebuilt"),
    )
    assert "nine weeks" in str(latest[0][0])
    assert "text" in json.loads(str(latest[0][1]))
    outcomes = rows(
        db, "SELECT url, outcome FROM fetches WHERE url LIKE '%/news/%' ORDER BY id DESC LIMIT 2"
    )
    assert dict(outcomes) == {
        site.url("/news/harbour-wall-to-be-rebuilt"): "changed",
        site.url("/news/new-library-opens-its-doors"): "unchanged",
    }
    # One log line per fetch with URL, status, outcome, bytes and milliseconds.
    log_lines = [
        line for line in second.stderr.splitlines() if "/news/harbour-wall-to-be-rebuilt" in line
    ]
    assert any(" 200 changed " in line and line.rstrip().endswith("ms") for line in log_lines)


def test_a_failing_source_does_not_stop_the_others(tmp_path: Path, site: NewsSite) -> None:
    extra = f"""
[[sources]]
name = "broken"
url = "{site.url("/missing-feed.xml")}"
kind = "feed"
every = "1h"

[[sources]]
name = "single article"
url = "{site.url("/news/new-library-opens-its-doors")}"
kind = "article"
every = "1h"
"""
    config = write_config(tmp_path, site, extra=extra)
    result = run_once(config)
    assert result.returncode == 0, result.stderr
    db = tmp_path / "archive.db"
    assert rows(db, "SELECT count(*) FROM versions")[0][0] == 2
    failed = rows(db, "SELECT outcome FROM fetches WHERE url = ?", site.url("/missing-feed.xml"))
    assert failed and failed[0][0] in ("gone", "failed")
    assert rows(db, "SELECT last_outcome FROM sources WHERE name = 'broken'")[0][0] != "new"
    assert "/missing-feed.xml 404" in result.stderr


@pytest.mark.parametrize(("delay_s", "finished"), [(2.0, True), (40.0, False)])
def test_sigterm_stops_cleanly_with_the_archive_intact(
    tmp_path: Path, site: NewsSite, delay_s: float, finished: bool
) -> None:
    # A slow article is in flight when the signal arrives: it either finishes within the
    # grace period and is archived, or is abandoned; either way the daemon exits 0 within 15 s.
    site.set(
        "/news/new-library-opens-its-doors", article_page("A new library", SECOND), delay_s=delay_s
    )
    config = write_config(tmp_path, site, every="1h", deadline="60s")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "scraper", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while site.hits.get("/news/new-library-opens-its-doors", 0) == 0:
            assert time.monotonic() < deadline, "the daemon never fetched the slow article"
            time.sleep(0.05)
        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
        assert time.monotonic() - started < 15
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert ("abandoned" in stderr) is not finished, stderr
    db = tmp_path / "archive.db"
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "SELECT count(*) FROM versions WHERE title LIKE 'Harbour%'")[0][0] == 1
    library = rows(db, "SELECT count(*) FROM versions WHERE title = 'A new library'")[0][0]
    assert library == (1 if finished else 0)
    # The lock is released: another writer can open the archive now.
    site.set("/news/new-library-opens-its-doors", article_page("A new library", SECOND))
    again = run_once(config)
    assert again.returncode == 0, again.stderr


def test_secret_headers_are_sent_but_never_stored_or_logged(tmp_path: Path, site: NewsSite) -> None:
    token = "Bearer s3cr3t-t0ken-value"
    config = write_config(
        tmp_path, site, extra='secret_headers = { Authorization = "PAPER_TOKEN" }'
    )
    missing = subprocess.run(
        [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PAPER_TOKEN"},
    )
    assert missing.returncode == 2
    assert "PAPER_TOKEN" in missing.stderr and not site.hits
    result = subprocess.run(
        [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config), "-v"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PAPER_TOKEN": token},
    )
    assert result.returncode == 0, result.stderr
    assert site.headers["/feed.xml"].get("authorization") == token
    assert "s3cr3t" not in result.stderr
    for path in tmp_path.glob("archive.db*"):
        assert b"s3cr3t" not in path.read_bytes()


def test_section_pages_and_sitemaps_are_sniffed_and_followed(
    tmp_path: Path, site: NewsSite
) -> None:
    harbour = site.url("/news/harbour-wall-to-be-rebuilt")
    library = site.url("/news/new-library-opens-its-doors")
    teasers = "".join(
        f'<li><a href="{path}">{title}</a></li>'
        for path, title in [
            ("/news/harbour-wall-to-be-rebuilt", "Harbour wall"),
            ("/world", "World"),
            ("/tag/harbour-news-today", "Tag page"),
        ]
    )
    site.set(
        "/", f"<html><body><nav><a href='/about'>About</a></nav><ul>{teasers}</ul></body></html>"
    )
    site.set(
        "/sitemap.xml",
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{library}</loc></url><url><loc>{harbour}</loc></url></urlset>",
        content_type="application/xml",
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[fetch]
host_gap = "0s"
max_retries = 0

[[sources]]
name = "front page"
url = "{site.url("/")}"
every = "1h"

[[sources]]
name = "sitemap"
url = "{site.url("/sitemap.xml")}"
every = "1h"
""",
        encoding="utf-8",
    )
    result = run_once(config)
    assert result.returncode == 0, result.stderr
    db = tmp_path / "archive.db"
    archived = rows(db, "SELECT a.url, count(v.id) FROM articles a JOIN versions v"
                        " ON v.article_id = a.id GROUP BY a.url")  # fmt: skip
    # Both found, each archived once although two sources list it; listings are not articles.
    assert dict(archived) == {harbour: 1, library: 1}
    assert site.hits.get("/world") is None and site.hits.get("/tag/harbour-news-today") is None
    assert site.hits[urlsplit(harbour).path] == 1
