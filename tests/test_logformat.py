"""``--log-format json`` record by record: what a collector receives for the awkward cases
(a traceback, a value JSON cannot hold, a lone surrogate, a message with a newline)."""

from __future__ import annotations

import json
import logging
import sys

from scraper.logformat import JsonFormatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord(
        {"name": "scraper", "levelno": logging.WARNING, "levelname": "WARNING", "msg": message}
    )
    made.args = args
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_record_is_one_line_of_json_with_its_fields() -> None:
    line = JsonFormatter().format(
        record("%s failed\nsecond line", "https://x.example/\udcff", url="https://x.example/\udcff",
               outcome="failed", when=object(), bytes=0)
    )  # fmt: skip
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "https://x.example/\udcff failed\nsecond line"
    assert entry["url"] == "https://x.example/\udcff" and entry["outcome"] == "failed"
    assert entry["bytes"] == 0 and entry["when"].startswith("<object object")
    assert entry["level"] == "WARNING" and entry["logger"] == "scraper"
    assert list(entry)[:4] == ["time", "level", "logger", "message"]


def test_a_traceback_goes_into_the_line() -> None:
    try:
        raise ValueError("a page the extractor choked on")
    except ValueError:
        failed = record("source %s failed unexpectedly", "daily", source="daily")
        failed.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(failed))
    assert entry["source"] == "daily"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: a page the extractor choked on")
