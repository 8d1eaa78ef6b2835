"""A full disk loses nothing: the daemon pauses, says so, and resumes when space returns.

The archive lives on a small tmpfs mounted by the test (root only; skipped where
mounting is not allowed). A filler file takes the space away while the daemon
archives a site, and is removed once the daemon says it paused.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sqlite3
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from archive_helpers import FakeClock, page, story
from newsserver import NewsSite, article_page, rss_feed, serve_site

from archive.db import ArchiveStalled
from archive.store import Archive, Recorded

ARTICLES = 150
LOG_LINE = re.compile(r" INFO (\S+) 200 new ")


def _words(rng: random.Random, count: int) -> str:
    return " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(count)
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mount is not allowed here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def site() -> Iterator[NewsSite]:
    rng = random.Random(20)
    with serve_site() as site:
        paths = [f"/news/story-{i}-about-the-harbour" for i in range(ARTICLES)]
        site.set("/feed.xml", rss_feed(site, paths), content_type="application/rss+xml")
        for i, path in enumerate(paths):
            paragraphs = [f"Story {i}. {_words(rng, 60)}." for _ in range(8)]
            site.set(path, article_page(f"Story {i}", paragraphs))
        yield site


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as handle:
        while shutil.disk_usage(disk).free > leave:
            handle.write(b"\0" * min(65536, shutil.disk_usage(disk).free - leave + 1))
            handle.flush()
    return filler


def _versions(db: Path) -> set[str]:
    """The URLs with a version, read as Datasette would; none while there is no file."""
    if not db.exists():
        return set()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {str(row[0]) for row in conn.execute("SELECT DISTINCT url FROM versions")}
    except sqlite3.OperationalError:  # the daemon has not created its tables yet
        return set()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("min_free", "leave", "cause"),
    [
        ("64KiB", 700 * 1024, "disk full"),  # SQLite's writes fail: database or disk is full
        ("2MiB", 1024 * 1024, "below [archive] min_free 2.0 MiB"),  # the floor, before a batch
    ],
)
def test_a_full_disk_pauses_the_daemon_and_loses_nothing(
    tmp_path: Path, small_disk: Path, site: NewsSite, min_free: str, leave: int, cause: str
) -> None:
    db = small_disk / "archive.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[archive]\npath = "{db}"\nmin_free = "{min_free}"\n\n'
        '[fetch]\nhost_gap = "0s"\nmax_retries = 0\n\n'
        f'[[sources]]\nname = "daily"\nurl = "{site.url("/feed.xml")}"\nevery = "2s"\n'
        'jitter = "0s"\n',
        encoding="utf-8",
    )
    filler = _fill(small_disk, leave=leave)  # room for a part of the site at most
    daemon = subprocess.Popen(
        [sys.executable, "-m", "scraper", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    assert daemon.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(daemon.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("archive paused" in line for line in lines):
            assert daemon.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "the daemon never paused:\n" + "".join(lines)
            time.sleep(0.1)
        paused_at = len(lines)
        time.sleep(1.0)  # still paused: nothing is fetched, nothing logged as new
        assert not any(LOG_LINE.search(line) for line in lines[paused_at:]), lines[paused_at:]
        committed = _versions(db)
        announced = {m.group(1) for line in lines if (m := LOG_LINE.search(line))}
        assert announced <= committed, "a version was announced before its commit"
        assert len(committed) < ARTICLES, "the disk was meant to fill before the end"
        filler.unlink()  # space returns
        wanted = {site.url(f"/news/story-{i}-about-the-harbour") for i in range(ARTICLES)}
        while _versions(db) != wanted:
            assert daemon.poll() is None, "".join(lines)
            assert time.monotonic() < deadline + 60, f"{len(_versions(db))} of {ARTICLES}"
            time.sleep(0.2)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        reader.join(timeout=10)
    log = "".join(lines)
    assert daemon.returncode == 0, log
    assert "Traceback" not in log and "raised an exception" not in log, log
    assert "no such savepoint" not in log, log
    assert "archive resumed" in log, log
    pauses = [line for line in lines if "archive paused" in line]
    assert len(pauses) == 1, pauses  # once a minute, and the pause was shorter
    assert cause in pauses[0] and "free" in pauses[0] and str(db) in pauses[0], pauses[0]
    # Every article the log reported as new is in versions, once; nothing was lost.
    new = [m.group(1) for line in lines if (m := LOG_LINE.search(line))]
    assert sorted(new) == sorted(wanted), set(wanted) - set(new)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        counts = conn.execute("SELECT count(*), count(DISTINCT article_id) FROM versions")
        assert counts.fetchone() == (ARTICLES, ARTICLES)


def _announce(announced: list[str], url: str) -> Callable[[Recorded], None]:
    def then(recorded: Recorded) -> None:
        announced.append(f"{url} {recorded.outcome}")

    return then


def test_a_batch_that_cannot_be_committed_is_held_replayed_and_announced_once(
    tmp_path: Path,
) -> None:
    """Without a mount: SQLite's own page limit makes the same 'database or disk is full'."""
    clock = FakeClock()
    announced: list[str] = []
    archive = Archive.open(tmp_path / "archive.db", clock, commit_every=1000)
    try:
        pages = archive._conn.execute("PRAGMA page_count").fetchone()[0]
        # A test-only lever on the writer's connection: the file may not grow past this.
        archive._conn.execute(f"PRAGMA max_page_count = {pages + 8}")
        stalled_at = None
        for i in range(60):
            url = f"https://news.example/{i}"
            body = f"<p>{_words(random.Random(i), 200)}</p>".encode()
            try:
                archive.record(
                    page(url, clock, body),
                    story(_words(random.Random(i), 200)),
                    then=_announce(announced, url),
                )
            except ArchiveStalled as exc:
                assert "disk full" in str(exc)
                stalled_at = i if stalled_at is None else stalled_at
        assert stalled_at is not None, "the page limit was meant to be reached"
        assert announced == [], "nothing is announced before its commit"
        assert archive.stalled is not None and archive.held_writes == 60
        with pytest.raises(ArchiveStalled):
            archive.resume()  # still no room: still held
        archive._conn.execute("PRAGMA max_page_count = 1073741823")  # space returns
        archive.resume()
        assert archive.stalled is None and archive.held_writes == 0
        assert announced == [f"https://news.example/{i} new" for i in range(60)]
    finally:
        archive.close()
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (60,)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_closing_while_writes_are_held_says_what_was_not_committed(tmp_path: Path) -> None:
    clock = FakeClock()
    archive = Archive.open(tmp_path / "archive.db", clock, commit_every=1000)
    pages = archive._conn.execute("PRAGMA page_count").fetchone()[0]
    archive._conn.execute(f"PRAGMA max_page_count = {pages}")  # test-only: the file is full
    body = f"<p>{_words(random.Random(1), 3000)}</p>".encode()
    with pytest.raises(ArchiveStalled):
        archive.record(page("https://news.example/1", clock, body), story("One."))
    with pytest.raises(ArchiveStalled, match="closing with 1 held writes not committed"):
        archive.close()
    # The lock is released and the file is sound: the next start opens it.
    Archive.open(tmp_path / "archive.db", clock).close()
