"""Politeness measured by the server: one request at a time per host, never below the gap."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime

from faultserver import Conn, FaultServer, Request, fetch_settings, response

from contract.clock import SystemClock
from contract.model import Fetch
from scraper.config import Source
from scraper.fetch import Fetcher
from scraper.politeness import JITTER_FRACTION, HostSlots
from scraper.schedule import Schedule

PAGE = b"<html><body><p>article</p></body></html>"
GAP = 0.1


def slow_page(conn: Conn, _req: Request) -> bool:
    time.sleep(0.02)  # a little server time, so overlapping requests would show
    conn.send(response(200, PAGE, {"Content-Type": "text/html"}))
    return True


def gaps(server: FaultServer) -> list[float]:
    records = sorted(server.records, key=lambda r: r.request.received_at)
    return [b.request.received_at - a.finished_at for a, b in itertools.pairwise(records)]


def test_many_articles_from_several_sources_on_one_host() -> None:
    busy = FaultServer(host="127.0.0.2")
    other = FaultServer(host="127.0.0.3")
    try:
        for server in (busy, other):
            server.route("/robots.txt", lambda c, r: c.send(response(404, b"")) or True)
            for i in range(30):
                server.route(f"/a{i}", slow_page)
        # Three configured sources point at the busy host; articles of all three are due at once.
        sources = [
            Source(f"s{n}", busy.url(f"/section{n}"), "feed", Schedule(every=60)) for n in range(3)
        ]
        settings = fetch_settings(host_gap=GAP, robots=True, concurrency=16, deadline=2.0)

        async def go() -> list[Fetch]:
            fetcher = Fetcher(settings, SystemClock(), trusted_hosts={"127.0.0.2", "127.0.0.3"})
            try:
                jobs = [fetcher.fetch(busy.url(f"/a{i}"), source=sources[i % 3]) for i in range(24)]
                jobs += [fetcher.fetch(other.url(f"/a{i}")) for i in range(6)]
                return list(await asyncio.gather(*jobs))
            finally:
                await fetcher.aclose()

        results = asyncio.run(go())
        busy.wait_idle()
        other.wait_idle()
        assert all(r.outcome_hint is None for r in results), [r.error for r in results]
        assert busy.max_in_flight == 1 and other.max_in_flight == 1
        assert len(busy.records) == 25  # robots.txt once, then every article
        busy_gaps = gaps(busy)
        assert min(busy_gaps) >= GAP, min(busy_gaps)
        assert max(busy_gaps) <= GAP * (1 + JITTER_FRACTION) + 0.1  # polite, not idle
        # The other host is not held up by the busy one: its requests interleave.
        first_busy, last_busy = busy.records[0].request.received_at, busy.records[-1].finished_at
        assert first_busy < other.records[-1].request.received_at < last_busy
        assert min(gaps(other)) >= GAP
    finally:
        busy.stop()
        other.stop()


def test_gap_has_jitter_but_is_never_shorter() -> None:
    class Still:
        def __init__(self) -> None:
            self.t = 100.0

        def now(self) -> datetime:
            return datetime(2026, 1, 1, tzinfo=UTC)

        def monotonic(self) -> float:
            return self.t

    clock = Still()
    slots = HostSlots(clock, gap=2.0)

    async def go() -> list[float]:
        seen = []
        for _ in range(50):
            async with slots.slot("example.org"):
                pass
            free_at = slots._slot("example.org").free_at
            seen.append(free_at - clock.t)
            clock.t = free_at  # time passes until the host is free again
        return seen

    waits = asyncio.run(go())
    assert all(2.0 <= w <= 2.0 * (1 + JITTER_FRACTION) for w in waits)
    assert len({round(w, 6) for w in waits}) > 10  # jittered, not constant
