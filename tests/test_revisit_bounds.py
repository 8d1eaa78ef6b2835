"""[revisit] bounds hold from the first check, reach stored articles, and `scraper revisit`.

Real daemon runs (subprocesses) against a real local site and a real SQLite file.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from newsserver import NewsSite, article_page, rss_feed, serve_site

from archive.revisit import History, RevisitPolicy
from archive.store import Archive
from contract.clock import SystemClock

STORY = "/news/bridge-reopens"
PARAGRAPHS = [
    "The old river bridge reopened to traffic on Wednesday after two years of repairs.",
    "Cyclists and pedestrians get a separate lane on the eastern side of the deck.",
]


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        site.set("/feed.xml", rss_feed(site, [STORY]), content_type="application/rss+xml")
        site.set(STORY, article_page("Bridge reopens", PARAGRAPHS))
        yield site


def write_config(tmp_path: Path, site: NewsSite, min_interval: str, max_interval: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[fetch]
host_gap = "0s"
max_retries = 0

[revisit]
min_interval = "{min_interval}"
max_interval = "{max_interval}"

[[sources]]
name = "city"
url = "{site.url("/feed.xml")}"
every = "1h"
""",
        encoding="utf-8",
    )
    return config


def scraper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", *args], capture_output=True, text=True, timeout=60
    )


def run_once(config: Path) -> subprocess.CompletedProcess[str]:
    result = scraper("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return result


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


def seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def next_check_in(db: Path) -> float:
    ((checked, due),) = rows(db, "SELECT last_checked, next_check_at FROM articles")
    return seconds(due) - seconds(checked)


def test_a_new_article_is_first_revisited_after_min_interval() -> None:
    assert RevisitPolicy(min_interval=20).next_interval(History(age_s=0, changes=0)) == 20
    # The default 15 minutes is unchanged: the bound already lifted 720 s to 900 s.
    assert RevisitPolicy(min_interval=900).next_interval(History(age_s=0, changes=0)) == 900


def test_the_first_check_of_a_new_article_keeps_min_interval(
    tmp_path: Path, site: NewsSite
) -> None:
    run_once(write_config(tmp_path, site, "20s", "7d"))
    db = tmp_path / "archive.db"
    # 20 s and the moment the fetch took (the article's age when it was checked), not 720 s.
    ((interval,),) = rows(db, "SELECT check_interval_s FROM articles")
    assert interval == pytest.approx(20, abs=0.5)
    assert next_check_in(db) == pytest.approx(interval, abs=0.01)


def test_changed_bounds_reschedule_stored_articles_at_startup(
    tmp_path: Path, site: NewsSite
) -> None:
    run_once(write_config(tmp_path, site, "15m", "7d"))
    db = tmp_path / "archive.db"
    assert next_check_in(db) == pytest.approx(900, abs=0.01)
    # Tighter bounds: the stored article is due within 2 s, not after the old 15 minutes.
    config = write_config(tmp_path, site, "1s", "2s")
    time.sleep(2.1)
    second = run_once(config)
    assert "revisit bounds 15m..7d -> 1s..2s: 1 stored articles rescheduled" in second.stderr
    assert site.hits[STORY] == 2  # the revisit of this run, thanks to the new bounds
    # Unchanged bounds on the next start: nothing is rescheduled again.
    third = run_once(config)
    assert "rescheduled" not in third.stderr


def test_scraper_revisit_makes_articles_due_now(tmp_path: Path, site: NewsSite) -> None:
    config = write_config(tmp_path, site, "15m", "7d")
    run_once(config)
    again = run_once(config)
    assert site.hits[STORY] == 1, again.stderr  # not due for 15 minutes
    # As while the daemon runs: another process holds the writer lock.
    with Archive.open(tmp_path / "archive.db", SystemClock()):
        result = scraper("revisit", "--config", str(config), "--source", "city")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 article is due now (city)")
    run_once(config)
    assert site.hits[STORY] == 2
    everything = scraper("revisit", "--config", str(config), "--all")
    assert everything.stdout.startswith("1 article is due now (every source)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: say which articles: --source NAME (repeatable) or --all"),
        (("--source", "nope"), "no source named 'nope'; the sources are 'city'"),
    ],
)
def test_scraper_revisit_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, site: NewsSite, args: tuple[str, ...], message: str
) -> None:
    config = write_config(tmp_path, site, "15m", "7d")
    result = scraper("revisit", "--config", str(config), *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


def test_revisits_keep_max_interval_while_the_daemon_runs(tmp_path: Path, site: NewsSite) -> None:
    # max_interval = 2s: revisits about every 2 s. A dispatcher looking only every 30 s
    # (how "30s" came out as ~60 s) would not have revisited once in these 12 seconds.
    config = write_config(tmp_path, site, "1s", "2s")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "scraper", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        time.sleep(12)
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, stderr
    started = [
        seconds(t)
        for (t,) in rows(
            tmp_path / "archive.db",
            "SELECT started_at FROM fetches WHERE url = ? ORDER BY id",
            site.url(STORY),
        )
    ]
    gaps = [b - a for a, b in itertools.pairwise(started)]
    assert len(started) >= 4, stderr
    assert max(gaps) < 2 + 1 + 1.5, gaps  # the interval, a dispatcher period, slack
