"""Apprise behind two functions: check an Apprise URL, send one message (the one module
importing Apprise).

Apprise reports a problem by logging it and returning False; both functions catch what
it logs while they run and hand it back as the reason, so the daemon's log has one line
of its own per failure (and none of Apprise's, which would repeat it). Apprise's
privacy form of a URL (passwords and tokens masked) is what the rest of the program
names a target by: a URL in config.toml may hold a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import apprise

_APPRISE_LOGGER = "apprise"


class _Collect(logging.Handler):
    """Keeps the messages of the warnings and errors Apprise logs (from any of its threads:
    the notifier sends one message at a time, so they are all about that one)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


@contextmanager
def _apprise_said() -> Iterator[list[str]]:
    """What Apprise logs (warnings and errors) inside the block, kept from the daemon's log."""
    logger = logging.getLogger(_APPRISE_LOGGER)
    handler = _Collect()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def describe_url(url: str) -> str:
    """The URL as Apprise shows it with its secrets masked; raises ValueError with Apprise's
    reason when Apprise cannot send to it."""
    with _apprise_said() as said:
        try:
            plugin = apprise.Apprise.instantiate(url)
        except Exception as exc:  # a plugin's own parser failing on odd input
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
    if plugin is None or isinstance(plugin, bool):
        reason = said[0] if said else "not an Apprise URL (unknown service or missing parts)"
        raise ValueError(reason)
    masked: str = plugin.url(privacy=True)  # type: ignore[no-untyped-call]  # untyped in Apprise
    return masked.split("?", 1)[0]  # the options after ? say nothing a reader needs


@dataclass(frozen=True)
class AppriseSender:
    """Sends plain-text messages to Apprise URLs; one call at a time (the notifier's thread)."""

    def send(self, url: str, title: str, body: str) -> str | None:
        """Send one message; None when it went, else why not (one line)."""
        with _apprise_said() as said:
            try:
                target = apprise.Apprise()
                if not target.add(url):
                    return said[0] if said else "Apprise cannot use this URL"
                sent = target.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
            except Exception as exc:  # a plugin bug costs this message, never the daemon
                return f"{type(exc).__name__}: {exc}"
        if sent:
            return None
        return said[-1] if said else "Apprise reported a failure"
