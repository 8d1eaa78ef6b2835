"""Plain values handed to the archive: what was fetched and what was read from it.

These frozen dataclasses are the whole contract between ``scraper`` (which
produces them) and ``archive`` (which stores them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from contract.fields import ArticleField, Kind, declare, declared_fields


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


@dataclass(frozen=True, kw_only=True)
class Article:
    """An article as a reader sees it, extracted from one page.

    Each field is declared here once (see :mod:`contract.fields`); the order is the
    order in which a version's changed fields are reported, stored and exported.
    """

    title: str | None = field(
        default=None, metadata=declare("Headline", Kind.TEXT, hashed="always")
    )
    byline: tuple[str, ...] = field(
        default=(), metadata=declare("Authors, a JSON array", Kind.NAMES, hashed="always")
    )
    published: str | None = field(
        default=None,
        metadata=declare(
            "Publication time the page states, with its offset", Kind.TIME, hashed="always"
        ),
    )
    modified: str | None = field(
        default=None, metadata=declare("Modification time the page states", Kind.TIME)
    )
    paragraphs: tuple[str, ...] = field(
        metadata=declare(
            "The article body as clean text, paragraphs separated by blank lines",
            Kind.BODY,
            hashed="always",
            column="text",
        )
    )
    images: tuple[Image, ...] = field(
        default=(),
        metadata=declare(
            "Images with caption and credit, a JSON array of objects",
            Kind.IMAGES,
            hashed="always",
        ),
    )
    description: str | None = field(
        default=None, metadata=declare("Summary the page gives for itself", Kind.LONG_TEXT)
    )
    section: str | None = field(default=None, metadata=declare("Section or category", Kind.TEXT))
    tags: tuple[str, ...] = field(
        default=(), metadata=declare("Tags and keywords, a JSON array", Kind.NAMES)
    )
    language: str | None = field(
        default=None, metadata=declare("Language code, as stated or detected", Kind.TEXT)
    )
    canonical_url: str | None = field(
        default=None, metadata=declare("Canonical address the page states", Kind.URL)
    )
    site_name: str | None = field(default=None, metadata=declare("Publisher name", Kind.TEXT))
    top_image: str | None = field(default=None, metadata=declare("Lead image address", Kind.URL))
    source_url: str | None = field(
        default=None,
        metadata=declare("A source the article names (Quelle:, Nguồn:, Source:)", Kind.URL),
    )
    comment_count: int | None = field(
        default=None,
        metadata=declare(
            "Number of comments shown, if stated (does not create versions)",
            Kind.COUNT,
            compared=False,
        ),
    )
    extractor_version: str = field(
        default="",
        metadata=declare("Version of the extractor that read the text", Kind.VERSION, stored=False),
    )

    @property
    def text(self) -> str:
        """The body as plain text: paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)


# Article's declared fields, in order: what the archive's columns, the diff, the export
# and the Datasette descriptions are generated from.
ARTICLE_FIELDS: tuple[ArticleField, ...] = declared_fields(Article)


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
