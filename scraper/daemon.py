"""The long-running daemon: schedule every source, revisit due articles, stop cleanly.

``run_daemon`` runs until SIGTERM or SIGINT; then it lets in-flight fetches finish
for a grace period, abandons the rest, commits and closes the archive. SIGHUP re-reads
the configuration (:mod:`scraper.reload` says what of it applies at once).
``run_once`` fetches every source once (and every article it discovered).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from archive.db import ArchiveFault, ArchiveGone, ArchiveStalled
from archive.reschedule import Rescheduled
from archive.revisit import RevisitPolicy
from archive.store import Archive, Recorded, SourceInfo
from contract.clock import Clock, iso
from contract.model import Article, Fetch
from scraper.config import Config, ConfigError, Source, format_duration, load_config
from scraper.fetch import Fetcher
from scraper.metrics import Metrics, MetricsServer, serve
from scraper.pipeline import PageFetcher, Stages, archive_article, run_source
from scraper.reload import Reload, plan_reload, restart_note, summary
from scraper.render.locate import RenderUnavailable
from scraper.reparse import Selectors, reextractor
from scraper.schedule import Schedule, Scheduler, trigger_for
from scraper.secrets import SecretError, SecretStore
from scraper.workers import Workers

if TYPE_CHECKING:
    from scraper.notify.notifier import Notifier

PAUSE_SAY_EVERY_S = 60.0  # while writes are held (disk full), one line a minute says so
PAUSE_RETRY_S = (0.5, 5.0)  # first and longest wait between tries to commit the held writes
SHUTDOWN_GRACE_S = 10.0  # well inside the 15 s a service manager waits before SIGKILL
DISPATCH_EVERY_S = 30.0
HEALTHY_COMMIT_AGE_S = 120.0  # /healthz fails when no commit succeeded for this long
LOG = logging.getLogger("scraper")


@dataclass(frozen=True)
class RunSummary:
    sources: int
    articles: int
    failed_sources: int


def open_archive(config: Config, clock: Clock, selectors: Selectors | None = None) -> Archive:
    """The archive, with the sources of ``config`` recorded.

    ``selectors``: the per-site selectors the previous page of a URL is read again with
    (those of ``config`` by default; the daemon passes its :class:`LiveSelectors`).
    """
    policy = RevisitPolicy(
        min_interval=config.revisit.min_interval,
        max_interval=config.revisit.max_interval,
        budget_per_hour=config.revisit.budget_per_hour,
    )
    # Re-reading the previous raw page with today's extractor keeps a parser upgrade from
    # looking like a publisher edit.
    archive = Archive.open(
        config.archive.path,
        clock,
        revisit=policy,
        reextract=reextractor(selectors or site_selectors(config)),
        delta_bodies=True,  # a re-fetch differing by a counter costs ~1.6 KB instead of ~30 KB
        min_free=config.archive.min_free,
    )
    moved = None
    # A full disk at start holds these writes like any other (the daemon then pauses).
    with contextlib.suppress(ArchiveStalled):
        archive.sync_sources(SourceInfo(s.name, s.url, s.kind, describe(s)) for s in config.sources)
    with contextlib.suppress(ArchiveStalled):
        moved = archive.apply_revisit_policy()
    with contextlib.suppress(ArchiveStalled):
        archive.commit()
    if moved is not None:
        LOG.info("%s", describe_rescheduling(moved, policy))
    return archive


def describe_rescheduling(moved: Rescheduled, policy: RevisitPolicy) -> str:
    def bounds(p: RevisitPolicy) -> str:
        return f"{format_duration(p.min_interval)}..{format_duration(p.max_interval)}"

    was = f"{bounds(moved.previous)} -> " if moved.previous is not None else ""
    return (
        f"revisit bounds {was}{bounds(policy)}: "
        f"{moved.articles} stored articles rescheduled with them"
    )


def dispatch_period(min_interval: float) -> float:
    """How often the dispatcher looks for due revisits: a quarter of ``min_interval``, 1-30 s.

    A revisit waits for the dispatcher's next pass, so a fixed 30 s period made a 30 s
    max_interval revisit every ~60 s (the article came due just after a pass).
    """
    return min(max(min_interval / 4, 1.0), DISPATCH_EVERY_S)


def site_selectors(config: Config) -> Selectors:
    """Per-site ``content``/``remove`` selectors of the config, looked up by the name of the
    source that found the article (the archive records it with the article), as a fetch
    reads them: two sources on one host keep their own, and an article a feed links to on
    another host is read with the feed's."""
    by_source = {s.name: (s.content, s.remove) for s in config.sources if s.content or s.remove}

    def selectors(source: str | None) -> tuple[Sequence[str], Sequence[str]]:
        return by_source.get(source or "", ((), ()))

    return selectors


