"""``scraper archiver``: the cluster's one SQLite writer.

It owns the archive file, and so everything that reads or writes it: it records each
finished result exactly as ``scraper run`` records a fetch (the same ``Archive.record``,
the same log line), once, by the result's fetch id; it remembers what a source listed
and queues a fetch of each new article; and when the scheduler says a source or the
revisits came due, it reads their validators and claims the due articles (the
per-article schedule lives in SQLite) and queues their fetches.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from archive.compress import BodyCodec
from archive.db import ArchiveStalled
from archive.store import Archive, Recorded
from contract.clock import Clock, iso
from contract.model import Article, Fetch, Outcome
from scraper.cluster.payload import unpack_result
from scraper.cluster.queue import ARCHIVE_QUEUE, FetchJob, Queue, Roles
from scraper.cluster.worker import ARTICLE, SOURCE
from scraper.config import Config, Source
from scraper.daemon import PAUSE_RETRY_S
from scraper.pipeline import DISCOVER_BATCH, log_fetch

LOG = logging.getLogger("scraper")
T = TypeVar("T")
REVISITS_PER_PASS = 2000  # due articles handed out per pass; the next pass takes the rest
ARCHIVER_JOBS = 32  # jobs whose writes one commit makes durable, at most
COMMIT_WINDOW_S = 0.05  # how long a commit waits for more jobs to join it


class Archiver:
    """Runs the archive queue's jobs against the open archive, in order, one commit for
    the jobs that finished their writes together (a commit a job cost 60 % of the
    cluster's throughput: each is a sync of the file)."""

    def __init__(self, config: Config, clock: Clock, queue: Queue, archive: Archive) -> None:
        self.config = config
        self.clock = clock
        self.queue = queue
        self.archive = archive
        self._by_name = {s.name: s for s in config.sources}
        # Article sources run on their own schedule; the revisits leave them alone.
        self._scheduled_urls = {s.url for s in config.sources}
        self._codec = BodyCodec()
        self._batch: asyncio.Future[None] | None = None  # the commit the next writes join
        self._committing = asyncio.Lock()

    async def run(self) -> None:
        # Jobs start in the order they were queued and write before their first await, so
        # the results of one URL are recorded in that order; they then wait for one commit.
        await self.queue.run((ARCHIVE_QUEUE,), Roles(archive=self.handle), jobs=ARCHIVER_JOBS)

    async def handle(self, args: dict[str, Any]) -> None:
        kind = args["kind"]
        if kind == "result":
            await self.result(args)
        elif kind == "source":
            await self.source_due(args["source"], args.get("due_at"))
        elif kind == "revisits":
            await self.revisits()
        else:
            LOG.error("archive queue: unknown job kind %r skipped", kind)

    async def result(self, args: dict[str, Any]) -> None:
        """Record what a worker fetched, once: a result seen before records nothing."""
        fetch_id: str = args["fetch_id"]
        await self.room()
        if self.archive.received(fetch_id):
            LOG.info("result of %s (fetch %s) was recorded already", args["url"], fetch_id)
            return
        source = self._by_name.get(args.get("source") or "")
        own: Outcome | None = None
        result = unpack_result(args["result"], self._codec)
        for fetch, article in result.recordings:
            recorded = self._record(fetch, article)
            if fetch.url == args["url"] and recorded is not None:
                own = recorded.outcome
        fresh: list[str] = []
        if args["role"] == SOURCE and source is not None:
            links = result.links
            for start in range(0, len(links), DISCOVER_BATCH):
                batch = links[start : start + DISCOVER_BATCH]
                fresh.extend(self._discover(batch, source))
            outcome = own or Outcome.FAILED
            self._write(
                lambda: self.archive.record_source_result(source.name, outcome, result.error)
            )
        self._write(lambda: self.archive.note_received(fetch_id))
        await self.committed()
        found = iso(self.clock.now())  # a discovered article is due when it is found
        await self.queue.defer_fetches([self._fetch(url, ARTICLE, source, found) for url in fresh])

    def _record(self, fetch: Fetch, article: Article | None) -> Recorded | None:
        return self._write(lambda: self.archive.record(fetch, article, then=_announce(fetch)))

    def _discover(self, links: Iterable[str], source: Source) -> list[str]:
        """The links new to the archive (none known while the disk is full: replayed, they
        are due at once, and the revisits fetch them)."""
        return self._write(lambda: self.archive.add_discovered(links, source.name)) or []

    async def source_due(self, name: str, due_at: str | None) -> None:
        """The scheduler says a source is due: queue its fetch, with its validators."""
        source = self._by_name.get(name)
        if source is None:
            LOG.info("source %s is not configured here; its run is skipped", name)
            return
        await self.queue.defer_fetches([self._fetch(source.url, SOURCE, source, due_at)])

    async def revisits(self) -> None:
        """Claim the articles whose next check has come and queue their fetches."""
        handed = 0
        while handed < REVISITS_PER_PASS:
            await self.room()
            due = self._write(
                lambda: self.archive.due_articles(
                    limit=self.config.fetch.concurrency * 4, sources=self._by_name.keys()
                )
            )
            await self.committed()  # the claims are committed before the fetches are queued
            fresh = [d for d in due or () if d.url not in self._scheduled_urls]
            if not fresh:
                return
            await self.queue.defer_fetches(
                [
                    self._fetch(d.url, ARTICLE, self._by_name.get(d.source or ""), d.due_at)
                    for d in fresh
                ]
            )
            handed += len(fresh)

    def _fetch(self, url: str, role: str, source: Source | None, due_at: str | None) -> FetchJob:
        """The fetch job of ``url``, with the validators the archive holds for it."""
        etag, last_modified = self.archive.validators(url)
        host = (urlsplit(url).hostname or "").lower()
        args = {
            "fetch_id": uuid.uuid4().hex,  # the result is recorded once by this id
            "url": url,
            "role": role,
            "source": source.name if source is not None else None,
            "due_at": due_at,
            "etag": etag,
            "last_modified": last_modified,
        }
        return FetchJob(args, url, host)

    def _write(self, op: Callable[[], T]) -> T | None:
        """A write of the archive; while the disk is full it is held (and replayed on
        resume), so its result is unknown here: None."""
        try:
            return op()
        except ArchiveStalled:
            return None

    async def room(self) -> None:
        """Wait while writes are held (disk full), as ``scraper run`` does."""
        if self.archive.stalled is not None:
            async with self._committing:
                await self.settle()

    async def committed(self) -> None:
        """Wait until the job's writes are committed, with those of the jobs that wrote
        meanwhile: a job is told done to the queue only once what it wrote is durable."""
        if self._batch is None:
            self._batch = asyncio.ensure_future(self._commit_soon())
        await asyncio.shield(self._batch)

    async def _commit_soon(self) -> None:
        await asyncio.sleep(COMMIT_WINDOW_S)
        self._batch = None  # writes from now on join the next commit
        async with self._committing:
            await self.settle()

    async def settle(self) -> None:
        """Commit the writes so far, waiting for space while the disk is full."""
        wait = PAUSE_RETRY_S[0]
        said = False
        while True:
            try:
                if self.archive.stalled is None:
                    self.archive.commit()
                else:
                    self.archive.resume()
                return
            except ArchiveStalled as exc:
                if not said:
                    LOG.warning("archive paused: %s; results wait in the queue", exc)
                    said = True
                await asyncio.sleep(wait)
                wait = min(wait * 2, PAUSE_RETRY_S[1])


def _announce(fetch: Fetch) -> Callable[[Recorded], None]:
    """The fetch's log line, once committed: the line ``scraper run`` writes."""

    def say(recorded: Recorded) -> None:
        log_fetch(LOG, fetch, recorded.outcome)

    return say


async def run_archiver(config: Config, clock: Clock) -> None:
    """Record results until SIGTERM or SIGINT; always commit and close the archive."""
    from scraper.daemon import open_archive

    archive = open_archive(config, clock)
    try:
        async with Queue(config.cluster) as queue:
            LOG.info("archiver: recording into %s", config.archive.path)
            await Archiver(config, clock, queue, archive).run()
    finally:
        archive.close()
    LOG.info("stopped")
