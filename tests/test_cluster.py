"""The cluster end to end: 1 scheduler, 3 workers and 1 archiver as real processes on a
real PostgreSQL, against a local news site of three hosts that edits its articles while
workers are SIGKILLed mid-fetch.

What a user relies on:
- the archive holds what ``scraper run`` records on the same scripted site: the same
  versions, in the same order, for every article (edits, a revert, a takedown);
- a killed worker's job runs again once its heartbeat stops, so nothing is lost;
- politeness holds over every worker: at most one request in flight per host, and the
  configured gap between two requests, as the server saw them.

The site's script moves on a phase only once the archive has recorded a fetch of every
article that started after the last change, so both runs see every state of the site
whatever their speed.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from threading import Event

import pytest
from newsserver import NewsSite, Served, article_page, rss_feed, serve_site
from processes import stop

from contract.clock import SystemClock, iso

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
ARTICLES = 4  # per host
HOST_GAP = 0.25
DELAY = 0.05  # each answer takes this long: requests would overlap if anything let them
TIMEOUT = 25.0  # for one phase to be recorded


@dataclass
class Newsroom:
    """The three hosts and the script of their articles."""

    sites: tuple[NewsSite, ...]

    def paths(self) -> list[tuple[int, str]]:
        return [(h, f"/news/{h}-{i}") for h in range(len(self.sites)) for i in range(ARTICLES)]

    def url(self, host: int, path: str) -> str:
        return self.sites[host].url(path)

    def publish(self, host: int, path: str, title: str, paragraphs: list[str]) -> None:
        self.sites[host].set(path, article_page(title, paragraphs), delay_s=DELAY)

    def phase(self, number: int) -> None:
        """The site as it is in phase ``number`` (0: everything first published)."""
        for host, path in self.paths():
            title = f"Story {path.rsplit('/', 1)[1]}"
            text = [f"{title} opens with the harbour at dawn, as the fleet comes back in."]
            text.append("Officials said the new quay will be finished before the winter storms.")
            if number >= 1 and path.endswith(("-0", "-2")):
                text.append("Update: the ministry confirmed the budget for the quay this morning.")
            if number == 1 and path.endswith("-3"):
                text[1] = "Officials said the quay could be delayed by a year, or longer."
            if number >= 2 and path.endswith("-0"):
                title += " (corrected)"
            if number >= 2 and host == 2 and path.endswith("-1"):
                self.sites[host].set(path, "gone", status=404, delay_s=DELAY)
                continue
            self.publish(host, path, title, text)


@contextmanager
def newsroom() -> Iterator[Newsroom]:
    with ExitStack() as stack:
        sites = tuple(stack.enter_context(serve_site(host)) for host in HOSTS)
        room = Newsroom(sites)
        for h, site in enumerate(sites):
            robots = "User-agent: *\nDisallow: /private/\n"
            site.set("/robots.txt", robots, content_type="text/plain")
            paths = [p for host, p in room.paths() if host == h]
            site.set("/feed.xml", rss_feed(site, paths), content_type="application/rss+xml")
        room.phase(0)
        yield room


def write_config(tmp_path: Path, room: Newsroom, cluster: str | None) -> Path:
    sources = "".join(
        f'[[sources]]\nname = "host{h}"\nurl = "{site.url("/feed.xml")}"\nkind = "feed"\n'
        'every = "1h"\n'
        for h, site in enumerate(room.sites)
    )
    table = (
        f'[cluster]\ndatabase = "{cluster}"\nheartbeat = "1s"\nstalled_after = "2s"\n'
        "worker_jobs = 4\n"
        if cluster
        else ""
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[archive]\npath = "archive.db"\nmin_free = 0\n'
        f'[fetch]\nhost_gap = "{HOST_GAP}s"\nallow_networks = ["127.0.0.0/8"]\n'
        'deadline = "20s"\nmax_retries = 0\n'
        '[revisit]\nmin_interval = "1s"\nmax_interval = "2s"\nbudget_per_hour = 100000\n'
        "[extract]\nworkers = 1\n" + table + sources,
        encoding="utf-8",
    )
    return config


def recorded_since(archive: Path, urls: list[str], moment: str) -> bool:
    """Every URL has a recorded fetch that started after ``moment``."""
    if not archive.exists():
        return False
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT url, max(started_at) FROM fetches GROUP BY url").fetchall()
    except sqlite3.OperationalError:
        return False  # not created yet
    finally:
        conn.close()
    latest = dict(rows)
    return all((latest.get(url) or "") > moment for url in urls)


def history(archive: Path, room: Newsroom) -> dict[tuple[int, str], list[tuple[object, ...]]]:
    """Each article's versions, in order, by host number and path (ports differ by run)."""
    by_url = {room.url(h, p): (h, p) for h, p in room.paths()}
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT a.url, v.version, v.state, v.title, v.text FROM versions v"
        " JOIN articles a ON a.id = v.article_id ORDER BY a.url, v.version"
    ).fetchall()
    conn.close()
    kept: dict[tuple[int, str], list[tuple[object, ...]]] = {}
    for url, *version in rows:
        kept.setdefault(by_url[url], []).append(tuple(version))
    return kept


