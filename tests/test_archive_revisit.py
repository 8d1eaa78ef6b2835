"""The revisit policy: often while young and changing, rarely once old and stable, bounded."""

from __future__ import annotations

from archive.revisit import DAY, History, RevisitPolicy

POLICY = RevisitPolicy(min_interval=900, max_interval=7 * DAY)


def test_young_articles_are_checked_more_often_than_old_ones() -> None:
    ages = [0, 1800, 3 * 3600, DAY, 3 * DAY, 10 * DAY]
    intervals = [POLICY.next_interval(History(age_s=a, changes=0)) for a in ages]
    assert intervals == sorted(intervals)
    assert intervals[0] == 900, "a brand-new article is checked at the minimum interval"
    assert intervals[-1] > 20 * intervals[1]


def test_an_article_that_keeps_changing_is_checked_sooner() -> None:
    quiet, edited, developing = (
        POLICY.next_interval(History(age_s=6 * 3600, changes=n)) for n in (0, 1, 5)
    )
    assert quiet > edited > developing


def test_intervals_stay_within_the_configured_bounds() -> None:
    tight = RevisitPolicy(min_interval=600, max_interval=3600)
    for age in (0, 60, 3600, 30 * DAY, 365 * DAY):
        for changes in (0, 1, 50):
            interval = tight.next_interval(History(age_s=age, changes=changes))
            assert 600 <= interval <= 3600


def test_gone_pages_are_still_checked_but_more_rarely() -> None:
    live = POLICY.next_interval(History(age_s=2 * DAY, changes=1))
    gone = POLICY.next_interval(History(age_s=2 * DAY, changes=1, gone=True))
    assert live < gone <= POLICY.max_interval


def test_failure_backoff_doubles_up_to_a_day_and_never_stops() -> None:
    gaps = [POLICY.failure_backoff(n) for n in range(1, 20)]
    assert gaps[:4] == [900, 1800, 3600, 7200]
    assert max(gaps) == DAY and gaps[-1] == DAY
