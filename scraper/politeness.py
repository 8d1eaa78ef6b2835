"""Per-host slots: one request in flight per host and a minimum gap between requests.

A slot is keyed by host name, so every source pointing at one host shares it.
The gap runs from the end of one request to the start of the next, plus jitter,
and is raised by robots.txt ``Crawl-delay`` (capped). A ``Retry-After`` answer
puts a hold on the whole host until the given time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from contract.clock import Clock, iso

MAX_CRAWL_DELAY_S = 30.0
JITTER_FRACTION = 0.2  # the gap is stretched by up to 20 %, never shortened


class HostHeld(Exception):
    """The host asked us to wait (Retry-After) longer than this fetch may wait."""

    def __init__(self, host: str, until: datetime) -> None:
        super().__init__(f"{host} asked to be left alone until {iso(until)} (Retry-After)")
        self.host = host
        self.until = until


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    free_at: float = float("-inf")  # monotonic time from which the next request may start
    crawl_delay: float = 0.0
    hold_until: datetime | None = None


class HostSlots:
    """Politeness for every host, shared by every fetch of one fetcher."""

    def __init__(
        self,
        clock: Clock,
        gap: float,
        *,
        holds: Mapping[str, datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.gap = gap
        self.rng = rng or random.Random()
        self._slots: dict[str, _Slot] = {}
        for host, until in (holds or {}).items():
            self.hold(host, until)

    def _slot(self, host: str) -> _Slot:
        key = host.lower()
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        return slot

    def gap_for(self, host: str) -> float:
        return max(self.gap, self._slot(host).crawl_delay)

    def set_crawl_delay(self, host: str, seconds: float) -> None:
        self._slot(host).crawl_delay = min(max(seconds, 0.0), MAX_CRAWL_DELAY_S)

    def hold(self, host: str, until: datetime) -> None:
        """Keep every request away from ``host`` until ``until`` (a later hold wins)."""
        slot = self._slot(host)
        if slot.hold_until is None or until > slot.hold_until:
            slot.hold_until = until

    def held_until(self, host: str) -> datetime | None:
        until = self._slot(host).hold_until
        return until if until is not None and until > self.clock.now() else None

    @asynccontextmanager
    async def slot(self, host: str, *, max_wait: float | None = None) -> AsyncIterator[None]:
        """Wait for the host's turn, run the body alone on that host, then start the gap.

        ``max_wait`` bounds only the wait for a Retry-After hold: a hold longer than
        that raises :class:`HostHeld` at once instead of sleeping through it.
        """
        slot = self._slot(host)
        async with slot.lock:
            await self._wait_turn(host, slot, max_wait)
            try:
                yield
            finally:
                gap = self.gap_for(host)
                jitter = gap * JITTER_FRACTION * self.rng.random()
                slot.free_at = self.clock.monotonic() + gap + jitter

    async def _wait_turn(self, host: str, slot: _Slot, max_wait: float | None) -> None:
        while True:
            until = slot.hold_until
            hold = (until - self.clock.now()).total_seconds() if until is not None else 0.0
            if until is not None and max_wait is not None and hold > max_wait:
                raise HostHeld(host, until)
            wait = max(hold, slot.free_at - self.clock.monotonic())
            if wait <= 0:
                return
            await asyncio.sleep(wait)
