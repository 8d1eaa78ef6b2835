"""``scraper worker``: fetch and extract the queued URLs, hand the results to the archiver.

A worker runs the same stages as ``scraper run`` (the fetcher with robots.txt,
conditional GET, retries and limits; the extraction workers under their budget), with
one difference: what ``scraper run`` would record goes, compressed, to the archive
queue as one result, recorded by the archiver. Each job runs under the queue's lock on
its host, and starts only once the host's gap since the last request, over every
worker, has passed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from archive.compress import BodyCodec
from archive.store import Recorded
from contract.clock import Clock
from contract.model import Article, Fetch, Outcome
from scraper.cluster.payload import LEVEL, Result, pack_result
from scraper.cluster.queue import FETCH_QUEUE, Queue, Roles
from scraper.config import Config
from scraper.daemon import rendering_fetcher_for, trusted_origins
from scraper.fetch import Fetcher
from scraper.pipeline import Stages, archive_article, run_source
from scraper.politeness import JITTER_FRACTION
from scraper.secrets import SecretStore
from scraper.workers import Workers

LOG = logging.getLogger("scraper")
SOURCE, ARTICLE = "source", "article"  # what a fetch job fetches


@dataclass
class Collected:
    """What the stages would have recorded, kept for the archiver (``pipeline.Recorder``)."""

    known: dict[str, tuple[str | None, str | None]]  # validators of the job's URL
    recordings: list[tuple[Fetch, Article | None]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def validators(self, url: str) -> tuple[str | None, str | None]:
        return self.known.get(url, (None, None))

    def record(
        self,
        fetch: Fetch,
        article: Article | None,
        then: Callable[[Recorded], None] | None = None,
    ) -> Recorded:
        # The outcome is the archiver's to decide; ``then`` (the log line) runs there.
        self.recordings.append((fetch, article))
        return Recorded(fetch.outcome_hint or Outcome.UNCHANGED, None, 0)

    def add_discovered(self, urls: Iterable[str], source: str) -> list[str]:
        self.links.extend(urls)
        return []  # which links are new, the archiver knows

    def record_source_result(self, source: str, outcome: Outcome, error: str | None) -> None:
        """The archiver records it, with the outcome it recorded for the source's fetch."""


class ClusterWorker:
    """One ``scraper worker`` process: its fetcher, extraction workers and queue."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        queue: Queue,
        workers: Workers,
        secrets: SecretStore | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.queue = queue
        self.workers = workers
        self._holds: dict[str, datetime] = {}  # Retry-After holds seen, for the whole cluster
        self.fetcher = Fetcher(
            config.fetch,
            clock,
            trusted_origins=trusted_origins(config.sources),
            on_host_hold=self._hold,
            secrets=secrets,
        )
        self.renderer = rendering_fetcher_for(config, self.fetcher)
        self._by_name = {s.name: s for s in config.sources}
        self._codec = BodyCodec(LEVEL)
        self._rng = random.Random()

    def _hold(self, host: str, until: datetime, reason: str) -> None:
        self._holds[host] = max(until, self._holds.get(host, until))

    async def run(self) -> None:
        await self.queue.run(
            (FETCH_QUEUE,), Roles(fetch=self.fetch), self.config.cluster.worker_jobs
        )

    async def fetch(self, args: dict[str, Any]) -> None:
        """One fetch job: wait for the host's turn, fetch and read, queue the result."""
        url: str = args["url"]
        name: str | None = args.get("source")
        source = self._by_name.get(name) if name is not None else None
        if args["role"] == SOURCE and source is None:
            LOG.info("source %s is no longer configured; %s not fetched", name, url)
            return
        host = (urlsplit(url).hostname or "").lower()
        wait = await self.queue.host_wait(host)
        if wait > 0:
            await asyncio.sleep(wait)
        collected = Collected({url: (args.get("etag"), args.get("last_modified"))})
        stages = Stages(self.renderer or self.fetcher, collected, LOG, self.workers)
        error = None
        try:
            if args["role"] == SOURCE:
                assert source is not None
                run = await run_source(source, stages, args.get("due_at"))
                error = run.error
            else:
                await archive_article(url, source, stages, args.get("due_at"))
        finally:
            await self.queue.host_done(host, self._gap(host))
        await self.queue.defer_archive(
            {
                "kind": "result",
                "fetch_id": args["fetch_id"],
                "role": args["role"],
                "url": url,
                "source": name,
                "result": pack_result(
                    Result(tuple(collected.recordings), tuple(collected.links), error),
                    self._codec,
                ),
            }
        )
        LOG.info("fetched %s: %d results to the archiver", url, len(collected.recordings))

    def _gap(self, host: str) -> float:
        """Seconds until the next request to ``host``: its gap (Crawl-delay included) with
        the same jitter as in one process, or longer while the host asked us to wait."""
        gap = self.fetcher.slots.gap_for(host)
        gap += gap * JITTER_FRACTION * self._rng.random()
        until = self._holds.pop(host, None)
        if until is not None:
            gap = max(gap, (until - self.clock.now()).total_seconds())
        return gap

    async def aclose(self) -> None:
        if self.renderer is not None:
            await self.renderer.aclose()
        await self.fetcher.aclose()


async def run_worker(config: Config, clock: Clock, secrets: SecretStore | None = None) -> None:
    """Run fetch jobs until SIGTERM or SIGINT (jobs in progress finish first)."""
    # The extraction workers first: forked before any connection is open.
    workers = Workers(config.extract.workers, config.extract.budget)
    try:
        async with Queue(config.cluster) as queue:
            worker = ClusterWorker(config, clock, queue, workers, secrets)
            try:
                LOG.info("worker: up to %d jobs at once", config.cluster.worker_jobs)
                await worker.run()
            finally:
                await worker.aclose()
    finally:
        workers.close()
    LOG.info("stopped")
