"""An archive removed or replaced under the running daemon stops it, with nothing lost.

Before, the daemon kept writing into the unlinked file, logged every article as new
and exited 0 at SIGTERM, with everything gone.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from newsserver import NewsSite, article_page, rss_feed, serve_site

ARTICLES = 80
NEW = re.compile(r" INFO (\S+) 200 new ")


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        paths = [f"/news/story-{i}-about-the-harbour" for i in range(ARTICLES)]
        site.set("/feed.xml", rss_feed(site, paths), content_type="application/rss+xml")
        for i, path in enumerate(paths):
            paragraphs = [
                f"Story {i} begins with a long sentence about the harbour and the city council.",
                f"The second paragraph of story {i} says what the engineers found last week.",
            ]
            # Slow enough that the daemon is still archiving when the file goes.
            site.set(path, article_page(f"Story {i}", paragraphs), delay_s=0.1)
        yield site


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


def _remove(data: Path) -> Path | None:
    shutil.rmtree(data)
    return None


def _unlink(data: Path) -> Path | None:
    for name in ("archive.db", "archive.db-wal", "archive.db-shm"):
        (data / name).unlink(missing_ok=True)
    return None


def _replace(data: Path) -> Path | None:
    """Move the file aside (with its WAL) and put a copy in its place, as a restore would."""
    kept = data / "kept"
    kept.mkdir()
    for name in ("archive.db", "archive.db-wal", "archive.db-shm"):
        if (data / name).exists():
            os.rename(data / name, kept / name)
    shutil.copy(kept / "archive.db", data / "archive.db")
    return kept / "archive.db"


@pytest.mark.parametrize(
    "fault",
    [_remove, _unlink, _replace],
    ids=["directory removed", "file removed", "file replaced"],
)
def test_the_daemon_stops_when_its_archive_goes(
    tmp_path: Path, site: NewsSite, fault: Callable[[Path], Path | None]
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(
        '[archive]\npath = "data/archive.db"\nmin_free = "0"\n\n'
        '[fetch]\nhost_gap = "0s"\nmax_retries = 0\n\n'
        f'[[sources]]\nname = "daily"\nurl = "{site.url("/feed.xml")}"\nevery = "1h"\n',
        encoding="utf-8",
    )
    daemon = subprocess.Popen(
        [sys.executable, "-m", "scraper", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(daemon.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while len(_versions(data / "archive.db")) < 5:
            assert daemon.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        kept = fault(data)
        gone_at = len(lines)
        daemon.wait(timeout=30)  # it stops by itself, without a signal
    finally:
        if daemon.poll() is None:
            daemon.kill()
        reader.join(timeout=10)
    log = "".join(lines)
    assert daemon.returncode == 1, log
    assert "Traceback" not in log, log
    errors = [line for line in lines if " ERROR " in line or line.startswith("error:")]
    assert errors and all("removed or replaced" in line for line in errors), errors
    assert "archive.db" in errors[0]
    new_after = [line for line in lines[gone_at:] if NEW.search(line)]
    assert len(new_after) < ARTICLES // 2, "it kept archiving into a file nobody will read"
    announced = {m.group(1) for line in lines if (m := NEW.search(line))}
    assert announced
    rescued = sorted(data.glob("archive.db.rescued-*")) if data.exists() else []
    if fault is _remove:
        assert "could not be saved" in errors[0], errors[0]
    else:
        # Nothing it had committed is lost: the open file is saved beside the old path.
        assert len(rescued) == 1 and str(rescued[0]) in errors[0], errors[0]
        assert announced <= _versions(rescued[0])
    if kept is not None:
        # Every version the log announced is in the file the daemon wrote to.
        assert announced <= _versions(kept)
