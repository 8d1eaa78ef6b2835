"""Cluster throughput: 1, 2 and 4 `scraper worker` processes against one `scraper run`.

    python bench/cluster.py [--articles 400] [--hosts 20] [--workers 1 2 4] [--pages-dir DIR]

A farm of loopback hosts (127.0.0.2, 127.0.0.3, ...), each serving a feed of its share of
the articles, no host gap: the pipeline is CPU-bound (extraction). Measured the way users
run it, end to end, each on a fresh archive:

- ``scraper run --once``: one process reads every feed and archives every article;
- the cluster: ``scraper archiver``, ``scraper scheduler`` and N ``scraper worker``
  processes on a PostgreSQL of the benchmark's own (tests/pgserver.py), until the archive
  holds every article.

Each process reads pages in one extraction worker (``[extract] workers = 1``), so N
workers have N extraction processes against the single process's one. Reported: the
wall time from the first process start to the last article recorded, articles/s, and
the ratio to ``scraper run``. On a 2-core machine 4 workers cannot beat 2.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fetch import DEFAULT_PAGES, load_pages  # bench/fetch.py: the same pages
from newsserver import NewsSite, rss_feed, serve_site
from pgserver import postgres_server


def farm(stack: ExitStack, hosts: int, articles: int, pages: list[bytes]) -> list[NewsSite]:
    sites = [stack.enter_context(serve_site(f"127.0.0.{2 + i}")) for i in range(hosts)]
    listed: dict[int, list[str]] = {}
    for n in range(articles):
        site = sites[n % hosts]
        path = f"/news/{n}"
        site.set(path, pages[n % len(pages)])
        listed.setdefault(n % hosts, []).append(path)
    for i, site in enumerate(sites):
        site.set("/robots.txt", "User-agent: *\n", content_type="text/plain")
        site.set("/feed.xml", rss_feed(site, listed[i]), content_type="application/rss+xml")
    return sites


def write_config(folder: Path, sites: list[NewsSite], database: str | None) -> Path:
    sources = "".join(
        f'[[sources]]\nname = "host{i}"\nurl = "{s.url("/feed.xml")}"\nkind = "feed"\n'
        'every = "1h"\n'
        for i, s in enumerate(sites)
    )
    cluster = f'[cluster]\ndatabase = "{database}"\nworker_jobs = 8\n' if database else ""
    config = folder / "config.toml"
    config.write_text(
        '[archive]\npath = "archive.db"\nmin_free = 0\n'
        '[fetch]\nhost_gap = "0s"\nconcurrency = 16\nallow_networks = ["127.0.0.0/8"]\n'
        '[revisit]\nmin_interval = "1h"\n[extract]\nworkers = 1\n' + cluster + sources,
        encoding="utf-8",
    )
    return config


def recorded(archive: Path) -> int:
    """Article fetches in the archive so far."""
    if not archive.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT count(*) FROM fetches WHERE article_id IS NOT NULL")
            return int(row.fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0  # not created yet


def scraper(config: Path, command: str, log: Path, *more: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", command, "--config", str(config), *more],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def children_cpu() -> float:
    """CPU seconds of the processes this one started and waited for (and their own)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def single(folder: Path, sites: list[NewsSite], articles: int) -> float:
    config = write_config(folder, sites, None)
    began = time.perf_counter()
    process = scraper(config, "run", folder / "run.log", "--once")
    process.wait(timeout=600)
    took = time.perf_counter() - began
    assert recorded(folder / "archive.db") == articles, f"see {folder / 'run.log'}"
    return took


def cluster(folder: Path, sites: list[NewsSite], articles: int, workers: int, url: str) -> float:
    config = write_config(folder, sites, url)
    began = time.perf_counter()
    roles = [scraper(config, "archiver", folder / "archiver.log")]
    roles += [scraper(config, "worker", folder / f"worker{i}.log") for i in range(workers)]
    roles.append(scraper(config, "scheduler", folder / "scheduler.log"))
    try:
        while recorded(folder / "archive.db") < articles:
            if time.perf_counter() - began > 600:
                raise RuntimeError(f"the cluster did not finish; see the logs in {folder}")
            time.sleep(0.1)
        return time.perf_counter() - began
    finally:
        for role in roles:
            role.send_signal(signal.SIGTERM)
        for role in roles:
            role.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--pages-dir", type=Path, default=DEFAULT_PAGES)
    args = parser.parse_args()
    pages = load_pages(args.pages_dir)
    print(f"{args.articles} articles on {args.hosts} hosts, {len(pages)} distinct pages")
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        server = stack.enter_context(postgres_server())
        folder = Path(tmp)
        runs: list[tuple[str, float, float]] = []  # name, seconds, CPU seconds
        sites = farm(stack, args.hosts, args.articles, pages)
        (folder / "run").mkdir()
        cpu = children_cpu()
        took = single(folder / "run", sites, args.articles)
        runs.append(("scraper run", took, children_cpu() - cpu))
        for n in args.workers:
            sites = farm(stack, args.hosts, args.articles, pages)  # fresh: nothing cached
            (folder / f"w{n}").mkdir()
            cpu = children_cpu()
            took = cluster(folder / f"w{n}", sites, args.articles, n, server.new_database())
            runs.append((f"{n} worker{'s' if n > 1 else ''}", took, children_cpu() - cpu))
        base = runs[0][1]
        # CPU: every role and its extraction workers, not PostgreSQL's own processes.
        head = f"{'seconds':>9}{'articles/s':>12}{'vs scraper run':>16}{'CPU ms/article':>16}"
        print(f"{'':<14}{head}")
        for name, took, cpu in runs:
            rate = args.articles / took
            per = 1000 * cpu / args.articles
            print(f"{name:<14}{took:>9.1f}{rate:>12.1f}{base / took:>15.2f}x{per:>16.0f}")


if __name__ == "__main__":
    main()
