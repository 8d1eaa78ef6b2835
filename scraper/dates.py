"""Dates as the page states them: the only module that uses dateutil.

A page's date becomes ISO-8601 with the page's own offset (or none, when the
page gives none). What cannot be read is ``None``: never guessed.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from dateutil import parser as dateutil_parser
from dateutil import tz as dateutil_tz

# A year somewhere in the string: without one, dateutil would fill it from today.
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2[01]\d\d)(?!\d)")
# "GMT+2" on a page means two hours ahead; dateutil reads it the POSIX way (behind).
_GMT_PLUS = re.compile(r"\b(?:GMT|UTC)\s*(?=[+-]\d)")
_EPOCH = re.compile(r"^\d{10}(\d{3})?$")
_MIN_YEAR = 1900
_NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})([/.])(\d{1,2})[/.](\d{2,4})(?![\d.])")
_CLOCK = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:h](\d\d)(?!\d)")
# What every _CLOCK match holds: found from its first digit on, where _CLOCK's lookbehind
# is tried at every position of the line.
_CLOCK_DIGITS = re.compile(r"\d[:h]\d\d")
# 2025年3月4日 (zh, ja), 2025년 3월 4일 (ko): year, month, day spelled with characters.
_CJK_DATE = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?")
# "4 tháng 3, 2025" / "ngày 4 tháng 3 năm 2025" (vi).
_VI_DATE = re.compile(r"(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s*,?\s*(?:năm\s+)?(\d{4}))", re.I)


# Month and weekday names dateutil should know, per month/day: en, de, fr, es.
_MONTH_NAMES: list[Any] = [
    ("Jan", "January", "Januar", "Jänner", "janvier", "janv", "enero", "ene"),
    ("Feb", "February", "Februar", "février", "févr", "febrero"),
    ("Mar", "March", "März", "Maerz", "mars", "marzo"),
    ("Apr", "April", "avril", "avr", "abril", "abr"),
    ("May", "Mai", "mayo"),
    ("Jun", "June", "Juni", "juin", "junio"),
    ("Jul", "July", "Juli", "juillet", "juil", "julio"),
    ("Aug", "August", "août", "agosto", "ago"),
    ("Sep", "Sept", "September", "septembre", "septiembre", "setiembre"),
    ("Oct", "October", "Oktober", "Okt", "octobre", "octubre"),
    ("Nov", "November", "novembre", "noviembre"),
    ("Dec", "December", "Dezember", "Dez", "décembre", "déc", "diciembre", "dic"),
]
_WEEKDAY_NAMES: list[Any] = [
    ("Mon", "Monday", "Montag", "lundi", "lunes"),
    ("Tue", "Tuesday", "Dienstag", "mardi", "martes"),
    ("Wed", "Wednesday", "Mittwoch", "mercredi", "miércoles"),
    ("Thu", "Thursday", "Donnerstag", "jeudi", "jueves"),
    ("Fri", "Friday", "Freitag", "vendredi", "viernes"),
    ("Sat", "Saturday", "Samstag", "Sonnabend", "samedi", "sábado"),
    ("Sun", "Sunday", "Sonntag", "dimanche", "domingo"),
]


# Zone abbreviations with one meaning, as hours from UTC. CST, IST, BST and AST are
# left out (China or Central, India or Ireland or Israel, British or Bangladesh,
# Atlantic or Arabia): a time in an unknown zone keeps no offset, not a guessed one.
_ZONE_HOURS = {
    "UT": 0.0, "UTC": 0.0, "GMT": 0.0, "Z": 0.0, "WET": 0.0, "WEST": 1.0,
    "CET": 1.0, "CEST": 2.0, "MEZ": 1.0, "MESZ": 2.0, "EET": 2.0, "EEST": 3.0,
    "MSK": 3.0, "PKT": 5.0, "ICT": 7.0, "WIB": 7.0, "HKT": 8.0, "SGT": 8.0,
    "AWST": 8.0, "JST": 9.0, "KST": 9.0, "ACST": 9.5, "AEST": 10.0, "AEDT": 11.0,
    "NZST": 12.0, "NZDT": 13.0, "HST": -10.0, "AKST": -9.0, "AKDT": -8.0,
    "PST": -8.0, "PDT": -7.0, "MST": -7.0, "MDT": -6.0, "CDT": -5.0,
    "EST": -5.0, "EDT": -4.0, "NST": -3.5, "NDT": -2.5,
}  # fmt: skip


def _zone(name: str | None, offset: int | None) -> dateutil_tz.tzoffset | None:
    """dateutil's hook for a named zone: a fixed offset when the name has one meaning,
    else ``None`` (the time stays without an offset, and dateutil does not warn)."""
    if offset is not None:
        return dateutil_tz.tzoffset(name, offset)
    hours = _ZONE_HOURS.get((name or "").upper())
    if hours is None:
        return None
    return dateutil_tz.tzoffset(name, int(hours * 3600))


class _ManyLanguages(dateutil_parser.parserinfo):
    """Month and weekday names in English, German, French and Spanish."""

    MONTHS = _MONTH_NAMES
    WEEKDAYS = _WEEKDAY_NAMES
    JUMP = [  # noqa: RUF012
        *dateutil_parser.parserinfo.JUMP,
        "um",
        "Uhr",
        "à",
        "h",
        "de",
        "del",
        "le",
        "el",
        "am",
        "den",
    ]


@cache
def _parser_info() -> _ManyLanguages:
    return _ManyLanguages()


def _isoparse(text: str) -> datetime | None:
    """A strict ISO-8601 reading, or None so the looser forms get their turn."""
    # Every ISO-8601 form starts with a four-digit year: anything else fails at once
    # (an exception is dear, and most visible date lines are not ISO).
    year = text[:4]
    if len(year) < 4 or not year.isascii() or not year.isdigit():
        return None
    try:
        # The standard library reads the forms pages use (``2015-03-10T08:05:41.000-07:00``)
        # in C; dateutil's isoparse takes the rest of ISO 8601 (``24:00``, ...).
        return datetime.fromisoformat(text)
    except ValueError:
        return _dateutil_isoparse(text)


def _dateutil_isoparse(text: str) -> datetime | None:
    try:
        return dateutil_parser.isoparse(text)
    except (ValueError, OverflowError):
        return None


def parse_date(value: str | None) -> datetime | None:
    """Read a date or date-time; ``None`` when it is absent or cannot be read unambiguously."""
    if not value:
        return None
    text = value.strip()
    if not text or len(text) > 80:
        return None
    if _EPOCH.match(text):
        return None  # a bare number is a counter as often as a timestamp
    iso = _isoparse(text)
    if iso is not None:
        return iso
    if not _YEAR.search(text):
        return None
    spelled = _CJK_DATE.search(text) or _VI_DATE.search(text)
    if spelled is not None:
        return _from_parts(spelled, text)
    numeric = _NUMERIC_DATE.search(text)
    day_first = numeric is not None and numeric.group(2) == "."  # 04.03.2025 is European
    if numeric is not None and not day_first:
        first, second = int(numeric.group(1)), int(numeric.group(3))
        if first != second and first <= 12 and second <= 12:
            return None  # 4/3/2025: April or March depends on the country; not guessed
    try:
        parsed = dateutil_parser.parse(
            _GMT_PLUS.sub("", text.replace(". ", " ")),
            parserinfo=_parser_info(),
            dayfirst=day_first,
            tzinfos=_zone,
        )
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.year < _MIN_YEAR:
        return None
    return parsed


def is_date(value: str) -> bool:
    """Whether the text is a date, including one :func:`parse_date` leaves unread because
    its day and month could be either way round (4/3/2025)."""
    if parse_date(value) is not None:
        return True
    numeric = _NUMERIC_DATE.search(value)
    if numeric is None or numeric.group(2) != "/":
        return False
    dotted = numeric.group(0).replace("/", ".")  # read day first: either order is a date
    return parse_date(value.replace(numeric.group(0), dotted, 1)) is not None


def _from_parts(match: re.Match[str], text: str) -> datetime | None:
    """A date spelled with characters, and the ``HH:MM`` that follows it, if any."""
    numbers = [int(g) for g in match.groups() if g]
    if match.re is _VI_DATE:
        if len(numbers) < 3:
            return None
        day, month, year = numbers
    else:
        year, month, day = numbers
    clock = _CLOCK.search(text, match.end()) or _CLOCK.search(text, 0, match.start())
    hour, minute = (int(clock.group(1)), int(clock.group(2))) if clock else (0, 0)
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None


def to_iso(value: str | None) -> str | None:
    """ISO-8601 text keeping the stated offset; ``None`` when unreadable."""
    parsed = parse_date(value)
    if parsed is None:
        return None
    if parsed.hour == parsed.minute == parsed.second == 0 and not has_time(value or ""):
        return parsed.date().isoformat()
    return parsed.isoformat()


def has_time(text: str) -> bool:
    """Whether the text states a time of day (``12:46``, French ``12h46``)."""
    return _CLOCK_DIGITS.search(text) is not None and _CLOCK.search(text) is not None
