"""What a reload changes: the running configuration against the file read again.

``scraper run`` re-reads its ``config.toml`` on SIGHUP (``scraper reload`` sends it).
Sources are live: the ones added, removed or changed (by name) take effect at once, and
``[health]`` only judges, so it is live too. Every other setting is read once, at the
start (the archive file, the fetcher's limits and its connection pool, the worker
processes, the browser, the metrics port, the revisit bounds): a changed value is named
as needing a restart and the running value is kept.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from archive.db import lock_holder
from scraper.config import Config, Source

# Config fields a reload applies; Config.path is the file itself.
LIVE = frozenset({"sources", "health"})
_NOT_SETTINGS = frozenset({"path"})


@dataclass(frozen=True)
class SourceChange:
    """A source whose name stayed and whose settings did not."""

    old: Source
    new: Source

    @property
    def fields(self) -> tuple[str, ...]:
        """The config keys that differ (``every``/``cron``/``jitter`` as ``schedule``)."""
        return tuple(
            f.name
            for f in dataclasses.fields(Source)
            if getattr(self.old, f.name) != getattr(self.new, f.name)
        )

    @property
    def rescheduled(self) -> bool:
        return self.old.schedule != self.new.schedule

    @property
    def run_now(self) -> bool:
        """Another URL or kind is another thing to fetch: it runs at once, as a new source."""
        return self.old.url != self.new.url or self.old.kind != self.new.kind


@dataclass(frozen=True)
class Reload:
    """The configuration to run from now on, and how it differs from the running one."""

    config: Config
    added: tuple[Source, ...]
    removed: tuple[Source, ...]
    changed: tuple[SourceChange, ...]
    needs_restart: tuple[str, ...]  # dotted keys, e.g. "archive.path", "metrics.listen"


def plan_reload(running: Config, read: Config) -> Reload:
    """What of ``read`` (the file as it is now) applies to a daemon running ``running``."""
    before = {s.name: s for s in running.sources}
    after = {s.name: s for s in read.sources}
    live = {name: getattr(read, name) for name in LIVE}
    return Reload(
        config=dataclasses.replace(running, **live),
        added=tuple(s for name, s in after.items() if name not in before),
        removed=tuple(s for name, s in before.items() if name not in after),
        changed=tuple(
            SourceChange(before[name], s)
            for name, s in after.items()
            if name in before and before[name] != s
        ),
        needs_restart=tuple(_restart_only_changes(running, read)),
    )


def _restart_only_changes(running: Config, read: Config) -> Iterable[str]:
    for section in dataclasses.fields(Config):
        if section.name in LIVE | _NOT_SETTINGS:
            continue
        old, new = getattr(running, section.name), getattr(read, section.name)
        if old == new:
            continue
        if dataclasses.is_dataclass(old) and type(old) is type(new):
            for key in dataclasses.fields(old):
                if getattr(old, key.name) != getattr(new, key.name):
                    yield f"{section.name}.{key.name}"
        else:
            yield section.name


def summary(reload: Reload) -> str:
    """One line: what the reload did to the sources."""
    parts = []
    if reload.added:
        parts.append(f"added {_names(s.name for s in reload.added)}")
    if reload.removed:
        parts.append(f"removed {_names(s.name for s in reload.removed)}")
    if reload.changed:
        changed = (f"{c.new.name} ({', '.join(c.fields)})" for c in reload.changed)
        parts.append(f"changed {', '.join(changed)}")
    done = "; ".join(parts) if parts else "no source changed"
    return f"reloaded {reload.config.path}: {done}; watching {len(reload.config.sources)} sources"


def restart_note(reload: Reload) -> str | None:
    """One line naming the settings that changed but only take effect at a restart."""
    if not reload.needs_restart:
        return None
    return (
        f"reload: {reload.config.path}: {', '.join(reload.needs_restart)} changed and "
        "needs a restart to take effect; the running value is kept until then"
    )


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


class NotSignalled(Exception):
    """No daemon could be told to reload; the message says why, in one line."""


def signal_reload(archive: Path) -> int:
    """Send SIGHUP to the daemon holding ``archive``'s lock; returns its pid."""
    holder = lock_holder(archive)
    if holder is None:
        raise NotSignalled(
            f"no daemon holds {archive}: nothing to reload (start one with scraper run)"
        )
    try:
        os.kill(holder.pid, signal.SIGHUP)
    except ProcessLookupError:
        raise NotSignalled(f"the daemon that held {archive} (pid {holder.pid}) is gone") from None
    except PermissionError:
        raise NotSignalled(
            f"the daemon holding {archive} (pid {holder.pid}) belongs to another user; "
            "reload as that user, or with systemctl reload newsarchive"
        ) from None
    return holder.pid
