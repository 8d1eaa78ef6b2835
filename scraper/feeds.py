"""RSS and Atom feeds: the only module that knows feedparser."""

from __future__ import annotations

from dataclasses import dataclass

import feedparser


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str | None
    published: str | None  # as the feed states it; the article page is the authority


@dataclass(frozen=True)
class Feed:
    title: str | None
    entries: tuple[FeedEntry, ...]


class NotAFeed(ValueError):
    """The body is neither RSS nor Atom."""


def parse_feed(body: bytes, url: str) -> Feed:
    """Entries of an RSS/Atom document in feed order, links made absolute against ``url``.

    A feed with small syntax errors still yields the entries feedparser recovered.
    """
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if not parsed.version and not parsed.entries:
        raise NotAFeed(f"{url}: not an RSS or Atom feed")
    entries = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        entries.append(
            FeedEntry(url=str(link), title=entry.get("title"), published=entry.get("published"))
        )
    return Feed(title=parsed.feed.get("title"), entries=tuple(entries))
