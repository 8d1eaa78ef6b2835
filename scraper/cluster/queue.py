"""The cluster's queue on PostgreSQL: the only module that knows Procrastinate.

Two queues. ``fetch`` holds fetch jobs, run by ``scraper worker``: each under a
Procrastinate ``lock`` on its host (one job per host runs at a time, over every worker)
and a ``queueing_lock`` on its URL (at most one waiting job per URL). ``archive`` holds
what the one SQLite writer, ``scraper archiver``, does: record a finished result, run a
source that came due, hand out the revisits that came due.

The gap between two requests to one host is kept in a table of our own
(``newsarchive_host_gaps``), in the database's clock, so it holds whichever worker runs
the next job. A worker that stops sending heartbeats (killed, its machine lost) is taken
for dead after ``stalled_after``: a periodic job run by the live workers puts its jobs
back in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, ProcrastinateException
from procrastinate.jobs import Job, Status

from scraper.config import ClusterSettings

FETCH_QUEUE = "fetch"
ARCHIVE_QUEUE = "archive"
FETCH_TASK = "newsarchive.fetch"
ARCHIVE_TASK = "newsarchive.archive"
_STALLED_TASK = "newsarchive.retry_stalled"
# Any number to take as a lock of the whole database while the schema is installed.
_INSTALL_LOCK = 0x6E657773
_HOST_GAPS = """
CREATE TABLE IF NOT EXISTS newsarchive_host_gaps (
    host text PRIMARY KEY,
    next_at timestamptz NOT NULL
)
"""
# A handler failing unexpectedly (the database gone for a moment) is tried again, later
# each time, rather than lost.
_RETRY = RetryStrategy(max_attempts=8, exponential_wait=2)
POLL_S = 0.2  # a worker's longest wait before it looks for jobs again
CONNECT_WAIT_S = 15.0  # a role that cannot reach the database at start says so
LOG = logging.getLogger("scraper.cluster")

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class QueueError(Exception):
    """The queue's database cannot be used; the message says why (never the password)."""


@dataclass(frozen=True)
class FetchJob:
    """A fetch to queue: its job's arguments, under the locks of its URL and host."""

    args: Mapping[str, Any]
    url: str
    host: str


@dataclass(frozen=True)
class Roles:
    """What a process runs for each task: None where it runs no such jobs."""

    fetch: Handler | None = None
    archive: Handler | None = None


