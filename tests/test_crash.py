"""kill -9 never loses a committed version, never duplicates or tears one.

Child processes (tests/crash_writer.py) fetch articles from a real local HTTP
server, extract them with the real extractor and write them through
``Archive``; they print each version after its commit. The test kills them
with SIGKILL at random moments (half of them aimed at commits), 100 times over
four archives, and after every kill checks that every version a child reported
committed is there. tests/test_crash_daemon.py kills the real daemon 200 times.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from archive.compress import decompress
from archive.db import integrity_check
from archive.hashing import body_hash

KILLS = 100
LANES = 4
WRITER = Path(__file__).with_name("crash_writer.py")

SENTENCES = (
    "The river rose by two metres overnight and kept rising through the morning.",
    "Officials ordered the evacuation of three districts along the eastern bank.",
    "Schools will stay closed until the water falls below the warning level.",
)


class _Articles(BaseHTTPRequestHandler):
    """Each article cycles through three texts, so re-fetches bring edits and reverts."""

    protocol_version = "HTTP/1.0"
    hits: dict[str, int] = {}  # noqa: RUF012 - one server per test, shared by its threads
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            count = self.hits.get(self.path, 0)
            self.hits[self.path] = count + 1
        variant = SENTENCES[(count // 2) % len(SENTENCES)]
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Report {self.path}</title></head><body><article><h1>Report {self.path}</h1>"
            f"<p>{variant}</p>"
            "<p>Rescue teams used boats to reach villages cut off by the flood, and the army "
            "sent trucks with rice, drinking water and medicine to the worst-hit districts.</p>"
            f"<p>Counter {count}: views</p></article></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    handler = type("Articles", (_Articles,), {"hits": {}, "lock": threading.Lock()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def run_and_kill(path: Path, base: str, rng: random.Random) -> list[str]:
    """Start a writer, SIGKILL it at a random moment; the lines it printed as committed.

    Half the kills land at a random time (mostly inside fetch, extract or record),
    half aim at a commit: a few milliseconds after the child says it is committing.
    """
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), base, str(rng.randrange(10**9))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    if first.strip() != b"ready":
        child.kill()
        _, err = child.communicate()
        raise AssertionError(f"writer did not start: {first!r} {err.decode()[-2000:]}")
    lines: list[bytes] = []
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0.0, 0.25))
    else:
        commits_to_pass = rng.randrange(4)
        while commits_to_pass >= 0:
            line = child.stdout.readline()
            lines.append(line)
            if line.strip() == b"committing":
                commits_to_pass -= 1
        time.sleep(rng.uniform(0.0, 0.004))
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
    # A line cut by the kill is not a claim; only whole lines count.
    text = b"".join(lines).decode() + out.decode()
    return [line for line in text.split("\n")[:-1] if line.startswith("committed ")]


def check_archive(path: Path, committed: dict[tuple[str, int], str]) -> int:
    assert integrity_check(path) == ["ok"]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        stored = {
            (url, version): content_hash
            for url, version, content_hash in conn.execute(
                "SELECT a.url, v.version, v.content_hash FROM versions v"
                " JOIN articles a ON a.id = v.article_id"
            )
        }
        missing = {key: h for key, h in committed.items() if stored.get(key) != h}
        assert not missing, f"committed versions lost or altered: {missing}"
        for article_id, current in conn.execute("SELECT id, current_version FROM articles"):
            numbers = [
                row[0]
                for row in conn.execute(
                    "SELECT version FROM versions WHERE article_id = ? ORDER BY version",
                    (article_id,),
                )
            ]
            assert numbers == list(range(1, len(numbers) + 1)), "versions numbered 1..n"
            assert (current or 0) == len(numbers), "the article points at its latest version"
        # No duplicated version: consecutive versions of an article always differ.
        duplicates = conn.execute(
            "SELECT count(*) FROM versions a JOIN versions b ON b.article_id = a.article_id"
            " AND b.version = a.version + 1 WHERE a.content_hash = b.content_hash"
        ).fetchone()[0]
        assert duplicates == 0
        # Nothing torn: each version has its fetch, its body, and the body reads back whole.
        torn = conn.execute(
            "SELECT count(*) FROM versions v LEFT JOIN fetches f ON f.id = v.fetch_id"
            " LEFT JOIN bodies b ON b.hash = v.body_hash"
            " WHERE f.id IS NULL OR b.hash IS NULL OR f.version != v.version"
            " OR v.text IS NULL OR v.text = '' OR v.changed_fields IS NULL"
        ).fetchone()[0]
        assert torn == 0
        for key, content, size in conn.execute("SELECT hash, content, size FROM bodies"):
            raw = decompress(content)
            assert len(raw) == size and body_hash(raw) == key
        for (fields,) in conn.execute("SELECT changed_fields FROM versions"):
            json.loads(fields)
        return len(stored)
    finally:
        conn.close()


def lane(tmp_path: Path, base: str, lane_number: int, kills: int) -> tuple[int, int]:
    rng = random.Random(1000 + lane_number)
    path = tmp_path / f"lane{lane_number}.db"
    committed: dict[tuple[str, int], str] = {}
    claims = 0
    versions = 0
    for _ in range(kills):
        for line in run_and_kill(path, base, rng):
            _, url, version, content_hash = line.split(" ")
            committed[(url, int(version))] = content_hash
            claims += 1
        versions = check_archive(path, committed)
    return claims, versions


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkill_at_random_moments_never_loses_a_committed_version(
    tmp_path: Path, server: str
) -> None:
    per_lane = -(-KILLS // LANES)
    with ThreadPoolExecutor(LANES) as pool:
        results = list(pool.map(lambda n: lane(tmp_path, server, n, per_lane), range(LANES)))
    claims = sum(c for c, _ in results)
    versions = sum(v for _, v in results)
    # The kills must have landed while there was work: plenty of versions were committed.
    assert claims >= KILLS, f"only {claims} committed versions reported over {KILLS} kills"
    assert versions >= claims
