"""``scraper status`` for a person: coloured tables on a terminal (the one module using rich)."""

from __future__ import annotations

from datetime import datetime
from typing import IO

from rich.console import Console
from rich.table import Table

from archive.health import State
from contract.units import human_bytes
from scraper.status import SourceStatus, Status

_STYLE = {State.HEALTHY: "green", State.FAILING: "bold red", State.QUIET: "yellow",
          State.NEVER_RAN: "dim"}  # fmt: skip


def render(status: Status, out: IO[str]) -> None:
    console = Console(file=out, highlight=False)
    now = _time(status.checked_at)
    d = status.daemon
    if d.running and d.uptime_s is not None:
        console.print(
            f"[green]daemon running[/green]: pid {d.pid}, up {_span(d.uptime_s)}"
            f" (since {d.started_at})"
        )
    else:
        console.print("[bold red]no daemon holds the archive[/bold red]")
    console.print(
        f"archive {status.archive}: {human_bytes(status.size.total_bytes)}"
        f" ({human_bytes(status.size.wal_bytes)} in the WAL);"
        f" last write {_ago(status.last_write_at, now)}"
    )
    table = Table(title="Sources", title_justify="left")
    for column in ("source", "state", "last run", "last success", "fails", "new 24h/7d",
                   "last new", "no text/title/date"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for entry in status.sources:
        s = entry.health
        table.add_row(
            s.name,
            f"[{_STYLE.get(s.state, '')}]{s.state.label}[/]",
            _ago(s.last_run_at, now) + (f" ({s.last_outcome})" if s.last_outcome else ""),
            _ago(s.last_success_at, now),
            str(s.consecutive_failures),
            f"{s.articles_24h}/{s.articles_7d}",
            _last_new(entry, now),
            _quality(entry),
        )
    console.print(table)
    for entry in status.sources:  # the errors in full, below the table
        s = entry.health
        if s.state is State.FAILING and s.last_error:
            console.print(f"[bold red]{s.name}[/]: {s.last_error}", overflow="fold")
    q = status.revisits
    oldest = (
        f"; oldest {q.oldest_overdue_url} due {_ago(q.oldest_overdue_since, now)}"
        if q.oldest_overdue_url
        else ""
    )
    console.print(
        f"revisits: {q.due_now} due now, {q.overdue} overdue"
        f" (due over {_span(q.overdue_after_s)}){oldest}"
    )
    lag = status.lag
    if lag.fetches and lag.p50_s is not None and lag.p95_s is not None:
        console.print(
            f"scheduler lag over the last {_span(lag.window_s)}: p50 {lag.p50_s:.1f}s,"
            f" p95 {lag.p95_s:.1f}s, max {lag.max_s or 0:.1f}s ({lag.fetches} fetches)"
        )
    else:
        console.print(f"scheduler lag: no fetches in the last {_span(lag.window_s)}")


def _last_new(entry: SourceStatus, now: datetime) -> str:
    s = entry.health
    seen = _ago(s.last_new_at, now)
    if s.usual_gap_s is None or s.quiet_after_s is None:
        return f"{seen} (learning)"
    return f"{seen} (gap {_span(s.usual_gap_s)}, quiet >{_span(s.quiet_after_s)})"


def _quality(entry: SourceStatus) -> str:
    q = entry.quality
    if not q.articles:
        return "-"
    return f"{q.empty_text:.0%}/{q.no_title:.0%}/{q.no_date:.0%} ({q.articles})"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ago(text: str | None, now: datetime) -> str:
    if text is None:
        return "never"
    return f"{_span((now - _time(text)).total_seconds())} ago"


def _span(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"
