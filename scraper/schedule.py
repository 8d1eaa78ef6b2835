"""When each source runs: the only module that knows APScheduler.

One job per configured source (interval or cron trigger, with jitter) plus one
dispatcher job that revisits articles the archive says are due. The per-article
schedule lives in SQLite, not here, so it survives restarts.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

# APScheduler 3 counts weekdays from Monday = 0, crontab from Sunday = 0; users write crontab.
_CRONTAB_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NUMBER = re.compile(r"\d+")
CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")


@dataclass(frozen=True)
class Schedule:
    """When a source runs, as the config states it (``scraper.config`` reads it)."""

    every: float | None = None  # seconds
    cron: str | None = None
    jitter: float = 0.0


class ScheduleError(ValueError):
    """A cron expression APScheduler cannot use; the message says why."""


def _crontab_weekdays(field: str) -> str:
    """Translate numeric crontab weekdays (0/7 = Sunday) to names APScheduler reads alike."""

    def name(match: re.Match[str]) -> str:
        number = int(match.group(0))
        if number > len(_CRONTAB_WEEKDAYS) - 1:
            raise ScheduleError(f"weekday {number} is out of range 0-7")
        return _CRONTAB_WEEKDAYS[number]

    # Step values ("*/2") are counts, not weekdays.
    head, _, step = field.partition("/")
    translated = _WEEKDAY_NUMBER.sub(name, head)
    return f"{translated}/{step}" if step else translated


def cron_trigger(expression: str, jitter: float = 0.0) -> CronTrigger:
    """A trigger for a five-field crontab line, evaluated in UTC."""
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        raise ScheduleError(f"expected {len(CRON_FIELDS)} fields: {' '.join(CRON_FIELDS)}")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_crontab_weekdays(weekday),
            timezone=UTC,
            jitter=int(jitter) or None,
        )
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None


def validate_cron(expression: str) -> None:
    """Raise :class:`ScheduleError` when ``expression`` is not a usable crontab line."""
    cron_trigger(expression)


def trigger_for(schedule: Schedule) -> CronTrigger | IntervalTrigger:
    if schedule.cron is not None:
        return cron_trigger(schedule.cron, schedule.jitter)
    assert schedule.every is not None  # config guarantees one of the two
    return IntervalTrigger(
        seconds=schedule.every, jitter=int(schedule.jitter) or None, timezone=UTC
    )


class Scheduler:
    """Runs coroutines on their triggers inside the running asyncio loop."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        # When each submitted run was due (the oldest of coalesced runs), handed to the job.
        self._due: dict[str, datetime] = {}
        self._scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)

    def _submitted(self, event: JobSubmissionEvent) -> None:
        # Dispatched right after the job's task is created and before it first runs.
        if event.scheduled_run_times:
            self._due[event.job_id] = min(event.scheduled_run_times)

    def add(
        self,
        job_id: str,
        job: Callable[[datetime], Awaitable[Any]],
        trigger: CronTrigger | IntervalTrigger,
        *,
        run_now: bool,
    ) -> None:
        """Run ``job(due)`` on ``trigger``; ``due`` is when the run was scheduled."""
        extra: dict[str, Any] = {"next_run_time": self._now()} if run_now else {}

        async def run() -> Any:
            due = self._due.pop(job_id, None) or self._now()
            return await job(due)

        self._scheduler.add_job(
            run,
            trigger,
            id=job_id,
            name=job_id,
            coalesce=True,  # a daemon that slept catches up with one run, not a burst
            max_instances=1,  # a slow source never overlaps itself
            misfire_grace_time=None,
            **extra,
        )

    def remove(self, job_id: str) -> None:
        """Run the job no more; a run in progress goes on to its end (never cancelled)."""
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)
        self._due.pop(job_id, None)

    def reschedule(
        self, job_id: str, trigger: CronTrigger | IntervalTrigger, *, run_now: bool
    ) -> None:
        """Run the job on ``trigger`` from now on: next at its next fire time, or now."""
        now = self._now()
        next_run = now if run_now else trigger.get_next_fire_time(None, now)
        self._scheduler.modify_job(job_id, trigger=trigger, next_run_time=next_run)

    def start(self) -> None:
        self._scheduler.start()

    def pause(self) -> None:
        """Start no more jobs; the running ones go on."""
        if self._scheduler.running:
            self._scheduler.pause()

    def stop(self) -> None:
        """Shut down; APScheduler cancels jobs still running, so drain them first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        """Starting jobs on their triggers (not paused, not stopped)."""
        return bool(self._scheduler.state == STATE_RUNNING)

    def next_run(self, job_id: str) -> datetime | None:
        job = self._scheduler.get_job(job_id)
        return None if job is None else job.next_run_time
