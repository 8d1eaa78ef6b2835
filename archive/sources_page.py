"""What the ``/-/sources`` page shows: each source's health (archive.health) and its charts.

Read in one call on one connection (Datasette's ``execute_fn``); the plugin only renders.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from archive.health import Daily, SourceHealth, State, daily, parse_time, source_health
from archive.sparkline import Chart, bars_svg

DAYS = 30
ARTICLES_COLOUR = "#2f6fb3"
FAILURES_COLOUR = "#c0392b"
# Worst first: the page is read to find what needs attention.
STATE_ORDER = (State.FAILING, State.QUIET, State.NEVER_RAN, State.HEALTHY)


@dataclass(frozen=True)
class SourceRow:
    health: SourceHealth
    link: str | None  # the source's URL when it is http(s), to link to
    articles_svg: str  # markup built and escaped by archive.sparkline
    failures_svg: str
    articles_30d: int
    failures_30d: int
    note: str  # the state in words: why it is what it is


@dataclass(frozen=True)
class SourcesReport:
    rows: tuple[SourceRow, ...]
    counts: tuple[tuple[State, int], ...]  # per state, in STATE_ORDER
    first_day: str
    last_day: str


def read(conn: sqlite3.Connection, now: datetime) -> SourcesReport:
    return build(source_health(conn, now), daily(conn, now, DAYS), now)


def build(health: list[SourceHealth], charts: dict[str, Daily], now: datetime) -> SourcesReport:
    empty = daily_empty(now)
    rows = []
    for source in sorted(health, key=lambda h: (STATE_ORDER.index(h.state), h.name)):
        counts = charts.get(source.name, empty)
        rows.append(
            SourceRow(
                health=source,
                link=source.url if urlsplit(source.url).scheme in ("http", "https") else None,
                articles_svg=bars_svg(
                    Chart("new articles", ARTICLES_COLOUR, counts.days, counts.articles)
                ),
                failures_svg=bars_svg(
                    Chart("failed fetches", FAILURES_COLOUR, counts.days, counts.failures)
                ),
                articles_30d=sum(counts.articles),
                failures_30d=sum(counts.failures),
                note=explain(source, now),
            )
        )
    tally = tuple((state, sum(1 for h in health if h.state is state)) for state in STATE_ORDER)
    return SourcesReport(tuple(rows), tally, empty.days[0], empty.days[-1])


def daily_empty(now: datetime) -> Daily:
    """The window's days with nothing counted, for a source with no fetch in it."""
    today = now.astimezone(UTC).date()
    days = tuple((today - timedelta(days=DAYS - 1 - i)).isoformat() for i in range(DAYS))
    return Daily(days, (0,) * DAYS, (0,) * DAYS)


def span(seconds: float) -> str:
    """A duration as a reader says it: 45 s, 12 min, 8 h, 3 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            value = seconds / size
            return (
                f"{value:.0f} {unit}"
                if value >= 10
                else f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
            )
    return f"{seconds:.0f} s"


def explain(health: SourceHealth, now: datetime) -> str:
    usual = (
        ""
        if health.usual_gap_s is None
        else f"usually a new article every {span(health.usual_gap_s)}"
    )
    if health.state is State.NEVER_RAN:
        return "not fetched yet"
    if health.state is State.FAILING:
        runs = health.consecutive_failures
        return f"the last {runs} runs failed" if runs > 1 else "the last run failed"
    if health.state is State.QUIET and health.last_new_at is not None:
        silence = (now - parse_time(health.last_new_at)).total_seconds()
        return f"no new article for {span(silence)}; {usual}"
    if health.last_new_at is None:
        return "runs, no article found yet"
    return usual or "runs; too little history to learn its rhythm yet"
