"""The daemon's alerts: events raised after commit, batched, composed and sent off the loop.

- The daemon hands every committed fetch to :meth:`Notifier.committed` (the pipeline's
  ``Stages.observe``, told once a fetch's batch committed): a fetch that wrote a
  changed, gone or back version raises that event; a run of a source (a fetch of its
  own URL) has the source judged again by :mod:`archive.health`, and a source that has
  just turned failing or quiet raises that event. A fetch that wrote no version (an
  unchanged page, a change only in counters and relative times that the content hash
  leaves out) raises nothing.
- :meth:`Notifier.run` waits for the next batch that is due (``scraper.notify.batch``),
  reads what each event changed from the committed archive and sends the messages in a
  thread of its own (Apprise blocks), one at a time; a failed message is retried with
  backoff, and every failure is one log line: the daemon goes on fetching.
- :meth:`Notifier.close` (the daemon stopping, or the end of ``--once``) sends what is
  still waiting, once each, within a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from archive import db, health
from archive.store import Recorded
from contract.clock import Clock
from contract.model import Article, Fetch
from scraper.config import Config, NotifySettings
from scraper.notify.apprise_sender import AppriseSender
from scraper.notify.batch import Batch, Batcher
from scraper.notify.compose import Message, compose, source_events
from scraper.notify.events import VERSION_KINDS, Event
from scraper.status import rules

LOG = logging.getLogger("scraper.notify")
CLOSE_WITHIN_S = 10.0  # a stopping daemon gives what is still waiting this long to go
_ERROR_PAUSE_S = 1.0  # after an unexpected error in the loop, before it goes on


class Sender(Protocol):
    def send(self, url: str, title: str, body: str) -> str | None:
        """Send one message; None when it went, else why not (one line)."""
        ...


@dataclass(frozen=True)
class Sent:
    batch: Batch
    message: Message
    error: str | None


class Notifier:
    """Alerts for one daemon (one object; nothing shared between instances)."""

    def __init__(self, config: Config, clock: Clock, sender: Sender | None = None) -> None:
        self._settings: NotifySettings = config.notify
        self._archive: Path = config.archive.path
        self._rules = rules(config.health)
        self._clock = clock
        self._sender = sender or AppriseSender()
        self._source_urls = {s.name: s.url for s in config.sources}
        s = self._settings
        self._batcher = Batcher(s.targets, s.dispatch_interval, s.retries, s.retry_backoff)
        self._ran: set[str] = set()  # sources that ran since they were last judged
        self._states: dict[str, health.State] = {}
        self._wake = asyncio.Event()
        # One thread: messages go one at a time (Apprise blocks; its log is caught per call).
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")

    # -- on the event loop -------------------------------------------------------------------

    def use_sources(self, config: Config) -> None:
        """The sources and [health] after a reload: an added source is watched (its first
        judgement is its baseline, as at the start), a removed one no more."""
        self._source_urls = {s.name: s.url for s in config.sources}
        self._rules = rules(config.health)
        self._ran.intersection_update(self._source_urls)
        self._states = {n: st for n, st in self._states.items() if n in self._source_urls}

    def committed(self, fetch: Fetch, article: Article | None, recorded: Recorded) -> None:
        """One committed fetch (called after its batch committed, never before)."""
        source = fetch.source
        if source is None or source not in self._source_urls:
            return  # an article of a source no longer configured: nobody asked about it
        kind = recorded.kind
        if kind in VERSION_KINDS:
            now = self._clock.monotonic()
            self._batcher.add([Event(kind, source, fetch.url, now, recorded.version)])
            self._wake.set()
        if fetch.url == self._source_urls[source]:
            self._ran.add(source)
            self._wake.set()

    async def start(self) -> None:
        """Judge every configured source once: later judgements are compared with these."""
        self._states, _ = await self._judge(self._source_urls)

    async def run(self) -> None:
        """Send batches as they come due, until cancelled (:meth:`close` stops it)."""
        while True:
            self._wake.clear()
            try:
                await self._step()
            except Exception:  # a bug here must cost alerts, never the daemon
                LOG.exception("alerts: unexpected error; going on")
                await asyncio.sleep(_ERROR_PAUSE_S)
                continue
            due = self._batcher.next_due()
            timeout = None if due is None else max(due - self._clock.monotonic(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def close(self) -> None:
        """Send what is still waiting, once each, within CLOSE_WITHIN_S; then stop."""
        try:
            await asyncio.wait_for(self._last_round(), CLOSE_WITHIN_S)
        except TimeoutError:
            LOG.warning("alerts: stopping with messages unsent after %.0fs", CLOSE_WITHIN_S)
        except Exception:  # the daemon still stops cleanly, its archive committed
            LOG.exception("alerts: unexpected error while stopping; messages unsent")
        finally:
            self._thread.shutdown(wait=False, cancel_futures=True)

    async def _last_round(self) -> None:
        await self._judge_ran()
        batches = self._batcher.take_all()
        if not batches:
            return
        for sent in await self._deliver(batches):
            if sent.error is not None:
                LOG.warning(
                    "alert to %s not sent (%s); the daemon is stopping: %s",
                    self._label(sent.batch), sent.error, sent.message.title,
                )  # fmt: skip
            else:
                self._log_sent(sent)

    async def _step(self) -> None:
        await self._judge_ran()
        due = self._batcher.take_due(self._clock.monotonic())
        if not due:
            return
        for sent in await self._deliver(due):
            if sent.error is None:
                self._log_sent(sent)
                continue
            retry = self._batcher.failed(sent.batch, self._clock.monotonic())
            if retry.given_up:
                LOG.error(
                    "alert to %s given up after %d tries (%s): %s",
                    self._label(sent.batch), retry.batch.tries, sent.error, sent.message.title,
                )  # fmt: skip
            else:
                LOG.warning(
                    "alert to %s failed (%s); try %d of %d in %.1fs",
                    self._label(sent.batch), sent.error, retry.batch.tries + 1,
                    self._settings.retries + 1, retry.wait_s,
                )  # fmt: skip

    async def _judge_ran(self) -> None:
        if not self._ran:
            return
        names = {name: self._source_urls[name] for name in sorted(self._ran)}
        self._ran.clear()
        judged, events = await self._judge(names)
        self._states.update(judged)
        self._batcher.add(events)

    async def _judge(self, sources: dict[str, str]) -> tuple[dict[str, health.State], list[Event]]:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self._thread, self._read_health, sources)
        return source_events(self._states, found, self._clock.monotonic())

    async def _deliver(self, batches: list[Batch]) -> list[Sent]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._send_all, batches)

    def _log_sent(self, sent: Sent) -> None:
        LOG.info("alert sent to %s: %s", self._label(sent.batch), sent.message.title)

    def _label(self, batch: Batch) -> str:
        return self._settings.targets[batch.target].label

    # -- in the notifier's thread ---------------------------------------------------------

    def _read_health(self, sources: dict[str, str]) -> list[health.SourceHealth]:
        try:
            conn = db.open_reader(self._archive)
        except db.ArchiveError as exc:
            LOG.warning("alerts: cannot judge the sources: %s", exc)
            return []
        try:
            now = self._clock.now()
            return [
                health.one_source(conn, name, url, now, self._rules)
                for name, url in sources.items()
            ]
        except sqlite3.Error as exc:
            LOG.warning("alerts: cannot judge the sources: %s", exc)
            return []
        finally:
            conn.close()

    def _send_all(self, batches: Iterable[Batch]) -> list[Sent]:
        conn: sqlite3.Connection | None
        try:
            conn = db.open_reader(self._archive)
        except db.ArchiveError as exc:
            LOG.warning("alerts: cannot read the archive, messages say less: %s", exc)
            conn = None
        try:
            return [self._send_one(conn, batch) for batch in batches]
        finally:
            if conn is not None:
                conn.close()

    def _send_one(self, conn: sqlite3.Connection | None, batch: Batch) -> Sent:
        message = compose(conn, batch.source, batch.events, self._settings.archive_url)
        target = self._settings.targets[batch.target]
        try:
            error = self._sender.send(target.url, message.title, message.body)
        except Exception as exc:  # a sender that raises is a failed message
            error = f"{type(exc).__name__}: {exc}"
        return Sent(batch, message, error)
