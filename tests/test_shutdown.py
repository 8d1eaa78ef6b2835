"""Shutdown within the grace period whatever the backlog: a real daemon, 10,000 sources."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from newsserver import article_page, rss_feed, serve_site

SOURCES = 10_000
CONCURRENCY = 8
# One line per fetch: URL, status, outcome, bytes, milliseconds (pipeline.log_fetch).
FETCH_LINE = re.compile(r" (INFO|WARNING) https?://\S+ (\d{3}|-) [a-z_ ]+ \d+B \d+ms")


def test_sigterm_with_ten_thousand_queued_sources_exits_within_the_grace(tmp_path: Path) -> None:
    with serve_site() as site:
        paths = [f"/news/harbour-story-number-{i}" for i in range(3)]
        site.set("/feed.xml", rss_feed(site, paths), content_type="application/rss+xml")
        for i, path in enumerate(paths):
            site.set(path, article_page(f"Story {i}", [f"Paragraph of story {i}. " * 8]))
        # Every source on one host: on a first start all 10,000 are queued behind its slot.
        sources = "".join(
            f'[[sources]]\nname = "s{i}"\nurl = "{site.url(f"/feed.xml?n={i}")}"\nevery = "1h"\n'
            for i in range(SOURCES)
        )
        config = tmp_path / "config.toml"
        config.write_text(
            '[archive]\npath = "archive.db"\n\n'
            f'[fetch]\nhost_gap = "0s"\nmax_retries = 0\nconcurrency = {CONCURRENCY}\n\n' + sources,
            encoding="utf-8",
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "scraper", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 90
            while site.hits.get("/feed.xml", 0) < 50:
                assert daemon.poll() is None, daemon.communicate()[1]
                assert time.monotonic() < deadline, "the daemon never fetched the feeds"
                time.sleep(0.05)
            signalled = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            hits_at_signal = sum(site.hits.values())
            _, stderr = daemon.communicate(timeout=60)
            took = time.monotonic() - signalled
            requests_after = sum(site.hits.values()) - hits_at_signal
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
    assert daemon.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert took < 15, f"{took:.1f}s from SIGTERM to exit"
    lines = stderr.splitlines()
    stop_at = next(i for i, line in enumerate(lines) if "stopping:" in line)
    assert "dropped" in lines[stop_at], lines[stop_at]
    # Queued jobs are dropped at once: the server sees hardly a request after the signal
    # (those the daemon sent before it read the signal), not 10 s more of the backlog.
    assert requests_after <= CONCURRENCY, f"{requests_after} requests after SIGTERM"
    # The archive is consistent: intact, and every fetch the log reported is recorded.
    logged = [line for line in lines if FETCH_LINE.search(line)]
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        assert list(conn.execute("PRAGMA integrity_check")) == [("ok",)]
        fetches = conn.execute("SELECT count(*) FROM fetches").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
        sources_known = conn.execute("SELECT count(*) FROM sources").fetchone()[0]
    assert fetches == len(logged)
    assert versions == len([line for line in logged if " new " in line])
    assert sources_known == SOURCES
