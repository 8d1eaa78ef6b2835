"""Dates as pages state them: ISO-8601 with the page's offset, never a guess."""

from __future__ import annotations

import warnings

import pytest

from scraper.dates import is_date, to_iso
from scraper.extract import extract_html


@pytest.mark.parametrize(
    ("stated", "iso"),
    [
        ("2025-03-04T10:30:00+07:00", "2025-03-04T10:30:00+07:00"),  # offset kept, not UTC
        ("Tue, 5 Apr 2018 06:00:00 +0200", "2018-04-05T06:00:00+02:00"),
        ("2018-04-05T06:00", "2018-04-05T06:00:00"),  # no offset stated, none invented
        ("2025-03-04", "2025-03-04"),  # a day stays a day
        ("March 25, 2015 3:46 PM", "2015-03-25T15:46:00"),
        ("Mittwoch, 4. März 2025, 10:30 Uhr", "2025-03-04T10:30:00"),
        ("mercredi 4 mars 2025 à 10h30", "2025-03-04T10:30:00"),
        ("4 de marzo de 2025", "2025-03-04"),
        ("ngày 4 tháng 3 năm 2025", "2025-03-04"),
        ("2025年3月4日 10:30", "2025-03-04T10:30:00"),
        ("04.03.2025", "2025-03-04"),  # dotted dates are day first
        ("25/3/2025", "2025-03-25"),  # 25 cannot be a month
        ("2021-01-03T17:40:00EET", "2021-01-03T17:40:00+02:00"),  # a zone with one meaning
        ("March 25, 2015 3:46 PM EDT", "2015-03-25T15:46:00-04:00"),
        ("Mon, 06 Nov 2023 10:00 GMT+2", "2023-11-06T10:00:00+02:00"),  # ahead, as pages mean
        ("Mon, 06 Nov 2023 10:00 UTC-03:00", "2023-11-06T10:00:00-03:00"),
        ("March 25, 2015 3:46 PM IST", "2015-03-25T15:46:00"),  # India? Israel? no offset
        ("March 25, 2015 3:46 PM CST", "2015-03-25T15:46:00"),  # China? Central? no offset
    ],
)
def test_stated_dates_become_iso_8601(stated: str, iso: str) -> None:
    assert to_iso(stated) == iso


def test_an_unknown_zone_name_is_no_warning() -> None:
    """A zone dateutil cannot name made it warn on stderr for every page that had one."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert to_iso("5 Apr 2018 06:00 XYZT") == "2018-04-05T06:00:00"


@pytest.mark.parametrize(
    "unreadable",
    ["", "gestern", "vor 3 Stunden", "4/3/2025", "2025-02-30", "12", "1616161616", "Mai"],
)
def test_unreadable_or_ambiguous_dates_are_none(unreadable: str) -> None:
    assert to_iso(unreadable) is None


def test_a_visible_date_line_is_the_last_resort_for_published() -> None:
    html = (
        "<html><body><article><h1>Titel</h1><p class='article-date'>Veröffentlicht am "
        "4. März 2025</p><p>Ein Absatz mit genug Text, um als Artikel zu gelten, und mit "
        "Kommas.</p></article></body></html>"
    )
    assert extract_html(html).published == "2025-03-04"


@pytest.mark.parametrize(
    ("text", "is_one"),
    [
        ("4/3/2025", True),
        ("08/04/2015 12:46", True),
        ("25/3/2025", True),
        ("gestern", False),
        ("4/3", False),
        ("12:46", False),
        ("Room 4/3, floor 2", False),
    ],
)
def test_a_date_is_recognised_even_when_its_day_and_month_order_is_unclear(
    text: str, is_one: bool
) -> None:
    """A dateline is a date whatever its order; only reading it needs the order."""
    assert is_date(text) is is_one
