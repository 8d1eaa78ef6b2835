"""The single writer on a real SQLite file: bodies, fetches, scheduling, lock, damage check."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import FakeClock, page, story

from archive import schema
from archive.bodies import read_body
from archive.db import ArchiveDamaged, ArchiveError, ArchiveLocked, integrity_check
from archive.hashing import body_hash
from archive.revisit import RevisitPolicy
from archive.store import Archive, SourceInfo
from contract.model import Outcome

URL = "https://news.example/world/2026/flood-waters-rise.html"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def archive(tmp_path: Path, clock: FakeClock) -> Iterator[Archive]:
    opened = Archive.open(tmp_path / "archive.db", clock)
    yield opened
    opened.close()


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows as SQLite returns them: column types depend on the query, so Any."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_each_distinct_body_is_stored_once_compressed(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "archive.db"
    html = b"<html><body>" + b"<p>Water levels rose by two metres overnight.</p>" * 200 + b"</body>"
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, html), story())
        clock.advance(600)
        again = archive.record(page(URL, clock, html), story())
    assert again.outcome == Outcome.UNCHANGED
    assert again.version is None
    bodies = rows(path, "SELECT size, stored_size, compression FROM bodies")
    assert len(bodies) == 1, "an unchanged re-fetch must not add a body"
    size, stored, compression = bodies[0]
    assert compression == "zstd"
    assert stored < size / 10
    fetches = rows(path, "SELECT outcome, body_hash IS NOT NULL FROM fetches ORDER BY id")
    assert fetches == [("new", 1), ("unchanged", 1)]
    assert rows(path, "SELECT count(*) FROM versions") == [(1,)]


def test_stored_body_reads_back_byte_for_byte(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "archive.db"
    html = "<p>Người dân lội nước</p>".encode() + bytes(range(256))
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, html), story())
        stored = list(archive.stored_versions())
    assert [s.body for s in stored] == [html]


def test_every_version_records_its_extractor(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "archive.db"
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, b"a"), story("One.", extractor_version="x-1"))
        archive.record(page(URL, clock, b"b"), story("Two.", extractor_version="x-1"))
    assert rows(path, "SELECT version, extractor_version FROM versions ORDER BY version") == [
        (1, "x-1"),
        (2, "x-1"),
    ]


def test_second_writer_refuses_within_a_second_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from contract.clock import SystemClock;"
            "from archive.store import Archive;"
            f"a = Archive.open(Path({str(path)!r}), SystemClock()); print('ready', flush=True);"
            "sys.stdin.read(); a.close()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(ArchiveLocked) as refused:
            Archive.open(path, FakeClock())
        assert time.monotonic() - started < 1.0
        message = str(refused.value)
        assert str(path) in message
        assert f"pid {holder.pid}" in message
        assert "already writing" in message
    finally:
        holder.communicate("", timeout=10)
    # Once the first writer is gone the archive opens again.
    Archive.open(path, FakeClock()).close()


def test_damaged_file_is_refused_and_left_untouched(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "archive.db"
    with Archive.open(path, clock) as archive:
        for i in range(300):
            archive.record(page(f"{URL}?n={i}", clock, f"<p>{i}</p>".encode() * 50), story(f"{i}."))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page_size = 4096
    # Scribble over a b-tree page in the middle of the file (not the header).
    middle = (len(data) // page_size // 2) * page_size
    data[middle : middle + page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(ArchiveDamaged) as refused:
        Archive.open(path, clock)
    assert "damaged" in str(refused.value) or "not a usable" in str(refused.value)
    assert str(path) in str(refused.value)
    assert path.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "archive.db"
    path.write_text("title,url\nnot a database,https://x\n" * 100)
    with pytest.raises(ArchiveDamaged, match="not a usable SQLite archive"):
        Archive.open(path, clock)


def test_feed_fetch_is_changed_or_unchanged_by_its_bytes(
    archive: Archive, clock: FakeClock
) -> None:
    feed = "https://news.example/rss.xml"
    first = archive.record(page(feed, clock, b"<rss>1</rss>"), None)
    same = archive.record(page(feed, clock, b"<rss>1</rss>"), None)
    other = archive.record(page(feed, clock, b"<rss>2</rss>"), None)
    assert [first.outcome, same.outcome, other.outcome] == [
        Outcome.CHANGED,
        Outcome.UNCHANGED,
        Outcome.CHANGED,
    ]
    assert first.version is None


def test_validators_come_from_the_last_successful_fetch(archive: Archive, clock: FakeClock) -> None:
    assert archive.validators(URL) == (None, None)
    archive.record(page(URL, clock, b"a", etag='"v1"'), story())
    archive.record(page(URL, clock, None, status=503, hint=Outcome.FAILED), None)
    assert archive.validators(URL) == ('"v1"', None)


def test_discovered_urls_are_new_once_and_claimed(archive: Archive, clock: FakeClock) -> None:
    urls = [f"https://news.example/a/{i}.html" for i in range(3)]
    assert archive.add_discovered([*urls, urls[0]], "news") == urls
    assert archive.add_discovered(urls, "news") == []
    # Claimed for the caller that got them: not handed out again until the lease runs out.
    assert archive.due_articles(10) == []
    clock.advance(RevisitPolicy().claim_lease() + 1)
    assert sorted(d.url for d in archive.due_articles(10)) == urls
    assert archive.due_articles(10) == []


def test_revisits_respect_the_hourly_budget_per_source(tmp_path: Path, clock: FakeClock) -> None:
    policy = RevisitPolicy(min_interval=60, budget_per_hour=3)
    with Archive.open(tmp_path / "a.db", clock, revisit=policy) as archive:
        for source in ("north", "south"):
            for i in range(5):
                url = f"https://{source}.example/{i}.html"
                archive.record(page(url, clock, url.encode(), source=source), story(url))
        clock.advance(7 * 86400)  # everything is due
        due = archive.due_articles(100)
        assert sorted(d.source or "" for d in due) == ["north"] * 3 + ["south"] * 3
        for item in due:
            archive.record(
                page(item.url, clock, item.url.encode(), source=item.source), story(item.url)
            )
        clock.advance(600)
        assert archive.due_articles(100) == [], "budget for this hour is spent"
        clock.advance(3600)
        assert len(archive.due_articles(100)) == 4


def test_failures_back_off_exponentially_up_to_a_day(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "a.db"
    gaps = []
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, b"a"), story())
        for _ in range(12):
            archive.record(page(URL, clock, None, status=503, hint=Outcome.FAILED), None)
            archive.commit()
            ((next_check,),) = rows(path, "SELECT next_check_at FROM articles")
            gaps.append((datetime.fromisoformat(next_check) - clock.now()).total_seconds())
    assert gaps[1] == 2 * gaps[0]
    assert gaps[2] == 2 * gaps[1]
    assert max(gaps) == 86400 and gaps[-1] == 86400, "never dropped, never beyond a day"
    assert rows(path, "SELECT consecutive_failures FROM articles") == [(12,)]


def test_sources_and_host_holds_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "a.db"
    with Archive.open(path, clock) as archive:
        archive.sync_sources([SourceInfo("news", "https://news.example/rss", "feed", "every 15m")])
        archive.record_source_result("news", Outcome.FAILED, "HTTP 503")
        archive.save_host_hold("news.example", clock.now() + timedelta(hours=1), "Retry-After")
        archive.save_host_hold("old.example", clock.now() - timedelta(hours=1), "Retry-After")
    with Archive.open(path, clock) as archive:
        assert archive.host_holds() == {"news.example": clock.now() + timedelta(hours=1)}
        archive.sync_sources([SourceInfo("news", "https://news.example/feed", "feed", "every 5m")])
    assert rows(path, "SELECT name, url, schedule, last_outcome, last_error FROM sources") == [
        ("news", "https://news.example/feed", "every 5m", "failed", "HTTP 503")
    ]


def test_uncommitted_batch_is_invisible_to_readers_until_commit(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "a.db"
    with Archive.open(path, clock, commit_every=1000, commit_after_s=3600) as archive:
        archive.record(page(URL, clock, b"a"), story())
        assert rows(path, "SELECT count(*) FROM versions") == [(0,)]
        archive.commit()
        assert rows(path, "SELECT count(*) FROM versions") == [(1,)]
    assert integrity_check(path) == ["ok"]


def test_near_copy_bodies_are_stored_against_the_previous_body(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "a.db"
    article = b"".join(f"<p>Paragraph {i} of the flood report.</p>".encode() for i in range(400))
    bodies = [article + f"<!-- rendered {n} --><b>{n * 37} views</b>".encode() for n in range(5)]
    other = random.Random(5).randbytes(20_000)  # nothing like the others: stored on its own
    with Archive.open(path, clock, delta_bodies=True) as archive:
        for body in [*bodies, other]:
            clock.advance(600)
            archive.record(page(URL, clock, body), story())
        read_back = [item.body for item in archive.stored_versions()]
    stored = rows(
        path,
        "SELECT size, stored_size, compression, substr(content, 1, 64) FROM bodies ORDER BY rowid",
    )
    assert [s[2] for s in stored] == ["zstd"] + ["zstd+base"] * 4 + ["zstd"]
    first_hash = rows(path, "SELECT hash FROM bodies ORDER BY rowid LIMIT 1")[0][0]
    assert all(s[3] == first_hash.encode() for s in stored[1:5]), "deltas are against a full body"
    assert all(s[1] < 160 for s in stored[1:5]), stored
    conn = sqlite3.connect(path)
    for body in [*bodies, other]:
        assert read_body(conn, body_hash(body)) == body
    conn.close()
    assert read_back == [bodies[0]], "one version: the noise never made another"


def test_a_file_written_by_a_newer_program_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "new.db"
    Archive.open(path, clock).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ArchiveError, match="upgrade newsarchive before writing to it"):
        Archive.open(path, clock)
    # The lock was released with the refusal: a fixed file opens at once.
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
    conn.close()
    Archive.open(path, clock).close()


def test_an_archive_path_that_cannot_be_created_is_a_clear_error(
    tmp_path: Path, clock: FakeClock
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(ArchiveError) as refused:
        Archive.open(blocker / "archive.db", clock)
    assert str(blocker / "archive.db") in str(refused.value)
    assert "cannot create the lock file" in str(refused.value)