class LiveSelectors:
    """The per-site selectors of the running configuration, swapped by a reload."""

    def __init__(self, config: Config) -> None:
        self._of = site_selectors(config)

    def use(self, config: Config) -> None:
        self._of = site_selectors(config)

    def __call__(self, source: str | None) -> tuple[Sequence[str], Sequence[str]]:
        return self._of(source)


def describe(source: Source) -> str:
    if source.schedule.cron is not None:
        return f"cron {source.schedule.cron}"
    assert source.schedule.every is not None
    return f"every {format_duration(source.schedule.every)}"


def trusted_origins(sources: Iterable[Source]) -> set[str]:
    """The sources' URLs: each trusts its own origin (scheme, host, port), not its whole host."""
    return {s.url for s in sources}


class Daemon:
    """Holds the stages and the tasks in flight, so shutdown can wait for or abandon them."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        archive: Archive,
        secrets: SecretStore | None = None,
        workers: Workers | None = None,
        selectors: LiveSelectors | None = None,
    ) -> None:
        self.config = config
        self.selectors = selectors or LiveSelectors(config)
        self.clock = clock
        self.archive = archive
        self.fetcher = Fetcher(
            config.fetch,
            clock,
            trusted_origins=trusted_origins(config.sources),
            host_holds=archive.host_holds(),
            on_host_hold=self._save_hold,
            secrets=secrets,
        )
        # Sources with render = "auto" | "always" go through Chromium (scraper/render/).
        self.renderer = rendering_fetcher_for(config, self.fetcher)
        # Pages, feeds and sitemaps are read in worker processes, each under the budget.
        self.workers = workers or Workers(config.extract.workers, config.extract.budget)
        # Off unless [metrics] listen is set; counts only what was committed.
        self.metrics = Metrics(config, clock) if config.metrics.listen else None
        # Off unless [[notify.targets]] are set; raises alerts only for what was committed.
        self.notifier = _notifier(config, clock)
        self.stages = Stages(
            self.renderer or self.fetcher, archive, LOG, self.workers, observe=self._committed
        )
        self._scheduler: Scheduler | None = None
        self._last_commit = clock.monotonic()
        self._by_name = {s.name: s for s in config.sources}
        # Article sources run on their own schedule; the revisit dispatcher leaves them alone.
        self._scheduled_urls = {s.url for s in config.sources}
        self._tasks: set[asyncio.Task[object]] = set()
        # Sources fetched at once: the rest wait at the door, shallow, not deep inside the
        # fetcher (10,000 sources due at a cold start were 10,000 half-made fetches, each
        # with its deadline running while it queued for a connection).
        self._source_runs = asyncio.Semaphore(config.fetch.concurrency * 4)
        self.articles_done = 0
        self.failed_sources = 0
        self.fault: ArchiveGone | None = None  # set when the archive vanished: stop, exit 1
        self._stop: asyncio.Event | None = None
        self._gate = asyncio.Lock()
        self._reloading = asyncio.Lock()  # one reload at a time, in the order asked
        self._reloads: set[asyncio.Task[Reload | None]] = set()

    def _save_hold(self, host: str, until: datetime, reason: str) -> None:
        # Called from inside a fetch: a full disk holds the write, the fetch goes on.
        with contextlib.suppress(ArchiveStalled):
            self.archive.save_host_hold(host, until, reason)

    def tracked(
        self, job: Callable[[datetime], Awaitable[object]]
    ) -> Callable[[datetime], Awaitable[object]]:
        """Wrap a job so its task is known to shutdown."""

        async def run(due: datetime) -> object:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            # Nothing escapes to APScheduler's generic "Job raised an exception" handler.
            try:
                return await job(due)
            except asyncio.CancelledError:
                # Only shutdown cancels jobs (drain() counts them in one line): a dropped or
                # abandoned fetch, not a failure for the scheduler to report with a traceback.
                return None
            except ArchiveStalled:
                return None  # the writes are held; the pause says so once a minute
            except ArchiveGone as exc:
                self._fail(exc)
                return None
            except Exception:
                LOG.exception("a scheduled job failed unexpectedly")
                return None
            finally:
                self._tasks.discard(task)
                self._commit_quietly()

        return run

    def _commit_quietly(self) -> None:
        try:
            self.archive.commit()
        except ArchiveStalled:
            return  # held, and committed when space returns
        except ArchiveGone as exc:
            self._fail(exc)
            return
        self._last_commit = self.clock.monotonic()

    def _committed(self, fetch: Fetch, article: Article | None, recorded: Recorded) -> None:
        """Called for each fetch once its batch is committed."""
        self._last_commit = self.clock.monotonic()
        if self.metrics is not None:
            self.metrics.recorded(fetch, article, recorded)
        if self.notifier is not None:
            self.notifier.committed(fetch, article, recorded)

    def health(self) -> str | None:
        """None while the scheduler runs and commits are recent, else why not (/healthz)."""
        if self.fault is not None:
            return f"stopping: {self.fault}"
        if self._scheduler is None or not self._scheduler.running:
            return "the scheduler is not running"
        if self.archive.stalled is not None:
            return f"archive paused, {self.archive.held_writes} writes held: {self.archive.stalled}"
        age = self.clock.monotonic() - self._last_commit
        limit = max(HEALTHY_COMMIT_AGE_S, 2 * self.config.fetch.deadline)
        if age > limit:
            return f"no commit for {age:.0f}s (more than {limit:.0f}s)"
        return None

    def _fail(self, exc: ArchiveGone) -> None:
        if self.fault is None:
            LOG.error("%s", exc)
            self.fault = exc
        if self._stop is not None:
            self._stop.set()

    async def room(self) -> None:
        """Wait while writes are held (disk full): one line a minute, resume by itself."""
        if self.archive.stalled is None:
            return
        async with self._gate:
            said_at: float | None = None
            paused_at = self.clock.monotonic()
            wait = PAUSE_RETRY_S[0]
            while (reason := self.archive.stalled) is not None:
                if self.fault is not None:
                    raise self.fault
                now = self.clock.monotonic()
                if said_at is None or now - said_at >= PAUSE_SAY_EVERY_S:
                    LOG.warning(
                        "archive paused: %s; holding %d writes, fetching resumes by itself"
                        " when space returns",
                        reason,
                        self.archive.held_writes,
                    )
                    said_at = now
                await asyncio.sleep(wait)
                wait = min(wait * 2, PAUSE_RETRY_S[1])
                held = self.archive.held_writes
                try:
                    self.archive.resume()
                except ArchiveStalled:
                    continue
                LOG.info(
                    "archive resumed: %d held writes committed after %.0fs paused",
                    held,
                    self.clock.monotonic() - paused_at,
                )

    def _counted(self, recorded: Recorded) -> None:
        self.articles_done += 1

    async def named_source_job(self, name: str, due: datetime) -> None:
        """Run the source called ``name`` as the running configuration has it now."""
        source = self._by_name.get(name)
        if source is None:
            return  # removed by a reload after this run was submitted
        await self.source_job(source, due)

    async def source_job(self, source: Source, due: datetime | None = None) -> None:
        """Run a source that was due at ``due`` (now by default)."""
        await self.room()
        async with self._source_runs:
            try:
                result = await run_source(source, self.stages, iso(due or self.clock.now()))
            except ArchiveStalled:
                return  # its fetch is held; what it lists is found again on its next run
            except ArchiveFault:
                raise
            except Exception:  # a bug on one source's page must not stop the others
                LOG.exception(
                    "source %s (%s) failed unexpectedly",
                    *(source.name, source.url),
                    extra={"source": source.name, "url": source.url},
                )
                self.failed_sources += 1
                return
            if result.error:
                self.failed_sources += 1
            await self.articles(result.fresh, source)

    async def articles(self, urls: Iterable[str], source: Source | None) -> None:
        """Archive articles concurrently; the fetcher keeps each host polite."""
        found = iso(self.clock.now())  # a discovered article is due when it is found
        # In bounded batches: a feed of 50,000 new links is not 50,000 tasks at once.
        pending = iter(urls)
        while batch := list(itertools.islice(pending, self.config.fetch.concurrency * 4)):
            if self.fetcher.stopping:
                return
            jobs = [self._article(url, source, found) for url in batch]
            for outcome in await asyncio.gather(*jobs, return_exceptions=True):
                if isinstance(outcome, ArchiveGone):
                    raise outcome
                if isinstance(outcome, Exception):
                    LOG.error("article failed unexpectedly: %r", outcome)

    async def _article(self, url: str, source: Source | None, due_at: str | None) -> None:
        await self.room()
        try:
            await archive_article(url, source, self.stages, due_at, on_committed=self._counted)
        except ArchiveStalled:
            return  # the fetch is held, logged and counted once it is committed

    async def dispatch_due(self, _run_due: datetime | None = None) -> None:
        """Revisit the articles whose next check has come (the schedule lives in SQLite).

        One pass: an article revisited in this pass is not fetched again by it, even when
        a very short revisit interval makes it due again before the pass ends.
        """
        done: set[str] = set(self._scheduled_urls)
        while not self.fetcher.stopping:
            await self.room()
            try:
                due = self.archive.due_articles(
                    limit=self.config.fetch.concurrency * 4, sources=self._by_name.keys()
                )
            except ArchiveStalled:
                continue
            fresh = [d for d in due if d.url not in done]
            if not fresh:
                return
            done.update(d.url for d in fresh)
            outcomes = await asyncio.gather(
                *(self._article(d.url, self._by_name.get(d.source or ""), d.due_at) for d in fresh),
                return_exceptions=True,
            )
            for outcome in outcomes:
                if isinstance(outcome, ArchiveGone):
                    raise outcome
            self._commit_quietly()

    async def run_once(self) -> RunSummary:
        if self.notifier is not None:
            await self.notifier.start()
        now = self.clock.now()  # every source is due at the start of the pass
        await asyncio.gather(*(self.source_job(s, now) for s in self.config.sources))
        await self.dispatch_due()  # known articles whose revisit is due, to catch edits
        while True:  # a full disk waits for space: nothing fetched is dropped
            await self.room()
            try:
                self.archive.commit()
            except ArchiveStalled:
                continue
            break
        if self.notifier is not None:
            await self.notifier.close()  # what the pass raised, sent once
        return RunSummary(len(self.config.sources), self.articles_done, self.failed_sources)

    async def run_forever(self, stop: asyncio.Event) -> None:
        self._stop = stop
        scheduler = Scheduler(self.clock.now)
        for source in self.config.sources:
            self._schedule(scheduler, source)
        scheduler.add(
            "revisits",
            self.tracked(self.dispatch_due),
            trigger_for(Schedule(every=dispatch_period(self.config.revisit.min_interval))),
            run_now=False,
        )
        server = self._serve_metrics()
        alerts = await self._start_alerts()
        scheduler.start()
        self._scheduler = scheduler
        LOG.info(
            "watching %d sources, archive %s", len(self.config.sources), self.config.archive.path
        )
        try:
            await stop.wait()
        finally:
            scheduler.pause()
            await self.drain()
            scheduler.stop()
            if server is not None:
                server.close()
            await self._stop_alerts(alerts)
        if self.fault is not None:
            raise self.fault

    def _schedule(self, scheduler: Scheduler, source: Source) -> None:
        """A job for the source's name: each run reads the source as configured then."""
        scheduler.add(
            _job_id(source),
            self.tracked(functools.partial(self.named_source_job, source.name)),
            trigger_for(source.schedule),
            run_now=True,
        )

    def request_reload(self) -> None:
        """Re-read the configuration file soon (the SIGHUP handler)."""
        task = asyncio.get_running_loop().create_task(self.reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def reload(self) -> Reload | None:
        """Read the configuration file again and apply what can change while running.

        A file that cannot be used is one error line, and the running configuration stays.
        Runs in progress are never interrupted: they finish with the settings they began with.
        """
        async with self._reloading:
            if self._stop is None or self._stop.is_set() or self.fetcher.stopping:
                return None
            path = self.config.path
            try:
                read = await asyncio.to_thread(load_config, path, self.stages.kinds)
                plan = plan_reload(self.config, read)
                secrets = self.fetcher.secrets().reread(self.config.fetch)
                for source in plan.config.sources:
                    secrets.headers_for(source)  # a missing variable refuses the file
                renderer = self.renderer or rendering_fetcher_for(plan.config, self.fetcher)
            except ConfigError as exc:
                LOG.error("reload failed, the running configuration is kept: %s", exc)
                return None
            except (SecretError, RenderUnavailable) as exc:
                LOG.error("reload failed, the running configuration is kept: %s: %s", path, exc)
                return None
            self._apply(plan, secrets, renderer)
            LOG.info("%s", summary(plan))
            restart = restart_note(plan)
            if restart is not None:
                LOG.warning("%s", restart)
            return plan

    def _apply(self, plan: Reload, secrets: SecretStore, renderer: PageFetcher | None) -> None:
        """Swap the running sources for the plan's; synchronous, so no await sees half of it."""
        config = plan.config
        self.config = config
        self._by_name = {s.name: s for s in config.sources}
        self._scheduled_urls = {s.url for s in config.sources}
        self.fetcher.reconfigure(trusted_origins(config.sources), secrets)
        if renderer is not None and self.renderer is None:  # the first source that renders
            self.renderer = renderer
            self.stages = dataclasses.replace(self.stages, fetcher=renderer)
        self.selectors.use(config)
        if self.metrics is not None:
            self.metrics.use_config(config)
        if self.notifier is not None:  # [notify] itself needs a restart; its sources do not
            self.notifier.use_sources(config)
        with contextlib.suppress(ArchiveStalled):  # held like any write while the disk is full
            self.archive.sync_sources(
                SourceInfo(s.name, s.url, s.kind, describe(s))
                for s in (*plan.added, *(c.new for c in plan.changed))
            )
        self._commit_quietly()
        scheduler = self._scheduler
        if scheduler is None:
            return
        for source in plan.removed:
            scheduler.remove(_job_id(source))  # a run in progress finishes
        for change in plan.changed:
            if change.rescheduled or change.run_now:
                trigger = trigger_for(change.new.schedule)
                scheduler.reschedule(_job_id(change.new), trigger, run_now=change.run_now)
        for source in plan.added:
            self._schedule(scheduler, source)

    def _serve_metrics(self) -> MetricsServer | None:
        """Start /metrics and /healthz when configured; raises MetricsError."""
        if self.metrics is None or self.config.metrics.listen is None:
            return None
        host, port = self.config.metrics.listen
        server = serve(self.metrics, host, port, self.health)
        LOG.info("metrics on http://%s/metrics, health on /healthz", server.address)
        return server

    async def _start_alerts(self) -> asyncio.Task[None] | None:
        """Judge the sources once, then send alerts in a task of their own."""
        if self.notifier is None:
            return None
        await self.notifier.start()
        LOG.info("alerts to %s", ", ".join(t.label for t in self.config.notify.targets))
        return asyncio.create_task(self.notifier.run(), name="alerts")

    async def _stop_alerts(self, task: asyncio.Task[None] | None) -> None:
        """After the last commit: what is still waiting is sent once (a few seconds at most)."""
        if task is None or self.notifier is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.notifier.close()

    async def drain(self) -> None:
        """Drop every queued fetch at once; let requests in flight finish within the grace.

        Whatever the backlog (10,000 sources queued on a first start), only the requests
        already sent are waited for; what was dropped is fetched on the next start.
        """
        dropped = self.fetcher.stop()
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            LOG.info(
                "stopping: dropped %d queued fetches; waiting up to %.0fs for %d in flight",
                dropped,
                SHUTDOWN_GRACE_S,
                self.fetcher.requests_in_flight,
            )
            _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_S)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=2.0)
                LOG.info("stopping: abandoned %d jobs", len(late))
        if self.fault is None:
            self._commit_quietly()

    async def aclose(self) -> None:
        try:
            if self.renderer is not None:
                await self.renderer.aclose()
            await self.fetcher.aclose()
        finally:
            self.workers.close()


