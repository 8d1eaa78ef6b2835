"""Queries that do not grow with history, and a start that does not read the whole file.

Every statement the daemon runs in a real ``--once`` pass (first fetches, then a pass
of due revisits) is captured with SQLite's trace callback and explained: none may scan
a table that grows with history, nor sort the due rows.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from archive_helpers import FakeClock, page, story
from newsserver import NewsSite, article_page, rss_feed, serve_site

from archive.db import ArchiveDamaged, lock_path_for
from archive.store import Archive
from scraper.config import load_config
from scraper.daemon import Daemon, open_archive

# Tables whose size is the configuration's, not the history's: a scan of them is fine.
_CONFIG_SIZED = {"sources", "hosts"}
_STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


@dataclass
class LaterClock:
    """The real clock moved ahead by hand: fetch deadlines stay real, revisits come due."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        import time

        return time.monotonic()


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        paths = [f"/news/story-number-{i}" for i in range(6)]
        site.set("/feed.xml", rss_feed(site, paths), content_type="application/rss+xml")
        for i, path in enumerate(paths):
            paragraphs = [
                f"Story {i} begins with a long sentence about the harbour and the city council.",
                f"The second paragraph of story {i} says what the engineers found last week.",
            ]
            site.set(path, article_page(f"Story {i}", paragraphs))
        yield site


def _statements(tmp_path: Path, site: NewsSite) -> list[str]:
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        '[fetch]\nhost_gap = "0s"\nmax_retries = 0\n\n'
        '[revisit]\nmin_interval = "15m"\nmax_interval = "1h"\n\n'
        f'[[sources]]\nname = "daily"\nurl = "{site.url("/feed.xml")}"\nevery = "1h"\n',
        encoding="utf-8",
    )
    config = load_config(config_path)
    clock = LaterClock()
    seen: list[str] = []

    async def passes() -> None:
        archive = open_archive(config, clock)
        archive.trace(seen.append)
        daemon = Daemon(config, clock, archive)
        try:
            await daemon.run_once()  # the feed and the first fetch of each article
            clock.offset = timedelta(hours=2)  # every article is due for a revisit
            await daemon.run_once()
        finally:
            await daemon.aclose()
            archive.trace(None)
            archive.close()

    asyncio.run(passes())
    revisits = sqlite3.connect(tmp_path / "archive.db").execute(
        "SELECT count(*) FROM fetches WHERE url LIKE '%/news/%' AND outcome = 'unchanged'"
    )
    assert revisits.fetchone()[0] == 6, "the second pass revisited every article"
    return seen


def test_no_query_of_a_fetch_or_a_dispatch_scans_history(tmp_path: Path, site: NewsSite) -> None:
    statements = [s for s in dict.fromkeys(_statements(tmp_path, site)) if _STATEMENT.match(s)]
    conn = sqlite3.connect(tmp_path / "archive.db")
    explained: dict[str, list[str]] = {}
    for statement in statements:
        plan = [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
        explained[statement] = plan
    bad = {}
    for statement, plan in explained.items():
        for step in plan:
            scan = re.match(r"SCAN (\w+)", step)
            if scan and scan.group(1) not in _CONFIG_SIZED:
                bad[statement] = plan
            if "TEMP B-TREE" in step and re.search(r"\b(articles|fetches)\b", statement):
                bad[statement] = plan
    assert any("FROM articles" in s and "next_check_at <=" in s for s in explained), (
        "the due revisits were picked"
    )
    assert any("FROM fetches" in s and "outcome != 'new'" in s for s in explained), (
        "the hourly budget was read"
    )
    assert not bad, "\n".join(f"{s}\n    {p}" for s, p in bad.items())


def test_quick_check_runs_only_after_an_unclean_stop(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        for i in range(300):
            url = f"https://news.example/a/{i}"
            archive.record(page(url, clock, f"<p>{i}</p>".encode() * 50), story(f"{i}."))
    # Damage a page in the middle of the file, in place, leaving its size and time as they were.
    before = path.stat()
    with path.open("r+b") as handle:
        handle.seek((before.st_size // 4096 // 2) * 4096)
        handle.write(b"\xa5" * 4096)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    # The last writer stopped cleanly and the file looks as it left it: no check at start
    # (on a cold 2 GB file the check takes seconds before the first fetch).
    Archive.open(path, clock).close()
    # After a crash (the lock file keeps the dead writer's pid), the check runs and refuses.
    lock_path_for(path).write_text("4242\n", encoding="utf-8")
    with pytest.raises(ArchiveDamaged, match=r"damaged|not a usable"):
        Archive.open(path, clock)
    # `scraper check` checks on demand, whatever the lock says.
    config = tmp_path / "config.toml"
    config.write_text(
        '[[sources]]\nurl = "https://news.example/feed.xml"\nevery = "1h"\n', encoding="utf-8"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "scraper", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 1, checked.stderr
    assert checked.stderr.startswith(f"error: {path}: the archive is damaged"), checked.stderr


def test_scraper_check_says_ok_for_a_sound_archive(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    Archive.open(path, FakeClock()).close()
    config = tmp_path / "config.toml"
    config.write_text(
        '[[sources]]\nurl = "https://news.example/feed.xml"\nevery = "1h"\n', encoding="utf-8"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "scraper", "check", "--config", str(config), "--full"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == f"{path}: ok\n"
