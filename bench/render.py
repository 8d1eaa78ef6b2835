"""Rendering against the plain fetch, on the same local pages: pages per second and peak RSS.

    python bench/render.py [--pages 30] [--contexts 2] [--pages-dir DIR]

Serves the pages on 127.0.0.1 (the Readability test pages, ``../shared/data/
readability-pages``, when present, else the rendering tests' golden apps) and fetches
each of them:

1. ``plain``: ``scraper.fetch.Fetcher``, as a source with ``render = "never"``;
2. ``render``: ``scraper.render.fetcher.RenderingFetcher`` with ``render = "always"`` on
   the system's Chromium (``[render] pages`` contexts at once), the browser already started.

Peak RSS is this process alone for ``plain``; for ``render`` it adds the Playwright driver
and every Chromium process, sampled every 50 ms. No request leaves the machine: the
fetcher's resolver answers no name, so a page's links to other hosts are refused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import render_pages as golden
from newsserver import serve_site

from contract.clock import SystemClock
from scraper.config import FetchSettings, RenderSettings, Source
from scraper.fetch import Fetcher
from scraper.render.browser import Engine
from scraper.render.fetcher import RenderingFetcher
from scraper.render.procs import descendants, read_proc, rss_of
from scraper.schedule import Schedule

DEFAULT_PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "readability-pages"


class NoNames:
    """A resolver that answers no name: the benchmark reaches nothing but 127.0.0.1."""

    async def resolve(self, host: str, port: int) -> list[str]:
        raise OSError(f"bench: {host} not resolved (loopback only)")


def load_pages(pages_dir: Path, limit: int) -> list[bytes]:
    if pages_dir.is_dir():
        found = [p.read_bytes() for p in sorted(pages_dir.glob("*/source.html"))[:limit]]
        if found:
            return found
    apps = [golden.inline_app(), golden.fetching_app(), golden.plain_page()]
    return [apps[i % len(apps)].encode() for i in range(limit)]


def tree_rss() -> int:
    me = read_proc(os.getpid())
    return rss_of(([me] if me else []) + descendants(os.getpid()))


async def sample_peak(stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], tree_rss())
        await asyncio.sleep(0.05)


async def run(fetch: Any, urls: list[str], sources: list[Source], contexts: int) -> float:
    gate = asyncio.Semaphore(contexts)

    async def one(url: str, source: Source) -> None:
        async with gate:
            got = await fetch(url, source=source)
            if os.environ.get("BENCH_VERBOSE"):
                print(f"  {url}: {got.elapsed_ms} ms via {got.via}", file=sys.stderr)
            if got.outcome_hint is not None:
                print(f"  {url}: {got.outcome_hint} {got.error}", file=sys.stderr)

    began = time.perf_counter()
    await asyncio.gather(*(one(u, s) for u, s in zip(urls, sources, strict=True)))
    return time.perf_counter() - began


async def bench(site: Any, count: int, contexts: int, chromium: str) -> None:
    urls = [site.url(f"/page/{i}") for i in range(count)]
    settings = FetchSettings(host_gap=0.0, deadline=20.0, max_retries=0, robots=False)

    def sources(render: str) -> list[Source]:
        return [Source(f"p{i}", u, "article", Schedule(every=3600), render=render)
                for i, u in enumerate(urls)]  # fmt: skip

    plain = Fetcher(settings, SystemClock(), trusted_origins=[site.url("/")], resolver=NoNames())
    await plain.fetch(urls[0])  # warm: connection pool, imports
    plain_s = await run(plain.fetch, urls, sources("never"), contexts)
    plain_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    engine = Engine(chromium, pages=contexts)
    rendering = RenderingFetcher(plain, engine, RenderSettings(pages=contexts))
    await rendering.fetch(urls[0], source=sources("always")[0])  # the browser starts here
    stop, peak = asyncio.Event(), [tree_rss()]
    sampler = asyncio.create_task(sample_peak(stop, peak))
    render_s = await run(rendering.fetch, urls, sources("always"), contexts)
    stop.set()
    await sampler
    await engine.aclose()
    await plain.aclose()

    mib = 1024**2
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{count} pages, {contexts} at a time, on 127.0.0.1 (one host: one render at a time)")
    print(f"load average {load} on {os.cpu_count()} CPUs")
    print(f"plain:  {count / plain_s:8.1f} pages/s   peak RSS {plain_peak / mib:7.0f} MiB")
    print(f"render: {count / render_s:8.1f} pages/s   peak RSS {peak[0] / mib:7.0f} MiB "
          f"(this process, the driver and Chromium)")  # fmt: skip
    print(f"render is {plain_s and render_s / plain_s:.0f}x slower per page and uses "
          f"{peak[0] / max(plain_peak, 1):.1f}x the memory")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--contexts", type=int, default=2)
    parser.add_argument("--pages-dir", type=Path, default=DEFAULT_PAGES)
    args = parser.parse_args()
    chromium = golden.chromium()
    if chromium is None:
        sys.exit("error: no Chromium (install Debian's chromium)")
    bodies = load_pages(args.pages_dir, args.pages)
    with serve_site() as site:
        for i in range(args.pages):
            site.set(f"/page/{i}", bodies[i % len(bodies)])
        site.set("/static/app.js", golden.APP_JS, content_type="text/javascript")
        site.set("/api/story.json", golden.story_json(), content_type="application/json")
        asyncio.run(bench(site, args.pages, args.contexts, chromium))


if __name__ == "__main__":
    main()
