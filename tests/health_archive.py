"""An archive with a month of history and one source in each health state, for the tests of
``archive.health`` and of the ``/-/sources`` page.

Written through the real store API (``Archive.record``), as the daemon writes, with a clock
the builder moves: four sources over the 30 days before ``now``.

- ``harbour-daily`` (healthy): its feed is read every 8 hours and lists a new article each time.
- ``city-wire`` (failing): the same for 26 days, then its feed answers 503 for 4 days.
- ``weekly-review`` (quiet): a new article every 8 hours for 20 days, then its feed keeps
  answering (unchanged) with nothing new for 10 days.
- ``new-desk`` (never ran): configured, never fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from archive_helpers import FakeClock

from archive.store import Archive, SourceInfo
from contract.clock import iso
from contract.model import Article, Fetch, Outcome

RUN_EVERY = timedelta(hours=8)
DAYS = 30
FAILING_DAYS = 4
QUIET_DAYS = 10
WIRE_ERROR = "HTTP 503 Service Unavailable from http://wire.example/feed.xml"


@dataclass(frozen=True)
class Source:
    name: str
    site: str

    @property
    def feed(self) -> str:
        return f"https://{self.site}/feed.xml"


HEALTHY = Source("harbour-daily", "harbour.example")
FAILING = Source("city-wire", "wire.example")
QUIET = Source("weekly-review", "review.example")
NEVER = Source("new-desk", "desk.example")
SOURCES = (HEALTHY, FAILING, QUIET, NEVER)


@dataclass(frozen=True)
class HealthArchive:
    path: Path
    now: datetime
    new_articles: dict[str, list[datetime]]  # per source, when each new article was fetched
    failed_runs: dict[str, list[datetime]]


def _feed(source: Source, at: datetime, body: bytes | None, outcome: Outcome | None) -> Fetch:
    return Fetch(
        url=source.feed,
        started_at=iso(at),
        outcome_hint=outcome,
        final_url=source.feed,
        status=503 if outcome is Outcome.FAILED else 200,
        error=WIRE_ERROR if outcome is Outcome.FAILED else None,
        content_type="application/rss+xml",
        body=body,
        source=source.name,
    )


def _article(source: Source, number: int, at: datetime) -> tuple[Fetch, Article]:
    url = f"https://{source.site}/news/story-{number}"
    text = (f"Story {number} of {source.name}: the council met again about the harbour wall.",)
    body = f"<html><body><h1>Story {number}</h1><p>{text[0]}</p></body></html>".encode()
    fetch = Fetch(
        url=url,
        started_at=iso(at),
        final_url=url,
        status=200,
        content_type="text/html; charset=utf-8",
        body=body,
        source=source.name,
    )
    return fetch, Article(paragraphs=text, title=f"Story {number}", extractor_version="test-1")


def build(path: Path, now: datetime) -> HealthArchive:
    clock = FakeClock(current=now - timedelta(days=DAYS))
    new: dict[str, list[datetime]] = {s.name: [] for s in SOURCES}
    failed: dict[str, list[datetime]] = {s.name: [] for s in SOURCES}
    with Archive.open(path, clock) as archive:
        archive.sync_sources(SourceInfo(s.name, s.feed, "feed", "every 8h") for s in SOURCES)
        runs = 0
        # The last run is an hour ago: each source's latest state is settled.
        while clock.current + RUN_EVERY <= now - timedelta(minutes=59):
            clock.current += RUN_EVERY
            runs += 1
            age = now - clock.current
            for offset, source in enumerate((HEALTHY, FAILING, QUIET)):
                at = clock.current + timedelta(minutes=offset)
                clock.current = at
                if source is FAILING and age < timedelta(days=FAILING_DAYS):
                    archive.record(_feed(source, at, None, Outcome.FAILED), None)
                    archive.record_source_result(source.name, Outcome.FAILED, WIRE_ERROR)
                    failed[source.name].append(at)
                    continue
                lists_new = not (source is QUIET and age < timedelta(days=QUIET_DAYS))
                listing = f"<rss>{runs if lists_new else 'same'}</rss>".encode()
                archive.record(_feed(source, at, listing, None), None)
                archive.record_source_result(source.name, Outcome.CHANGED, None)
                if lists_new:
                    at += timedelta(seconds=5)
                    clock.current = at
                    archive.record(*_article(source, runs, at))
                    new[source.name].append(at)
            clock.current -= timedelta(minutes=2)
        archive.commit()
    return HealthArchive(path, now, new, failed)
