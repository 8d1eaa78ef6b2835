"""``scraper status --json`` and the daemon's /metrics and /healthz, against a running daemon.

One real ``scraper run`` watches four sources of a local site, one in each health
state: healthy (a feed that answers), failing (a feed that is not there), quiet (a feed
that found a new article at each run, then stopped) and never ran (a feed whose server
has not answered yet, on another loopback host so it holds no other source up).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from datasette_server import free_port
from newsserver import NewsSite, article_page, rss_feed, serve_site
from prometheus_client.parser import text_string_to_metric_families
from test_first_hour import rows, wait_for

STORY = [
    "The harbour authority opened a new ferry terminal on the north quay on Monday.",
    "Ferries to the islands will leave every half hour from the new terminal in summer.",
]
UNDATED = (
    "<html><head><title>Night buses return</title></head><body><article>"
    "<h1>Night buses return</h1>"
    "<p>Night buses return to the city centre from next week, the transport office said.</p>"
    "<p>They run every twenty minutes between midnight and five in the morning.</p>"
    "</article></body></html>"
)
QUIET_RUNS = 7  # the quiet feed finds one new article at each of its first seven runs


def config_text(site: NewsSite, slow: NewsSite, port: int, extra: str = "") -> str:
    return f"""
[archive]
path = "archive.db"
{extra}

[fetch]
host_gap = "0s"
max_retries = 0
deadline = "60s"

[revisit]
min_interval = "1h"
max_interval = "2h"

[metrics]
listen = "127.0.0.1:{port}"

[health]  # a test's seconds stand for a site's hours
min_quiet = "2s"
same_run = "0.5s"

[[sources]]
name = "healthy"
url = "{site.url("/healthy.xml")}"
every = "2s"
jitter = "0s"

[[sources]]
name = "failing"
url = "{site.url("/missing.xml")}"
kind = "feed"
every = "2s"
jitter = "0s"

[[sources]]
name = "quiet"
url = "{site.url("/quiet.xml")}"
every = "1s"
jitter = "0s"

[[sources]]
name = "edited"
url = "{site.url("/edited")}"
kind = "article"
every = "1s"
jitter = "0s"

[[sources]]
name = "never ran"
url = "{slow.url("/slow.xml")}"
every = "1h"
"""


def edit_remove_restore(site: NewsSite, stop: threading.Event) -> None:
    """The publisher edits the article after its first fetch, removes it, then puts it back."""
    site.set("/edited", article_page("Ferry fares", STORY))
    edited = article_page("Ferry fares", [*STORY, "Fares rise in May."])
    steps: list[tuple[str, int]] = [(edited, 200), ("gone", 410), (edited, 200)]
    for body, status in steps:
        seen = site.hits.get("/edited", 0)
        while site.hits.get("/edited", 0) == seen and not stop.is_set():
            time.sleep(0.02)
        site.set("/edited", body, status=status)


def feed_new_article_each_run(site: NewsSite, stop: threading.Event) -> None:
    """After each run of the quiet feed, one more article, up to QUIET_RUNS; then none."""
    paths: list[str] = []
    while len(paths) < QUIET_RUNS and not stop.is_set():
        paths.append(f"/quiet/story-{len(paths)}")
        site.set(paths[-1], article_page(f"Quiet story {len(paths)}", STORY))
        site.set("/quiet.xml", rss_feed(site, paths), content_type="application/rss+xml")
        seen = site.hits.get("/quiet.xml", 0)
        while site.hits.get("/quiet.xml", 0) == seen and not stop.is_set():
            time.sleep(0.02)


def scraper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", *args], capture_output=True, text=True, timeout=60
    )


def status_json(config: Path) -> tuple[int, dict[str, Any]] | None:
    """Exit status and report; None while the daemon has not created the archive yet."""
    result = scraper("status", "--json", "--config", str(config))
    if result.returncode == 2 and "no archive here" in result.stderr:
        return None
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels (the text format, parsed)."""
    status, text = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float | None:  # fmt: skip
    return samples.get((name, tuple(sorted(labels.items()))))


