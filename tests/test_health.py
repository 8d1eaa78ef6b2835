"""Source health (archive.health) on a real archive written through the store API: each state,
the usual gap a source's history teaches, and the per-day counts the charts draw."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import health_archive as known
import pytest
from archive_helpers import FakeClock

from archive.health import (
    Daily,
    HealthRules,
    SourceHealth,
    State,
    daily,
    one_source,
    source_health,
    usual_gap,
)
from archive.store import Archive, SourceInfo
from contract.clock import iso
from contract.model import Fetch, Outcome

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> known.HealthArchive:
    return known.build(tmp_path_factory.mktemp("health") / "archive.db", NOW)


@pytest.fixture
def conn(built: known.HealthArchive) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(built.path)
    try:
        yield connection
    finally:
        connection.close()


def by_name(conn: sqlite3.Connection, now: datetime = NOW) -> dict[str, SourceHealth]:
    return {h.name: h for h in source_health(conn, now)}


def test_each_source_is_in_its_state(conn: sqlite3.Connection) -> None:
    health = by_name(conn)
    assert {name: h.state for name, h in health.items()} == {
        "harbour-daily": State.HEALTHY,
        "city-wire": State.FAILING,
        "weekly-review": State.QUIET,
        "new-desk": State.NEVER_RAN,
    }
    assert State.NEVER_RAN.label == "never ran"


def test_a_failing_source_counts_its_failed_runs_and_keeps_the_last_error(
    conn: sqlite3.Connection, built: known.HealthArchive
) -> None:
    wire = by_name(conn)["city-wire"]
    failed_runs = built.failed_runs["city-wire"]
    assert wire.consecutive_failures == len(failed_runs) == 12  # 4 days, every 8 hours
    assert wire.last_error == known.WIRE_ERROR
    assert wire.last_outcome == "failed"
    assert wire.last_run_at == wire.last_error_at
    assert wire.last_success_at is not None
    assert wire.last_success_at < min(failed_runs).isoformat()


def test_quiet_is_learnt_from_the_sources_own_gap(conn: sqlite3.Connection) -> None:
    health = by_name(conn)
    review, harbour = health["weekly-review"], health["harbour-daily"]
    # A new article every 8 hours: quiet after three such gaps without one.
    assert review.usual_gap_s == pytest.approx(8 * 3600, abs=120)
    assert review.quiet_after_s == pytest.approx(24 * 3600, abs=360)
    assert review.articles_24h == review.articles_7d == 0
    assert review.consecutive_failures == 0 and review.last_error is None
    assert harbour.articles_24h == 3 and harbour.articles_7d == 21
    # Ten silent days are past three gaps of 8 hours, not past forty.
    patient = HealthRules(quiet_factor=40.0)
    judged = {h.name: h.state for h in source_health(conn, NOW, patient)}
    assert judged["weekly-review"] is State.HEALTHY
    # Quiet is judged at the last successful run: a month later with no run in between
    # (the daemon was stopped), nothing has gone quiet that was not.
    later = by_name(conn, NOW + timedelta(days=30))
    assert later["harbour-daily"].state is State.HEALTHY
    assert later["weekly-review"].state is State.QUIET


def test_a_source_that_never_ran_has_no_runs(conn: sqlite3.Connection) -> None:
    desk = by_name(conn)["new-desk"]
    assert desk.last_run_at is None and desk.last_success_at is None
    assert desk.usual_gap_s is None and desk.articles_7d == 0
    # A source configured since, not in the archive at all, reads the same way.
    unknown = one_source(conn, "added-today", "https://added.example/feed.xml", NOW)
    assert unknown.state is State.NEVER_RAN and unknown.kind == ""


def test_one_source_is_judged_as_in_the_list(conn: sqlite3.Connection) -> None:
    for listed in source_health(conn, NOW):
        assert one_source(conn, listed.name, listed.url, NOW) == listed


def test_charts_count_new_articles_and_failures_per_day(
    conn: sqlite3.Connection, built: known.HealthArchive
) -> None:
    charts = daily(conn, NOW, days=30)
    assert "new-desk" not in charts
    harbour, wire = charts["harbour-daily"], charts["city-wire"]
    assert isinstance(harbour, Daily) and len(harbour.days) == 30
    assert harbour.days[-1] == "2026-12-03" and harbour.days[0] == "2026-11-04"
    expected = {day: 0 for day in harbour.days}
    for at in built.new_articles["harbour-daily"]:
        if at.date().isoformat() in expected:
            expected[at.date().isoformat()] += 1
    assert harbour.articles == tuple(expected.values())
    assert sum(harbour.failures) == 0
    assert sum(wire.failures) == 12 and wire.failures[-1] > 0 and sum(wire.articles[-3:]) == 0
    assert sum(charts["weekly-review"].articles[-9:]) == 0


def hours(*values: float) -> list[datetime]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [start + timedelta(hours=v) for v in values]


def test_a_nightly_lull_is_usual_and_one_outage_is_not() -> None:
    rules = HealthRules()
    # Every hour from 08:00 to 22:00, nothing at night, for a week.
    daytime = hours(*(day * 24 + h for day in range(7) for h in range(8, 23)))
    assert usual_gap(daytime, rules) == 10 * 3600
    # Every 8 hours for 30 days, with one two-day outage in the middle.
    steady = [h for h in range(0, 30 * 24, 8) if not 300 < h < 348]
    assert usual_gap(hours(*steady), rules) == 8 * 3600
    # Too little history: nothing learnt, never quiet.
    assert usual_gap(hours(0, 8, 16), rules) is None
    # One run's batch of articles a few seconds apart is not a gap.
    batch = [*hours(0, 8, 16, 24, 32, 40), *(hours(40)[0] + timedelta(seconds=s) for s in (5, 9))]
    assert usual_gap(batch, rules) == 8 * 3600


def test_an_archive_with_no_sources_reads_as_none(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "empty.db", FakeClock()):
        pass
    with sqlite3.connect(tmp_path / "empty.db") as connection:
        assert source_health(connection, NOW) == []
        assert daily(connection, NOW) == {}


def test_health_reads_indexes_not_the_history(conn: sqlite3.Connection) -> None:
    """Every statement health runs searches a small index: none scans fetches or sorts it, and
    none walks a source's whole history of unchanged fetches."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        source_health(conn, NOW)
        daily(conn, NOW)
    finally:
        conn.set_trace_callback(None)
    fetches = [s for s in statements if "FROM fetches" in s]
    assert len(fetches) >= 4 * 4  # runs, new times, 24 h, 7 d per source, and the charts
    for statement in fetches:
        plan = [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
        assert not [p for p in plan if p.startswith("SCAN") or "ORDER BY" in p], (statement, plan)
        # The counted outcomes from their own small index; a source's runs by its URL.
        wanted = "fetches_health" if "outcome IN (" in statement else "fetches_url"
        assert any(f"INDEX {wanted} " in p for p in plan), (statement, plan)


def test_a_failed_run_without_error_text_is_named_by_its_status(tmp_path: Path) -> None:
    clock = FakeClock()
    with Archive.open(tmp_path / "gone.db", clock) as archive:
        archive.sync_sources(
            [SourceInfo("moved", "https://moved.example/feed.xml", "feed", "every 1h")]
        )
        archive.record(
            Fetch(
                url="https://moved.example/feed.xml", started_at=iso(clock.now()),
                outcome_hint=Outcome.GONE, status=404, source="moved",
            ),
            None,
        )  # fmt: skip
        archive.commit()
    with sqlite3.connect(tmp_path / "gone.db") as connection:
        (moved,) = source_health(connection, clock.now())
    assert moved.state is State.FAILING and moved.last_error == "HTTP 404 (gone)"
