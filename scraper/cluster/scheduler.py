"""``scraper scheduler``: say when each source and the revisits are due, run nothing.

The same APScheduler jobs as ``scraper run`` (one per source, on its interval or cron
line with its jitter, and the revisit dispatcher), but a job queues work instead of
doing it: a source that comes due, and a pass over the due revisits, go to the archive
queue, each at most once while one waits. The archiver, which owns the SQLite file where
the validators and the per-article schedule live, turns them into fetch jobs. So the
scheduler needs the database only, and may run anywhere; run exactly one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime

from contract.clock import Clock, iso
from scraper.cluster.queue import Queue
from scraper.config import Config, Source
from scraper.daemon import dispatch_period
from scraper.schedule import Schedule, Scheduler, trigger_for

LOG = logging.getLogger("scraper")


class ClusterScheduler:
    def __init__(self, config: Config, clock: Clock, queue: Queue) -> None:
        self.config = config
        self.clock = clock
        self.queue = queue

    def _job(
        self, defer: Callable[[datetime], Awaitable[object]]
    ) -> Callable[[datetime], Awaitable[None]]:
        async def run(due: datetime) -> None:
            try:
                await defer(due)
            except Exception:  # the database away for a moment: the next run tries again
                LOG.exception("could not queue a scheduled run")

        return run

    def _source_job(self, source: Source) -> Callable[[datetime], Awaitable[None]]:
        async def defer(due: datetime) -> bool:
            args = {"kind": "source", "source": source.name, "due_at": iso(due)}
            return await self.queue.defer_archive(args, once=f"source:{source.name}")

        return self._job(defer)

    async def _revisits(self, due: datetime) -> bool:
        return await self.queue.defer_archive({"kind": "revisits"}, once="revisits")

    async def run(self, stop: asyncio.Event) -> None:
        scheduler = Scheduler(self.clock.now)
        for source in self.config.sources:
            scheduler.add(
                f"source:{source.name}",
                self._source_job(source),
                trigger_for(source.schedule),
                run_now=True,
            )
        every = dispatch_period(self.config.revisit.min_interval)
        scheduler.add(
            "revisits", self._job(self._revisits), trigger_for(Schedule(every=every)), run_now=False
        )
        scheduler.start()
        LOG.info("scheduling %d sources for the cluster", len(self.config.sources))
        try:
            await stop.wait()
        finally:
            scheduler.pause()
            scheduler.stop()


async def run_scheduler(config: Config, clock: Clock) -> None:
    """Until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with Queue(config.cluster) as queue:
            await ClusterScheduler(config, clock, queue).run(stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
    LOG.info("stopped")
