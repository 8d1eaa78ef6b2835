"""The message of a batch, read from the committed archive; and when a source's state is news.

An edit's entry says what the archive recorded: the article's title and URL, the
version's summary (``text: +5 -3 words``), its first changed words
(``[-old-]{+new+}``, :func:`archive.history.version_change`, the same diff the history
page shows) and, with ``[notify] archive_url``, a link to the article's history page.
A source's entry says why it is failing or quiet, as :mod:`archive.health` judged it.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from archive.db import ArchiveError
from archive.health import SourceHealth, State
from archive.history import version_change
from scraper.notify.events import (
    BACK,
    CHANGED,
    GONE,
    SOURCE_FAILING,
    SOURCE_QUIET,
    VERSION_KINDS,
    Event,
)

MAX_ENTRIES = 20  # a larger burst lists its first ones and links the rest
_HEADINGS = {
    CHANGED: "Changed",
    GONE: "Gone",
    BACK: "Back",
    SOURCE_FAILING: "Source failing",
    SOURCE_QUIET: "Source quiet",
}
_TROUBLE = {State.FAILING: SOURCE_FAILING, State.QUIET: SOURCE_QUIET}


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def compose(
    conn: sqlite3.Connection | None, source: str, events: tuple[Event, ...], archive_url: str | None
) -> Message:
    """One message for a batch of one source's events (``conn``: a reader of the archive,
    None when it cannot be opened; the entries then say only what the events know)."""
    entries = [_entry(conn, event, archive_url) for event in events[:MAX_ENTRIES]]
    if len(events) > MAX_ENTRIES:
        more = f"... and {len(events) - MAX_ENTRIES} more"
        if archive_url is not None:
            more += f": {archive_url}/-/changes.atom?{urlencode({'source': source})}"
        entries.append(more)
    if len(entries) == 1:
        title = entries[0].split("\n", 1)[0]
    else:
        counts = Counter(e.kind for e in events)
        kinds = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in _HEADINGS if counts[k])
        title = f"{source}: {len(events)} alerts ({kinds})"
    return Message(title=title, body="\n\n".join(entries))


def _entry(conn: sqlite3.Connection | None, event: Event, archive_url: str | None) -> str:
    heading = _HEADINGS.get(event.kind, event.kind)
    if event.kind not in VERSION_KINDS:
        lines = [f"{heading}: {event.source}", event.url]
        if event.detail:
            lines.append(event.detail)
        if archive_url is not None:
            lines.append(f"Sources: {archive_url}/-/sources")
        return "\n".join(lines)
    if conn is None or event.version is None:
        return f"{heading}: {event.url}\n{event.url}"
    try:
        change = version_change(conn, event.url, event.version)
    except (ArchiveError, sqlite3.Error) as exc:
        return f"{heading}: {event.url}\n{event.url}\n(details unavailable: {exc})"
    lines = [f"{heading}: {change.title or change.url}", change.url]
    if change.summary:
        lines.append(change.summary)
    if change.passage:
        lines.append(change.passage)
    if archive_url is not None:
        query = urlencode({"to": change.version})
        lines.append(f"History: {archive_url}/-/article/{change.article_id}?{query}")
    return "\n".join(lines)


def source_events(
    before: Mapping[str, State], judged: Iterable[SourceHealth], now: float
) -> tuple[dict[str, State], list[Event]]:
    """The sources' states after ``judged``, and an event for each that has just turned
    failing or quiet (a source first judged sets its state without an event: the states
    at the daemon's start are ``scraper status``'s news, not an alert's)."""
    states = dict(before)
    events: list[Event] = []
    for health in judged:
        previous = states.get(health.name)
        states[health.name] = health.state
        kind = _TROUBLE.get(health.state)
        if previous is None or previous == health.state or kind is None:
            continue
        events.append(Event(kind, health.name, health.url, now, detail=_why(health)))
    return states, events


def _why(health: SourceHealth) -> str:
    if health.state is State.FAILING:
        runs = "run" if health.consecutive_failures == 1 else "runs in a row"
        return f"{health.consecutive_failures} {runs} failed; last error: {health.last_error}"
    usual = f"usually one every {_span(health.usual_gap_s)}" if health.usual_gap_s else ""
    return (
        f"no new article since {health.last_new_at} ({usual}; quiet after"
        f" {_span(health.quiet_after_s or 0.0)})"
    )


def _span(seconds: float | None) -> str:
    value = max(seconds or 0.0, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}s"