class Queue:
    """The Procrastinate app of the cluster, opened on ``[cluster] database``."""

    def __init__(self, settings: ClusterSettings, *, connect_wait: float = CONNECT_WAIT_S) -> None:
        if settings.database is None:
            raise QueueError("[cluster] database is not set")
        self.settings = settings
        self._connect_wait = connect_wait
        # min_size 1: a worker holds few connections (max_connections is what matters).
        connector = PsycopgConnector(conninfo=settings.database, min_size=1, max_size=4)
        self._app = App(connector=connector)
        self._register()

    def _register(self) -> None:
        app = self._app

        async def fetch(context: JobContext, /, **args: Any) -> None:
            await _handler(context, "fetch")(args)

        async def archive(context: JobContext, /, **args: Any) -> None:
            await _handler(context, "archive")(args)

        async def retry_stalled(context: JobContext, timestamp: int) -> None:
            await self.retry_stalled()

        app.task(name=FETCH_TASK, queue=FETCH_QUEUE, pass_context=True, retry=_RETRY)(fetch)
        app.task(name=ARCHIVE_TASK, queue=ARCHIVE_QUEUE, pass_context=True, retry=_RETRY)(archive)
        every = min(max(int(self.settings.heartbeat), 1), 59)
        stalled = app.task(name=_STALLED_TASK, queue=FETCH_QUEUE, pass_context=True)(retry_stalled)
        app.periodic(cron=f"* * * * * */{every}", queueing_lock=_STALLED_TASK)(stalled)

    async def __aenter__(self) -> Queue:
        try:
            async with asyncio.timeout(self._connect_wait):
                await self._app.open_async()
                await self.install()
        except TimeoutError:
            with contextlib.suppress(Exception):
                await self._app.close_async()
            raise QueueError(
                f"cannot use the cluster database: no connection within {self._connect_wait:g}s"
            ) from None
        except Exception as exc:  # the boundary: psycopg's and the pool's errors, said once
            with contextlib.suppress(Exception):
                await self._app.close_async()
            raise QueueError(f"cannot use the cluster database: {_cause(exc)}") from None
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._app.close_async()

    async def install(self) -> None:
        """Procrastinate's schema and our table, once, whichever role starts first."""
        pool = self._app.connector.pool  # type: ignore[attr-defined]
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INSTALL_LOCK,))
            row = await (await conn.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone()
            if row[0] is None:
                await conn.execute(self._app.schema_manager.get_schema())
            await conn.execute(_HOST_GAPS)

    # -- deferring -----------------------------------------------------------------------------

    async def defer_fetch(self, args: Mapping[str, Any], *, url: str, host: str) -> bool:
        """Queue a fetch of ``url``; False when one for ``url`` is waiting already."""
        return await self.defer_fetches([FetchJob(args, url, host)]) == 1

    async def defer_fetches(self, fetches: Sequence[FetchJob]) -> int:
        """Queue these fetches in one query (a source's new links, the due revisits); a
        URL whose fetch waits already is skipped. How many were queued."""
        jobs = [self._fetch_job(fetch) for fetch in fetches]
        if not jobs:
            return 0
        manager = self._app.job_manager
        try:
            await manager.batch_defer_jobs_async(jobs)
            return len(jobs)
        except AlreadyEnqueued:
            pass  # the one insert refused them all: one at a time, skipping those waiting
        queued = 0
        for job in jobs:
            with contextlib.suppress(AlreadyEnqueued):
                await manager.defer_job_async(job)
                queued += 1
        return queued

    def _fetch_job(self, fetch: FetchJob) -> Job:
        deferrer = self._app.configure_task(FETCH_TASK, lock=fetch.host, queueing_lock=fetch.url)
        return deferrer.make_new_job(**fetch.args)

    async def defer_archive(self, args: Mapping[str, Any], *, once: str | None = None) -> bool:
        """Queue work for the archiver; with ``once``, not when such work waits already."""
        deferrer = self._app.configure_task(ARCHIVE_TASK, queueing_lock=once)
        try:
            await deferrer.defer_async(**args)
        except AlreadyEnqueued:
            return False
        return True

    # -- the gap between two requests to one host, over every worker -------------------------

    async def host_wait(self, host: str) -> float:
        """Seconds before the next request to ``host`` may start (0 when it may now)."""
        row = await self._app.connector.execute_query_one_async(
            "SELECT coalesce(max(extract(epoch FROM next_at - clock_timestamp())), 0)::float"
            " AS wait FROM newsarchive_host_gaps WHERE host = %(host)s",
            host=host,
        )
        return max(float(row["wait"]), 0.0)

    async def host_done(self, host: str, gap: float) -> None:
        """A request to ``host`` ended: the next one waits ``gap`` seconds from now."""
        await self._app.connector.execute_query_async(
            "INSERT INTO newsarchive_host_gaps (host, next_at)"
            " VALUES (%(host)s, clock_timestamp() + make_interval(secs => %(gap)s))"
            " ON CONFLICT (host) DO UPDATE SET next_at = excluded.next_at",
            host=host,
            gap=gap,
        )

    # -- running -------------------------------------------------------------------------------

    async def run(self, queues: tuple[str, ...], roles: Roles, jobs: int) -> None:
        """Run jobs of ``queues`` until SIGTERM or SIGINT (jobs in progress finish first)."""
        await self._app.run_worker_async(
            queues=list(queues),
            concurrency=jobs,
            additional_context={"roles": roles},
            update_heartbeat_interval=self.settings.heartbeat,
            stalled_worker_timeout=self.settings.stalled_after,
            delete_jobs="successful",  # the queue stays small; the archive keeps the history
            # A job freed by the end of its host's lock is announced by no notification: a
            # worker finds it at its next poll (Procrastinate's 5 s made 10 pages of one host
            # take 50 s).
            fetch_job_polling_interval=POLL_S,
            install_signal_handlers=True,
        )

    async def retry_stalled(self) -> int:
        """Put the jobs of workers silent for ``stalled_after`` back in the queue."""
        manager = self._app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.settings.stalled_after
        )
        retried = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
            except ProcrastinateException:
                # Either another worker retried it meanwhile, or a fetch of the same URL waits
                # already (its queueing lock): then this one ends, or it would hold the
                # host's lock for ever.
                with contextlib.suppress(ProcrastinateException):
                    await manager.finish_job(job, Status.FAILED, delete_job=False)
                    LOG.warning(
                        "job %s (%s) of a silent worker ended: the same fetch waits already",
                        *(job.id, job.task_name),
                    )
                continue
            retried += 1
            LOG.warning("job %s (%s) of a silent worker queued again", job.id, job.task_name)
        return retried

    async def waiting(self) -> int:
        """Jobs waiting or running, over both queues (tests and benchmarks wait for 0)."""
        row = await self._app.connector.execute_query_one_async(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            " AND task_name != %(stalled)s",
            stalled=_STALLED_TASK,
        )
        return int(row["n"])


def _handler(context: JobContext, name: str) -> Handler:
    roles = context.additional_context["roles"]
    assert isinstance(roles, Roles)
    handler: Handler | None = getattr(roles, name)
    if handler is None:  # a queue this process does not listen to
        raise QueueError(f"this process runs no {name} jobs")
    return handler


def _cause(exc: BaseException) -> str:
    """The database's own words, without the connection string (it may hold a password)."""
    current = exc
    while current.__cause__ is not None:
        current = current.__cause__
    text = str(current).strip().splitlines()
    return text[0] if text else type(current).__name__
