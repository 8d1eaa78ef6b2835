"""Fetch throughput over local hosts: our guarded fetcher against bare httpx, then the full path.

    python bench/fetch.py [--articles 1000] [--hosts 50] [--concurrency 16] [--pages-dir DIR]

Starts one raw-socket server per loopback address (127.0.0.2, 127.0.0.3, ...), spreads
the articles over them and measures, each over the same URLs:

1. ``httpx``: a bare ``httpx.AsyncClient`` (no politeness, no address checks, no robots,
   no caps), the peer that shows what our guards cost;
2. ``fetch``: ``scraper.fetch.Fetcher`` with the politeness gap at zero (robots.txt is
   still fetched, once per host; one request in flight per host);
3. ``fetch+extract+store``: ``scraper.pipeline.archive_article`` into a fresh archive,
   as the daemon does it.

Pages are the Readability test pages (``../shared/data/readability-pages``) when present,
else a generated article. httpx is imported here only as the reference peer.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from faultserver import FaultServer, fetch_settings, html, response

from archive.store import Archive
from contract.clock import SystemClock
from scraper.fetch import Fetcher
from scraper.pipeline import Stages, archive_article

DEFAULT_PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "readability-pages"
GENERATED = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Harbour reopens</title>"
    "</head><body><article><h1>Harbour reopens</h1>"
    + "<p>The harbour reopened on Monday after eleven weeks of repairs, the city said, "
    "and the first ferries are expected to run on the old timetable.</p>"
    * 30
    + "</article></body></html>"
)


def load_pages(pages_dir: Path, limit: int = 200) -> list[bytes]:
    if pages_dir.is_dir():
        pages = [p.read_bytes() for p in sorted(pages_dir.glob("*/source.html"))[:limit]]
        if pages:
            return pages
    return [GENERATED.encode()]


def start_servers(
    hosts: int, articles: int, pages: list[bytes]
) -> tuple[list[FaultServer], list[str]]:
    servers = [FaultServer(host=f"127.0.0.{2 + i}") for i in range(hosts)]
    urls = []
    for n in range(articles):
        server = servers[n % hosts]
        path = f"/news/{n}"
        server.route(path, html(pages[n % len(pages)]))
        urls.append(server.url(path))
    for server in servers:
        server.route("/robots.txt", lambda c, r: c.send(response(404, b"")) or True)
    return servers, urls


async def timed(jobs: list[Callable[[], Awaitable[object]]]) -> float:
    began = time.perf_counter()
    await asyncio.gather(*(job() for job in jobs))
    return time.perf_counter() - began


async def bare_httpx(urls: list[str], concurrency: int) -> float:
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def get(url: str) -> None:
            async with limit:
                response = await client.get(url)
                response.raise_for_status()

        return await timed([partial(get, u) for u in urls])


async def ours(urls: list[str], concurrency: int, hosts: set[str]) -> float:
    settings = fetch_settings(
        host_gap=0.0,
        robots=True,
        concurrency=concurrency,
        deadline=30.0,
        connect_timeout=10.0,
        read_timeout=30.0,
    )
    fetcher = Fetcher(settings, SystemClock(), trusted_hosts=hosts)
    failures: list[str] = []

    async def get(url: str) -> None:
        result = await fetcher.fetch(url)
        if result.outcome_hint is not None:
            failures.append(f"{url}: {result.error}")

    try:
        seconds = await timed([partial(get, u) for u in urls])
    finally:
        await fetcher.aclose()
    if failures:
        raise SystemExit(f"{len(failures)} fetches failed, first: {failures[0]}")
    return seconds


async def full_path(urls: list[str], concurrency: int, hosts: set[str], db: Path) -> float:
    settings = fetch_settings(
        host_gap=0.0,
        robots=True,
        concurrency=concurrency,
        deadline=30.0,
        connect_timeout=10.0,
        read_timeout=30.0,
    )
    clock = SystemClock()
    fetcher = Fetcher(settings, clock, trusted_hosts=hosts)
    archive = Archive.open(db, clock)
    log = logging.getLogger("bench")
    log.setLevel(logging.ERROR)
    stages = Stages(fetcher, archive, log)
    try:
        seconds = await timed([partial(archive_article, u, None, stages) for u in urls])
        archive.commit()
    finally:
        await fetcher.aclose()
        archive.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pages-dir", type=Path, default=DEFAULT_PAGES)
    parser.add_argument(
        "--repeat", type=int, default=3, help="fetch passes, interleaved; best kept"
    )
    args = parser.parse_args()

    pages = load_pages(args.pages_dir)
    servers, urls = start_servers(args.hosts, args.articles, pages)
    hosts = {s.host for s in servers}
    mean_kib = sum(len(p) for p in pages) / len(pages) / 1024
    print(
        f"{args.articles} articles on {args.hosts} loopback hosts, {len(pages)} distinct pages "
        f"(mean {mean_kib:.0f} KiB), concurrency {args.concurrency}, host gap 0"
    )
    try:
        peer = fetch_only = float("inf")
        for _ in range(args.repeat):  # interleaved, so warm-up and noise hit both alike
            peer = min(peer, asyncio.run(bare_httpx(urls, args.concurrency)))
            fetch_only = min(fetch_only, asyncio.run(ours(urls, args.concurrency, hosts)))
        with tempfile.TemporaryDirectory() as tmp:
            full = asyncio.run(full_path(urls, args.concurrency, hosts, Path(tmp) / "bench.db"))
    finally:
        for server in servers:
            server.stop()
    n = args.articles
    print(f"{'httpx (bare peer)':28} {n / peer:8.0f} pages/s")
    print(f"{'fetch (ours)':28} {n / fetch_only:8.0f} pages/s   {peer / fetch_only:.2f}x the peer")
    print(f"{'fetch+extract+store (ours)':28} {n / full:8.0f} pages/s")


if __name__ == "__main__":
    main()