def play(
    room: Newsroom, archive: Path, phases: int, on_phase: Callable[[int], None] | None = None
) -> None:
    """Run the script: each phase once the last one is recorded for every article."""
    urls = [room.url(h, p) for h, p in room.paths()]
    moment = ""
    for number in range(phases):
        if number:
            moment = iso(SystemClock().now())
            room.phase(number)
        if on_phase is not None:
            on_phase(number)
        deadline = time.monotonic() + TIMEOUT
        while not recorded_since(archive, urls, moment):
            assert time.monotonic() < deadline, f"phase {number} was not recorded in time"
            time.sleep(0.2)


def role(config: Path, name: str, logs: Path) -> subprocess.Popen[bytes]:
    log = open(logs / f"{name}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 - closed by the OS
    command = name.split("-")[0]
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", command, "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def socket_owner(port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the TCP connection from local ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def check_politeness(sites: tuple[NewsSite, ...]) -> None:
    for site in sites:
        with site.lock:
            served: list[Served] = sorted(site.served, key=lambda s: s.started)
        assert len(served) > ARTICLES
        for before, after in itertools.pairwise(served):
            assert after.started >= before.ended, (
                f"{site.base_url}: {after.path} started while {before.path} was in flight"
            )
            gap = after.started - before.ended
            # The server sees the gap a little longer than the client: never shorter.
            assert gap >= HOST_GAP * 0.95, f"{site.base_url}: {gap:.3f}s before {after.path}"


def scraper_run_history(tmp_path: Path) -> dict[tuple[int, str], list[tuple[object, ...]]]:
    folder = tmp_path / "single"
    folder.mkdir()
    with newsroom() as room:
        config = write_config(folder, room, None)
        daemon = role(config, "run", folder)
        try:
            play(room, folder / "archive.db", phases=3)
        finally:
            stop(daemon)
        return history(folder / "archive.db", room)


@pytest.mark.slow
def test_a_cluster_records_what_scraper_run_does_while_workers_are_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    expected = scraper_run_history(tmp_path)
    # 12 first versions; phase 1: 6 updates and 3 edits; phase 2: 3 corrections, 3 reverts, a 404
    assert len(expected) == 3 * ARTICLES
    assert sum(len(v) for v in expected.values()) == 12 + 9 + 7

    folder = tmp_path / "cluster"
    folder.mkdir()
    kills: list[str] = []
    with newsroom() as room:
        config = write_config(folder, room, postgres_url)
        archiver = role(config, "archiver", folder)
        scheduler = role(config, "scheduler", folder)
        workers = [role(config, f"worker-{i}", folder) for i in range(3)]
        try:

            def kill_mid_fetch(number: int) -> None:
                """Hold one article's next request; SIGKILL the worker that sent it."""
                host, path = room.paths()[number * 2 + 1]
                site = room.sites[host]
                release = Event()
                with site.lock:
                    route = site.routes[path]
                    site.routes[path] = type(route)(
                        route.body, route.content_type, route.status, 0.0, release
                    )
                if number == 1:  # what `scraper reload` sends the archive's lock holder
                    archiver.send_signal(signal.SIGHUP)
                held_path, port = site.held.get(timeout=TIMEOUT)
                owner = socket_owner(port, [w.pid for w in workers])
                assert owner is not None, "the held request's worker was not found"
                os.kill(owner, signal.SIGKILL)
                kills.append(held_path)
                with site.lock:
                    site.routes[path] = route  # the retry is answered at once
                release.set()
                index = next(i for i, w in enumerate(workers) if w.pid == owner)
                workers[index].wait()
                workers[index] = role(config, f"worker-{index}", folder)  # back to three

            play(room, folder / "archive.db", phases=3, on_phase=kill_mid_fetch)
        finally:
            for process in (scheduler, *workers, archiver):
                stop(process)
        assert len(kills) == 3
        assert archiver.returncode == 0  # SIGHUP did not end it; SIGTERM stopped it cleanly
        got = history(folder / "archive.db", room)
        check_politeness(room.sites)
    assert got == expected
