"""``scraper status``: is the daemon working, and which sources broke or went quiet.

Reads the archive (read-only) and its lock file, never the network. Sources are
judged by :mod:`archive.health` (the same definition the ``/-/sources`` page uses),
with the ``[health]`` rules of the config; the rest comes from :mod:`archive.monitor`.
The same values feed the daemon's metrics (:mod:`scraper.metrics`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archive import db, health, monitor
from contract.clock import Clock, iso
from scraper.config import Config, HealthSettings


@dataclass(frozen=True)
class DaemonInfo:
    running: bool
    pid: int | None
    started_at: str | None
    uptime_s: float | None


@dataclass(frozen=True)
class SourceStatus:
    health: health.SourceHealth
    quality: monitor.Quality


@dataclass(frozen=True)
class Status:
    checked_at: str
    archive: str
    daemon: DaemonInfo
    sources: tuple[SourceStatus, ...]
    revisits: monitor.RevisitQueue
    lag: monitor.Lag
    size: monitor.Size
    last_write_at: str | None

    @property
    def troubled(self) -> tuple[str, ...]:
        """Sources failing or gone quiet: ``scraper status`` exits 1 for them."""
        bad = (health.State.FAILING, health.State.QUIET)
        return tuple(s.health.name for s in self.sources if s.health.state in bad)


def rules(settings: HealthSettings) -> health.HealthRules:
    return health.HealthRules(
        quiet_factor=settings.quiet_factor,
        min_quiet_s=settings.min_quiet,
        same_run_s=settings.same_run,
    )


def daemon_info(config: Config, clock: Clock) -> DaemonInfo:
    holder = db.lock_holder(config.archive.path)
    if holder is None:
        return DaemonInfo(False, None, None, None)
    since = datetime.fromtimestamp(holder.since, UTC)
    uptime = max((clock.now() - since).total_seconds(), 0.0)
    return DaemonInfo(True, holder.pid, iso(since), uptime)


def _never_ran(name: str, url: str, kind: str) -> health.SourceHealth:
    """A configured source the archive has not heard of (added since the daemon started)."""
    return health.SourceHealth(
        name=name, url=url, kind=kind, schedule=None, state=health.State.NEVER_RAN,
        last_run_at=None, last_outcome=None, last_success_at=None, consecutive_failures=0,
        last_error=None, last_error_at=None, last_new_at=None, usual_gap_s=None,
        quiet_after_s=None, articles_24h=0, articles_7d=0,
    )  # fmt: skip


def gather(config: Config, clock: Clock) -> Status:
    """The whole status; raises :class:`archive.db.ArchiveError` when there is no archive."""
    now = clock.now()
    path = config.archive.path
    conn = db.open_reader(path)
    try:
        known = {h.name: h for h in health.source_health(conn, now, rules(config.health))}
        sources = tuple(
            SourceStatus(
                known.get(s.name) or _never_ran(s.name, s.url, s.kind),
                monitor.quality(conn, s.name),
            )
            for s in config.sources  # the configured ones: a removed source is not watched
        )
        # Overdue: due for a whole shortest revisit interval, so the dispatcher missed it.
        revisits = monitor.revisit_queue(conn, now, config.revisit.min_interval)
        lag = monitor.scheduler_lag(conn, now)
        last_write = monitor.last_write_at(conn)
    finally:
        conn.close()
    return Status(
        checked_at=iso(now),
        archive=str(path),
        daemon=daemon_info(config, clock),
        sources=sources,
        revisits=revisits,
        lag=lag,
        size=monitor.archive_size(path),
        last_write_at=last_write,
    )


def to_json(status: Status) -> dict[str, Any]:
    data = dataclasses.asdict(status)
    data["sources"] = [
        {**dataclasses.asdict(s.health), "quality": dataclasses.asdict(s.quality)}
        for s in status.sources
    ]
    data["size"]["total_bytes"] = status.size.total_bytes
    data["troubled"] = list(status.troubled)
    return data


def exit_code(status: Status) -> int:
    return 1 if status.troubled else 0
