"""How ``scraper run`` writes its log: readable lines, or one JSON object per line.

``--log-format json`` is for journald, Loki and other collectors: each record is one line
holding ``time`` (ISO-8601 UTC), ``level``, ``logger``, ``message`` and the structured
fields the code passed with it (``extra={"url": ..., "outcome": ...}``: a fetch carries
``url``, ``source``, ``status``, ``outcome``, ``bytes``, ``ms`` and ``error``), plus
``exception`` with the traceback when there is one. Nothing is lost to formatting: a
value JSON cannot hold is written as its ``repr``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

NOISY = ("apscheduler", "httpx", "httpcore")  # their INFO lines are per request: warnings only
# What every LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: a lone surrogate in a URL or an error still makes a valid line.
        return json.dumps(entry, default=repr, separators=(",", ":"))


def _iso(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def text_formatter() -> logging.Formatter:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    return formatter


def setup_logging(verbose: bool, log_format: LogFormat = LogFormat.TEXT) -> None:
    """Send every record to standard error, in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else text_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
