"""When to send: events batched per target and source, failed messages retried with backoff.

Pure decisions over the clock's monotonic seconds, handed in by the caller:

- An event opens a batch for each target that wants it (its ``on`` and ``sources``),
  keyed by target and source, due one dispatch interval after that first event; every
  event of the same source until then joins it. So a burst of edits is one message, a
  message leaves at most one interval after the first event in it, and one target gets
  at most one message per source per interval.
- A batch that fails to send is tried again after ``backoff``, then twice that, and so
  on, ``retries`` times; events raised meanwhile join it. After the last try it is
  given up (the caller logs it): a notifier that stays down costs its messages, never
  the daemon.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from scraper.config import NotifyTarget
from scraper.notify.events import Event


@dataclass(frozen=True)
class Batch:
    """The events of one source for one target, and when to (try to) send them."""

    target: int  # index of the target in the settings' tuple
    source: str
    events: tuple[Event, ...]
    due_at: float  # monotonic seconds
    tries: int = 0  # failed tries so far

    @property
    def key(self) -> tuple[int, str]:
        return self.target, self.source


@dataclass(frozen=True)
class Retry:
    """What came of a failed try: tried again at ``batch.due_at``, or given up."""

    batch: Batch
    given_up: bool
    wait_s: float  # until the next try (0 when given up)


class Batcher:
    """The batches waiting to be sent (one object per notifier; no shared state)."""

    def __init__(
        self,
        targets: tuple[NotifyTarget, ...],
        interval_s: float,
        retries: int,
        backoff_s: float,
        max_backoff_s: float = 3600.0,
    ) -> None:
        self._targets = targets
        self._interval = interval_s
        self._retries = retries
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        self._waiting: dict[tuple[int, str], Batch] = {}

    def add(self, events: Iterable[Event]) -> None:
        """Queue events for every target that wants them; a batch is due an interval after
        its first event."""
        for event in events:
            for index, target in enumerate(self._targets):
                if not target.wants(event.kind, event.source):
                    continue
                key = (index, event.source)
                waiting = self._waiting.get(key)
                if waiting is None:
                    due = event.raised_at + self._interval
                    self._waiting[key] = Batch(index, event.source, (event,), due)
                else:
                    self._waiting[key] = replace(waiting, events=(*waiting.events, event))

    def take_due(self, now: float) -> list[Batch]:
        """The batches due at ``now``, oldest first, no longer waiting: hand each back to
        :meth:`failed` if it could not be sent."""
        due = sorted((b for b in self._waiting.values() if b.due_at <= now), key=_order)
        for batch in due:
            del self._waiting[batch.key]
        return due

    def take_all(self) -> list[Batch]:
        """Every waiting batch, due or not (a daemon that stops sends what it has)."""
        batches = sorted(self._waiting.values(), key=_order)
        self._waiting.clear()
        return batches

    def failed(self, batch: Batch, now: float) -> Retry:
        """A try of ``batch`` failed at ``now``: wait and try again, or give up."""
        tries = batch.tries + 1
        if tries > self._retries:
            return Retry(replace(batch, tries=tries), given_up=True, wait_s=0.0)
        wait = min(self._backoff * 2 ** (tries - 1), self._max_backoff)
        retry = replace(batch, tries=tries, due_at=now + wait)
        newer = self._waiting.get(batch.key)
        if newer is not None:  # events raised while it was being sent go with it
            retry = replace(
                retry, events=(*batch.events, *newer.events), due_at=min(retry.due_at, newer.due_at)
            )
        self._waiting[batch.key] = retry
        return Retry(retry, given_up=False, wait_s=retry.due_at - now)

    def next_due(self) -> float | None:
        """When the next batch is due (monotonic seconds), or None when nothing waits."""
        return min((b.due_at for b in self._waiting.values()), default=None)

    def __len__(self) -> int:
        return len(self._waiting)


def _order(batch: Batch) -> tuple[float, int, str]:
    return batch.due_at, batch.target, batch.source
