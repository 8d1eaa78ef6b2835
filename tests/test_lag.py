"""Scheduler lag is recorded: each fetch keeps when it was due beside when it started."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from newsserver import NewsSite, article_page, rss_feed, serve_site

PATHS = ["/news/harbour-wall-to-be-rebuilt", "/news/new-library-opens-its-doors"]


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        site.set("/feed.xml", rss_feed(site, PATHS), content_type="application/rss+xml")
        for i, path in enumerate(PATHS):
            paragraphs = [
                f"Story {i} begins with a long sentence about the harbour and the city council.",
                f"The second paragraph of story {i} says what the engineers found last week.",
            ]
            site.set(path, article_page(f"Story {i}", paragraphs))
        yield site


def _config(tmp_path: Path, site: NewsSite, every: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[fetch]\nhost_gap = "0s"\nmax_retries = 0\n\n'
        '[revisit]\nmin_interval = "15m"\nmax_interval = "1h"\n\n'
        f'[[sources]]\nname = "daily"\nurl = "{site.url("/feed.xml")}"\nevery = "{every}"\n'
        'jitter = "0s"\n',
        encoding="utf-8",
    )
    return config


def _scraper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", *args], capture_output=True, text=True, timeout=120
    )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_revisit_late_by_an_hour_records_that_hour(tmp_path: Path, site: NewsSite) -> None:
    config = _config(tmp_path, site, "1h")
    first = _scraper("run", "--once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    db = tmp_path / "archive.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT url, started_at, due_at FROM fetches").fetchall()
        # Every fetch says when it was due; a discovered article is due when it is found.
        assert len(rows) == 3 and all(due is not None for _, _, due in rows), rows
        assert all(due <= started for _, started, due in rows), rows
        # The daemon was down for an hour: both articles were due an hour ago.
        due = "2026-01-01T10:00:00.000Z"
        conn.execute("UPDATE articles SET next_check_at = ?", (due,))
    second = _scraper("run", "--once", "--config", str(config))
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db) as conn:
        revisits = conn.execute(
            "SELECT started_at, due_at FROM fetches WHERE url LIKE '%/news/%' AND id > 3"
        ).fetchall()
    assert [d for _, d in revisits] == [due, due]
    for started, _ in revisits:
        assert (_time(started) - _time(due)).total_seconds() > 3600
    # The export shows when the version's fetch was due and when it ran.
    exported = subprocess.run(
        [sys.executable, "-c", "from archive.cli import main; main()", "export", "--archive",
         str(db)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 2
    assert all(r["due_at"] and r["fetched_at"] >= r["due_at"] for r in records), records


def test_the_scheduler_records_when_each_run_of_a_source_was_due(
    tmp_path: Path, site: NewsSite
) -> None:
    config = _config(tmp_path, site, "1s")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "scraper", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while site.hits.get("/feed.xml", 0) < 3:
            assert time.monotonic() < deadline, "the source never ran three times"
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, stderr
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        runs = conn.execute(
            "SELECT started_at, due_at FROM fetches WHERE url LIKE '%/feed.xml' ORDER BY id"
        ).fetchall()
    assert len(runs) >= 3
    dues = [_time(due) for _, due in runs]
    assert all(due <= _time(started) for (started, _), due in zip(runs, dues, strict=True))
    # The trigger's times, a second apart: when the run was due, not when it happened to start.
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(dues[1:])]
    assert all(abs(gap - round(gap)) < 0.002 and gap >= 1 for gap in gaps), dues
