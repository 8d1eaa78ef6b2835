"""Big inputs never hold the loop: pages, feeds and sitemaps are read in worker processes
under a time budget, while another source's fetches go on on time (a real daemon)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from newsserver import NewsSite, article_page, serve_site
from processes import stop as stop_daemon

QUICK = [
    "The ferry to the islands runs again after the storm damaged its landing stage last week.",
    "Passengers were asked to book ahead because only one of the two boats is back in service.",
    "The harbour master said the second boat should return before the end of the month.",
]
LAG_LIMIT_S = 1.0  # a 1 s source whose runs start later than this after they were due is late


def write_config(tmp_path: Path, site: NewsSite, slow_source: str, *, budget: str) -> Path:
    # The quick source is on another host name (localhost), so it has its own politeness slot.
    quick_url = site.url("/news/ferry-runs-again").replace("127.0.0.1", "localhost")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[archive]
path = "archive.db"

[fetch]
host_gap = "0s"
max_retries = 0

[extract]
workers = 2
budget = "{budget}"

{slow_source}

[[sources]]
name = "quick"
url = "{quick_url}"
kind = "article"
every = "1s"
jitter = "0s"
""",
        encoding="utf-8",
    )
    return config


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql, args))
    except sqlite3.OperationalError:  # the schema is not written yet
        return []
    finally:
        conn.close()


@contextmanager
def daemon(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "scraper", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            yield process
        finally:
            stop_daemon(process)


def wait_for(
    process: subprocess.Popen[bytes], log: Path, what: str, ready: Callable[[], bool]
) -> None:
    deadline = time.monotonic() + 90
    while not ready():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{what}; log: {log.read_text()[-3000:]}"
        time.sleep(0.2)


def quick_fetches(db: Path) -> list[tuple[str, str, str]]:
    return [
        (str(started), str(due), str(outcome))
        for started, due, outcome in rows(
            db,
            "SELECT f.started_at, f.due_at, f.outcome FROM fetches f"
            " WHERE f.source = 'quick' ORDER BY f.id",
        )
    ]


def assert_on_time(fetches: list[tuple[str, str, str]]) -> None:
    lags = [
        (datetime.fromisoformat(started) - datetime.fromisoformat(due)).total_seconds()
        for started, due, _ in fetches
    ]
    assert max(lags) < LAG_LIMIT_S, f"the quick source ran late: lags {lags}"
    assert {outcome for _, _, outcome in fetches} <= {"new", "unchanged"}, fetches


def stop(process: subprocess.Popen[bytes], log: Path) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    return text


def test_a_page_over_the_budget_fails_and_other_fetches_stay_on_time(tmp_path: Path) -> None:
    with serve_site() as site:
        site.set("/news/ferry-runs-again", article_page("Ferry runs again", QUICK))
        # 1,000,000 sibling elements in 9 MB: seconds of extraction however linear it is.
        huge = "<html><body><article>" + "<b>w</b>" * 1_000_000 + "</article></body></html>"
        site.set("/news/huge-page-of-elements", huge)
        slow = f"""
[[sources]]
name = "huge"
url = "{site.url("/news/huge-page-of-elements")}"
kind = "article"
every = "1h"
"""
        config = write_config(tmp_path, site, slow, budget="0.5s")
        db, log = tmp_path / "archive.db", tmp_path / "daemon.log"
        with daemon(config, log) as process:

            def huge_done_and_quick_went_on() -> bool:
                huge = rows(db, "SELECT id FROM fetches WHERE source = 'huge'")
                return bool(huge) and bool(
                    rows(
                        db,
                        "SELECT count(*) FROM fetches WHERE source = 'quick' AND id > ?"
                        " HAVING count(*) >= 3",
                        huge[0][0],
                    )
                )

            wait_for(process, log, "the huge page was never recorded", huge_done_and_quick_went_on)
            text = stop(process, log)
    [(outcome, error, version)] = rows(
        db,
        "SELECT f.outcome, f.error, (SELECT count(*) FROM versions v JOIN articles a"
        " ON a.id = v.article_id WHERE a.url = f.url) FROM fetches f WHERE f.source = 'huge'",
    )
    assert outcome == "failed"
    assert "extraction exceeded 0.5s budget" in str(error), error
    assert version == 0
    assert "extraction exceeded 0.5s budget" in text
    # The worker was replaced: the quick source's pages were read before and after.
    fetches = quick_fetches(db)
    assert len(fetches) >= 4
    assert_on_time(fetches)
    assert rows(db, "SELECT count(*) FROM versions WHERE title = 'Ferry runs again'") == [(1,)]


def big_feed(site: NewsSite, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Story {i} of the day</title>"
        f"<link>{site.url(f'/news/{i}/story-of-the-day')}</link>"
        f"<pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Everything</title>{entries}</channel></rss>"
    ).encode()


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_a_feed_of_50000_items_holds_neither_the_loop_nor_memory(tmp_path: Path) -> None:
    with serve_site() as site:
        site.set("/news/ferry-runs-again", article_page("Ferry runs again", QUICK))
        feed = big_feed(site, 50_000)
        assert 7_000_000 < len(feed) < 10 * 1024**2  # ~8 MB, under the body cap
        site.set("/everything.xml", feed, content_type="application/rss+xml")
        slow = f"""
[[sources]]
name = "big"
url = "{site.url("/everything.xml")}"
kind = "feed"
every = "1h"
"""
        config = write_config(tmp_path, site, slow, budget="60s")
        db, log = tmp_path / "archive.db", tmp_path / "daemon.log"
        with daemon(config, log) as process:

            def listed_and_quick_went_on() -> bool:
                big = rows(db, "SELECT id FROM fetches WHERE url LIKE '%/everything.xml'")
                return bool(big) and bool(
                    rows(
                        db,
                        "SELECT count(*) FROM fetches WHERE source = 'quick' AND id > ?"
                        " HAVING count(*) >= 3",
                        big[0][0],
                    )
                )

            wait_for(process, log, "the big feed was never recorded", listed_and_quick_went_on)
            peak = peak_rss_mib(process.pid)
            stop(process, log)
    [(outcome,)] = rows(db, "SELECT outcome FROM fetches WHERE url LIKE '%/everything.xml'")
    assert outcome in ("new", "changed"), outcome  # read, not failed
    assert rows(db, "SELECT count(*) FROM articles WHERE source = 'big'") == [(50_000,)]
    assert_on_time(quick_fetches(db))
    # The feed was parsed in a worker, streamed, and its links fetched in bounded batches.
    assert peak < 150, f"the daemon peaked at {peak:.0f} MiB"


def _die_at_once() -> None:
    os._exit(3)  # as a worker killed mid-task, or crashed in C code, ends


def test_a_worker_that_dies_fails_its_task_and_the_pool_goes_on() -> None:
    from scraper.workers import WorkerError, Workers

    pool = Workers(2, budget=None, warm=())
    try:
        future = pool.submit(_die_at_once)
        try:
            pool.result(future)
        except WorkerError as error:
            assert "stopped:" in str(error)
        else:
            raise AssertionError("a task whose worker died gave a result")
        assert pool.result(pool.submit(os.getpid)) != os.getpid()  # the next one runs
        # A worker killed while it waits for work (say by the OOM killer) leaves pebble's
        # pool broken, failing every task after it: the next task gets a new pool.
        os.kill(pool.result(pool.submit(os.getpid)), signal.SIGKILL)
        time.sleep(0.5)  # pebble looks at its workers every 0.1 s
        assert pool.result(pool.submit(os.getpid)) != os.getpid()
    finally:
        pool.close()
