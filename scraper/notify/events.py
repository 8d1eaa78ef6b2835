"""What an alert is about: an event raised once the version (or the run) it reports committed.

Plain frozen values, handed from the daemon's commit hook to the batcher and on to the
message composer; none of them imports Apprise.
"""

from __future__ import annotations

from dataclasses import dataclass

# The events a [[notify.targets]] entry can ask for with ``on = [...]``, in this order.
CHANGED = "changed"  # a publisher edited an article: a new version
GONE = "gone"  # an article disappeared (404, 410, a redirect to its section)
BACK = "back"  # a gone article returned
SOURCE_FAILING = "source_failing"  # a source's runs began to fail
SOURCE_QUIET = "source_quiet"  # a source went quiet (no new article for longer than usual)
EVENT_KINDS = (CHANGED, GONE, BACK, SOURCE_FAILING, SOURCE_QUIET)
VERSION_KINDS = frozenset({CHANGED, GONE, BACK})


@dataclass(frozen=True)
class Event:
    """One thing to tell: a version of ``url`` (an article), or a source's new state."""

    kind: str  # one of EVENT_KINDS
    source: str  # the configured source's name (batches are per source)
    url: str  # the article's URL; for a source event, the source's URL
    raised_at: float  # the clock's monotonic seconds when it was raised
    version: int | None = None  # the version that the change wrote (version events)
    detail: str = ""  # a source event's reason: the last error, or how long it has been quiet