def number(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:  # fmt: skip
    found = value(samples, name, **labels)
    assert found is not None, f"no sample {name} {labels}"
    return found


@contextmanager
def running_daemon(config: Path, *, kill: bool = False) -> Iterator[subprocess.Popen[str]]:
    """A real ``scraper run``; stopped with SIGTERM, and it must stop cleanly (or killed)."""
    daemon = subprocess.Popen(
        [sys.executable, "-m", "scraper", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield daemon
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            _, stderr = daemon.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            _, stderr = daemon.communicate()
    if kill:
        return
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


@pytest.fixture
def sites() -> Iterator[tuple[NewsSite, NewsSite]]:
    with serve_site() as site, serve_site("127.0.0.2") as slow:
        site.set("/healthy/ferry", article_page("New ferry terminal", STORY))
        site.set("/healthy/buses", UNDATED)
        site.set(
            "/healthy.xml",
            rss_feed(site, ["/healthy/ferry", "/healthy/buses"]),
            content_type="application/rss+xml",
        )
        yield site, slow


def test_each_health_state_in_status_and_metrics(
    tmp_path: Path, sites: tuple[NewsSite, NewsSite]
) -> None:
    site, slow = sites
    answer = threading.Event()
    slow.set("/slow.xml", rss_feed(slow, []), content_type="application/rss+xml", hold=answer)
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(config_text(site, slow, port), encoding="utf-8")
    db = tmp_path / "archive.db"
    stop = threading.Event()
    feeder = threading.Thread(target=feed_new_article_each_run, args=(site, stop), daemon=True)
    feeder.start()
    editor = threading.Thread(target=edit_remove_restore, args=(site, stop), daemon=True)
    editor.start()
    try:
        with running_daemon(config) as daemon:
            wanted = {"healthy": "healthy", "failing": "failing", "quiet": "quiet",
                      "edited": "healthy", "never ran": "never_ran"}  # fmt: skip

            def states() -> tuple[int, dict[str, Any]] | None:
                answered = status_json(config)
                if answered is None:
                    return None
                code, report = answered
                found = {s["name"]: s["state"] for s in report["sources"]}
                edits = rows(db, "SELECT count(*) FROM versions WHERE url = ?", site.url("/edited"))
                done = edits == [(4,)]  # new, changed, gone, back
                return (code, report) if found == wanted and done else None

            wait_for("the archive's tables", lambda: rows(db, "SELECT name FROM sources"), 20)
            code, report = wait_for("every source in its state", states, 40)
            samples = scrape(port)
            health_status, health_body = get(f"http://127.0.0.1:{port}/healthz")
            committed = rows(db, "SELECT count(*) FROM versions WHERE version = 1")[0][0]
            assert daemon.poll() is None
            answer.set()  # the slow server answers, so the daemon stops at once
    finally:
        stop.set()
        answer.set()

    # scraper status --json
    assert code == 1  # failing and quiet sources
    assert sorted(report["troubled"]) == ["failing", "quiet"]
    assert report["daemon"]["running"] is True
    assert report["daemon"]["pid"] == daemon.pid
    assert 0 < report["daemon"]["uptime_s"] < 120
    by_name = {s["name"]: s for s in report["sources"]}
    healthy, failing, quiet, never = (by_name[n] for n in ("healthy", "failing", "quiet",
                                                           "never ran"))  # fmt: skip
    assert healthy["consecutive_failures"] == 0 and healthy["last_success_at"]
    assert healthy["articles_24h"] == healthy["articles_7d"] == 2
    assert healthy["quality"] == {"articles": 2, "empty_text": 0.0, "no_title": 0.0,
                                  "no_date": 0.5}  # fmt: skip
    assert failing["consecutive_failures"] >= 2 and failing["last_success_at"] is None
    assert "404" in failing["last_error"]
    assert quiet["articles_24h"] == QUIET_RUNS
    # Learnt from its history: a new article about every second, quiet after 3 of those.
    assert 0.5 < quiet["usual_gap_s"] < 3
    assert quiet["quiet_after_s"] == max(3 * quiet["usual_gap_s"], 2.0)
    assert never["last_run_at"] is None and never["articles_7d"] == 0
    assert report["revisits"]["due_now"] == 0  # revisits come an hour after the first fetch
    assert report["lag"]["fetches"] > 0 and report["lag"]["p95_s"] < 10
    size = report["size"]
    assert (
        size["database_bytes"] > 0
        and size["total_bytes"] == size["database_bytes"] + size["wal_bytes"]
    )

    # /metrics: the same states, and counters of what was committed
    for name, state in wanted.items():
        for other in ("healthy", "failing", "quiet", "never_ran"):
            got = value(samples, "newsarchive_source_state", source=name, state=other)
            assert got == (1.0 if other == state else 0.0), (name, other, got)
    assert number(samples, "newsarchive_fetches_total", source="failing", outcome="gone") >= 2
    assert number(samples, "newsarchive_source_consecutive_failures", source="failing") >= 2
    assert (
        value(samples, "newsarchive_fetches_total", source="never ran", outcome="changed") is None
    )
    new = sum(v for (n, labels), v in samples.items()
              if n == "newsarchive_versions_total" and ("kind", "new") in labels)  # fmt: skip
    assert 2 + QUIET_RUNS <= new <= committed  # never counted before its commit
    assert value(samples, "newsarchive_versions_total", source="healthy", kind="new") == 2
    assert (
        value(samples, "newsarchive_extraction_problems_total", source="healthy", problem="no_date")
        == 1
    )
    assert (
        value(
            samples, "newsarchive_extraction_problems_total", source="never ran", problem="no_date"
        )
        == 0
    )
    assert number(samples, "newsarchive_schedule_lag_seconds_count") > 0
    assert number(samples, "newsarchive_fetch_duration_seconds_count", source="quiet") >= QUIET_RUNS
    assert value(samples, "newsarchive_revisits_due") == 0
    assert number(samples, "newsarchive_archive_size_bytes", file="database") > 0
    assert abs(number(samples, "newsarchive_last_commit_timestamp_seconds") - time.time()) < 30
    assert (health_status, health_body) == (200, "ok\n")
    for kind in ("new", "changed", "gone", "back"):
        assert value(samples, "newsarchive_versions_total", source="edited", kind=kind) == 1, kind


def test_healthz_fails_while_writes_are_held(
    tmp_path: Path, sites: tuple[NewsSite, NewsSite]
) -> None:
    site, slow = sites
    slow.set("/slow.xml", rss_feed(slow, []), content_type="application/rss+xml")
    port = free_port()
    config = tmp_path / "config.toml"
    # A free-space floor no disk meets: the daemon holds its writes and pauses.
    config.write_text(config_text(site, slow, port, 'min_free = "99999999GiB"'), encoding="utf-8")
    # Killed at the end: a daemon that holds writes waits out the grace period to stop.
    with running_daemon(config, kill=True):

        def unhealthy() -> tuple[int, str] | None:
            try:
                found = get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                return None  # not listening yet
            return found if found[0] == 503 else None

        _, body = wait_for("/healthz to answer 503", unhealthy, 20)
        samples = scrape(port)
    assert "min_free" in body and "writes held" in body
    # Killed: its pid is still in the lock file, but no process holds the lock.
    answered = status_json(config)
    assert answered is not None and answered[1]["daemon"] == {
        "running": False, "pid": None, "started_at": None, "uptime_s": None,
    }  # fmt: skip
    table = subprocess.run(
        [sys.executable, "-m", "scraper", "status", "--config", str(config)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert table.returncode == 0 and "no daemon holds the archive" in table.stdout
    assert all(name in table.stdout for name in ("healthy", "failing", "quiet", "never ran"))
    # Nothing was committed, so nothing was counted.
    assert not any(n == "newsarchive_versions_total" for n, _ in samples)
    assert not any(n == "newsarchive_fetches_total" for n, _ in samples)


def test_a_metrics_port_in_use_is_one_clear_line(
    tmp_path: Path, sites: tuple[NewsSite, NewsSite]
) -> None:
    site, slow = sites
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(config_text(site, slow, port), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "scraper", "run", "--config", str(config)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f'error: [metrics] listen = "127.0.0.1:{port}": cannot listen')
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1:0"])
def test_a_bad_listen_address_is_one_clear_line(
    tmp_path: Path, sites: tuple[NewsSite, NewsSite], listen: str
) -> None:
    site, slow = sites
    text = config_text(site, slow, 1).replace(
        'listen = "127.0.0.1:1"',
        f"listen = {listen!r}" if isinstance(listen, str) else f"listen = {listen}",
    )
    config = tmp_path / "config.toml"
    config.write_text(text.replace("'", '"'), encoding="utf-8")
    result = scraper("status", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {config}: metrics.listen (line ")
    assert 'expected a "HOST:PORT"' in result.stderr and len(result.stderr.splitlines()) == 1


def test_status_without_an_archive_says_so(
    tmp_path: Path, sites: tuple[NewsSite, NewsSite]
) -> None:
    site, slow = sites
    config = tmp_path / "config.toml"
    config.write_text(config_text(site, slow, 9464), encoding="utf-8")
    result = scraper("status", "--config", str(config))
    assert result.returncode == 2
    assert "no archive here" in result.stderr
