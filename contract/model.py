"""Plain values handed to the archive: what was fetched and what was read from it.

These frozen dataclasses are the whole contract between ``scraper`` (which
produces them) and ``archive`` (which stores them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What one fetch of one URL amounted to, as logged and stored in ``fetches``."""

    NEW = "new"  # first version of an article
    CHANGED = "changed"  # a new version of a known article
    UNCHANGED = "unchanged"  # fetched, same content hash as the latest version
    NOT_MODIFIED = "not_modified"  # the server answered 304
    GONE = "gone"  # 404/410 or a redirect away from the article
    FAILED = "failed"  # network error, HTTP error, unparseable response
    REJECTED = "rejected"  # we refused to fetch: robots.txt, address policy, scheme


@dataclass(frozen=True)
class Image:
    """An image of the article with its caption and photo credit."""

    src: str | None = None
    alt: str | None = None
    caption: str | None = None
    credit: str | None = None


@dataclass(frozen=True)
class Article:
    """An article as a reader sees it, extracted from one page."""

    paragraphs: tuple[str, ...]
    title: str | None = None
    byline: tuple[str, ...] = ()
    published: str | None = None  # ISO-8601, keeping the page's offset
    modified: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    top_image: str | None = None
    images: tuple[Image, ...] = ()
    source_url: str | None = None
    comment_count: int | None = None
    extractor_version: str = ""

    @property
    def text(self) -> str:
        """The body as plain text: paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class Fetch:
    """One attempt to fetch one URL, whatever came of it."""

    url: str
    started_at: str  # ISO-8601 UTC
    outcome_hint: Outcome | None = None  # FAILED/REJECTED/NOT_MODIFIED/GONE decided by the fetcher
    final_url: str | None = None
    status: int | None = None
    error: str | None = None
    elapsed_ms: int = 0
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None  # raw (decoded transfer/content-encoding) response body
    etag: str | None = None
    last_modified: str | None = None
    source: str | None = None  # name of the configured source that led here
    due_at: str | None = None  # when the schedule wanted this fetch; started_at - due_at = lag
    via: str = "plain"  # which path made ``body``: "plain" (the response) or "render" (Chromium)
    original_body: bytes | None = None  # with via="render": the response as served; body is the DOM
