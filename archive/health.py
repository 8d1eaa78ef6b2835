"""How each source is doing, read from the archive alone: healthy, failing, quiet or never ran.

One definition for every reader of it: the Datasette page ``/-/sources`` calls
:func:`source_health` (every source the archive knows), ``scraper status`` can call
:func:`one_source` for each configured source (``archive`` never imports ``scraper``;
the scraper imports this).

- **never ran**: no run of the source is recorded (no fetch of its own URL).
- **failing**: its latest run failed (a network or HTTP error, an unreadable feed, a
  robots.txt refusal, a 404): ``consecutive_failures`` runs in a row, with the last error
  (``HTTP 404 (gone)`` for a run that recorded no error text).
- **quiet**: its runs succeed, but from its last new article to its last successful run
  longer passed than ``quiet_factor`` times its usual gap between new articles, and never
  less than ``min_quiet_s``. Judged at the last successful run, not at the reader's clock:
  a daemon that was stopped makes no source quiet. The usual gap is learnt from its
  recent history, weighted by time: the shortest gap such that ``share`` (3/4) of the
  time between its new articles lies in gaps no longer than it. A nightly lull, which
  fills much of the clock, is usual; a single outage, which fills little of it, is not.
  New articles closer together than ``same_run_s`` are one run's batch, not a gap; with
  fewer than ``min_gaps`` gaps nothing is learnt yet and the source is never quiet.
- **healthy**: everything else.

Every function takes an open ``sqlite3.Connection`` (Datasette hands one to
``execute_fn``) and the time to judge at: the clock is the caller's.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from contract.clock import iso

# A run of a source succeeded when its own URL's fetch came to one of these.
RUN_OK = frozenset({"new", "changed", "unchanged", "not_modified"})
RUNS_READ = 1000  # consecutive failures are counted up to this many runs back
ERROR_LOOKBACK = 100  # a working source's last error is looked for this many runs back
# The fetches health reads (a few in a hundred), in a partial index of their own, so the
# page and ``scraper status`` read what they count and not the whole history. Every query
# of them repeats the index's condition word for word: that is how SQLite knows it may use it.
COUNTED = "outcome IN ('new', 'failed', 'rejected')"
INDEX = (
    "CREATE INDEX IF NOT EXISTS fetches_health ON fetches (source, outcome, started_at)"
    f" WHERE {COUNTED}"
)


class State(StrEnum):
    HEALTHY = "healthy"
    FAILING = "failing"
    QUIET = "quiet"
    NEVER_RAN = "never_ran"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class HealthRules:
    """When a source counts as quiet (see the module's docstring)."""

    quiet_factor: float = 3.0
    min_quiet_s: float = 3600.0
    same_run_s: float = 60.0
    min_gaps: int = 5
    learn_from: int = 200  # the most recent new articles the usual gap is learnt from
    share: float = 0.75


@dataclass(frozen=True)
class SourceHealth:
    name: str
    url: str
    kind: str
    schedule: str | None
    state: State
    last_run_at: str | None  # ISO-8601 UTC, like every time in the archive
    last_outcome: str | None
    last_success_at: str | None
    consecutive_failures: int
    last_error: str | None  # the latest failed run's error (of the last 100 runs, or before
    # the last success)
    last_error_at: str | None
    last_new_at: str | None  # the latest new article of the source
    usual_gap_s: float | None  # None: too little history to learn from
    quiet_after_s: float | None  # silence longer than this is quiet
    articles_24h: int
    articles_7d: int


@dataclass(frozen=True)
class Daily:
    """Per UTC day, oldest first: new articles and failed fetches of one source."""

    days: tuple[str, ...]  # YYYY-MM-DD
    articles: tuple[int, ...]
    failures: tuple[int, ...]


def install(conn: sqlite3.Connection) -> None:
    """Add the index (``archive.schema.ensure`` calls this in its write transaction)."""
    conn.execute(INDEX)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def usual_gap(times: Sequence[datetime], rules: HealthRules) -> float | None:
    """The source's usual gap between new articles in seconds, or None with too little history.

    ``times`` are the new articles' times in any order.
    """
    ordered = sorted(times)
    gaps = [
        gap
        for earlier, later in itertools.pairwise(ordered)
        if (gap := (later - earlier).total_seconds()) >= rules.same_run_s
    ]
    if len(gaps) < rules.min_gaps:
        return None
    gaps.sort()
    total = sum(gaps)
    covered = 0.0
    for gap in gaps:
        covered += gap
        if covered >= rules.share * total:
            return gap
    return gaps[-1]


def judge(
    *,
    ran: bool,
    consecutive_failures: int,
    last_new_at: datetime | None,
    gap_s: float | None,
    last_success_at: datetime | None,
    rules: HealthRules,
) -> tuple[State, float | None]:
    """A source's state, and the silence after which it is quiet (None: not learnt yet)."""
    quiet_after = None if gap_s is None else max(rules.quiet_factor * gap_s, rules.min_quiet_s)
    if not ran:
        return State.NEVER_RAN, quiet_after
    if consecutive_failures > 0:
        return State.FAILING, quiet_after
    silence = None
    if last_new_at is not None and last_success_at is not None:
        silence = (last_success_at - last_new_at).total_seconds()
    if quiet_after is not None and silence is not None and silence > quiet_after:
        return State.QUIET, quiet_after
    return State.HEALTHY, quiet_after


@dataclass(frozen=True)
class _Run:
    at: str
    outcome: str
    error: str | None
    status: int | None = None

    @property
    def cause(self) -> str:
        """The run's error, or what its status and outcome say when it recorded none."""
        if self.error:
            return self.error
        return f"HTTP {self.status} ({self.outcome})" if self.status else self.outcome


def _runs(conn: sqlite3.Connection, name: str, url: str, row: sqlite3.Row | None) -> list[_Run]:
    """The source's latest runs, newest first: the fetches of its own URL (or its recorded
    result). Read back to its last success, and past it only until a failed run or
    ``ERROR_LOOKBACK`` runs: a source that has always worked costs a few rows, not its
    history."""
    found: list[_Run] = []
    succeeded = failed = False
    rows = conn.execute(
        "SELECT started_at, outcome, error, status FROM fetches WHERE url = ? AND source = ?"
        " ORDER BY id DESC LIMIT ?",
        (url, name, RUNS_READ),
    )
    for at, outcome, error, status in rows:
        found.append(_Run(at, outcome, error, status))
        ok = outcome in RUN_OK
        succeeded, failed = succeeded or ok, failed or not ok
        if succeeded and (failed or len(found) >= ERROR_LOOKBACK):
            break
    if (
        not found and row is not None and row["last_fetched_at"] is not None
    ):  # a result recorded without a fetch
        found = [_Run(row["last_fetched_at"], row["last_outcome"] or "", row["last_error"])]
    return found


def source_health(
    conn: sqlite3.Connection, now: datetime, rules: HealthRules | None = None
) -> list[SourceHealth]:
    """Every source in the archive's ``sources`` table, by name, judged at ``now``."""
    rules = rules or HealthRules()
    cursor = conn.cursor()  # rows by name here, whatever the connection's own row_factory
    cursor.row_factory = sqlite3.Row
    sources = list(
        cursor.execute(
            "SELECT name, url, kind, schedule, last_fetched_at, last_outcome, last_error"
            " FROM sources ORDER BY name"
        )
    )
    return [
        _one(conn, row["name"], row["url"], row, now, rules, row["kind"], row["schedule"])
        for row in sources
    ]


def one_source(
    conn: sqlite3.Connection,
    name: str,
    url: str,
    now: datetime,
    rules: HealthRules | None = None,
) -> SourceHealth:
    """One configured source, judged at ``now`` (also before the daemon ever recorded it)."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    row = cursor.execute(
        "SELECT kind, schedule, last_fetched_at, last_outcome, last_error FROM sources"
        " WHERE name = ?",
        (name,),
    ).fetchone()
    kind, schedule = (row["kind"], row["schedule"]) if row is not None else ("", None)
    return _one(conn, name, url, row, now, rules or HealthRules(), kind, schedule)


def _one(
    conn: sqlite3.Connection,
    name: str,
    url: str,
    row: sqlite3.Row | None,
    now: datetime,
    rules: HealthRules,
    kind: str,
    schedule: str | None,
) -> SourceHealth:
    runs = _runs(conn, name, url, row)
    failures = 0
    for run in runs:
        if run.outcome in RUN_OK:
            break
        failures += 1
    success = next((r for r in runs if r.outcome in RUN_OK), None)
    failed = next((r for r in runs if r.outcome not in RUN_OK), None)
    new_times = [
        parse_time(at)
        for (at,) in conn.execute(
            f"SELECT started_at FROM fetches WHERE source = ? AND outcome = 'new' AND {COUNTED}"
            " ORDER BY outcome DESC, started_at DESC LIMIT ?",  # in the index's order
            (name, rules.learn_from),
        )
    ]
    gap = usual_gap(new_times, rules)
    last_new = new_times[0] if new_times else None
    state, quiet_after = judge(
        ran=bool(runs),
        consecutive_failures=failures,
        last_new_at=last_new,
        gap_s=gap,
        last_success_at=parse_time(success.at) if success else None,
        rules=rules,
    )
    return SourceHealth(
        name=name,
        url=url,
        kind=kind,
        schedule=schedule,
        state=state,
        last_run_at=runs[0].at if runs else None,
        last_outcome=runs[0].outcome if runs else None,
        last_success_at=success.at if success else None,
        consecutive_failures=failures,
        last_error=failed.cause if failed else None,
        last_error_at=failed.at if failed else None,
        last_new_at=iso(last_new) if last_new else None,
        usual_gap_s=gap,
        quiet_after_s=quiet_after,
        articles_24h=_new_since(conn, name, now - timedelta(days=1)),
        articles_7d=_new_since(conn, name, now - timedelta(days=7)),
    )


def _new_since(conn: sqlite3.Connection, name: str, since: datetime) -> int:
    (count,) = conn.execute(
        f"SELECT count(*) FROM fetches WHERE source = ? AND {COUNTED} AND outcome = 'new'"
        " AND started_at >= ?",
        (name, iso(since)),
    ).fetchone()
    return int(count)


def daily(conn: sqlite3.Connection, now: datetime, days: int = 30) -> dict[str, Daily]:
    """New articles and failed or rejected fetches (any URL of the source: its own, its
    articles') per UTC day over the last ``days`` days (today included), for every source
    in ``sources`` that has any; a source without either is absent."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    labels = tuple((first + timedelta(days=i)).isoformat() for i in range(days))
    index = {label: i for i, label in enumerate(labels)}
    articles: dict[str, list[int]] = {}
    failures: dict[str, list[int]] = {}
    since = f"{first.isoformat()}T00:00:00"
    for (source,) in list(conn.execute("SELECT name FROM sources")):
        rows = conn.execute(
            "SELECT substr(started_at, 1, 10) AS day, outcome, count(*) FROM fetches"
            f" WHERE source = ? AND {COUNTED} AND started_at >= ? GROUP BY day, outcome",
            (source, since),
        )
        for day, outcome, count in rows:
            at = index.get(day)
            if at is None:  # a time after now (a clock that went back): not in the window
                continue
            counts = articles if outcome == "new" else failures
            counts.setdefault(source, [0] * days)[at] += int(count)
    return {
        source: Daily(
            labels,
            tuple(articles.get(source, [0] * days)),
            tuple(failures.get(source, [0] * days)),
        )
        for source in sorted(articles.keys() | failures.keys())
    }