def _job_id(source: Source) -> str:
    return f"source:{source.name}"


def rendering_fetcher_for(config: Config, plain: Fetcher) -> PageFetcher | None:
    """The rendering fetcher, imported only when some source renders (Playwright is optional)."""
    if all(s.render == "never" for s in config.sources):
        return None
    from scraper.render.fetcher import rendering_fetcher

    return rendering_fetcher(config, plain)


def _notifier(config: Config, clock: Clock) -> Notifier | None:
    """The alerts, imported only when [[notify.targets]] are set (Apprise loads its plugins)."""
    if not config.notify.targets:
        return None
    from scraper.notify.notifier import Notifier

    return Notifier(config, clock)


async def run_daemon(
    config: Config, clock: Clock, *, once: bool, secrets: SecretStore | None = None
) -> RunSummary:
    """Open the archive, run the sources, and always commit and close the archive."""
    # The workers first: forked before the archive is open, they hold none of its descriptors.
    workers = Workers(config.extract.workers, config.extract.budget)
    selectors = LiveSelectors(config)
    try:
        archive = open_archive(config, clock, selectors)
    except BaseException:
        workers.close()
        raise
    daemon = Daemon(config, clock, archive, secrets, workers, selectors)
    try:
        if once:
            return await daemon.run_once()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)
        try:
            await daemon.run_forever(stop)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(signum)
        LOG.info("stopped")
        return RunSummary(len(config.sources), daemon.articles_done, daemon.failed_sources)
    finally:
        await daemon.aclose()
        archive.close()
