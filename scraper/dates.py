"""Dates as the page states them: the only module that uses dateutil.

A page's date becomes ISO-8601 with the page's own offset (or none, when the
page gives none). What cannot be read is ``None``: never guessed.
"""

from __future__ import annotations

import re
from datetime import datetime

from dateutil import parser as dateutil_parser

# A year somewhere in the string: without one, dateutil would fill it from today.
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2[01]\d\d)(?!\d)")
_EPOCH = re.compile(r"^\d{10}(\d{3})?$")
_MIN_YEAR = 1900


def parse_date(value: str | None) -> datetime | None:
    """Read a date or date-time; ``None`` when it is absent or cannot be read unambiguously."""
    if not value:
        return None
    text = value.strip()
    if not text or len(text) > 80:
        return None
    if _EPOCH.match(text):
        return None  # a bare number is a counter as often as a timestamp
    try:
        return dateutil_parser.isoparse(text)
    except (ValueError, OverflowError):
        pass
    if not _YEAR.search(text):
        return None
    try:
        parsed = dateutil_parser.parse(text, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.year < _MIN_YEAR:
        return None
    return parsed


def to_iso(value: str | None) -> str | None:
    """ISO-8601 text keeping the stated offset; ``None`` when unreadable."""
    parsed = parse_date(value)
    if parsed is None:
        return None
    if parsed.hour == parsed.minute == parsed.second == 0 and not _has_time(value or ""):
        return parsed.date().isoformat()
    return parsed.isoformat()


def _has_time(text: str) -> bool:
    return bool(re.search(r"\d:\d\d", text))
