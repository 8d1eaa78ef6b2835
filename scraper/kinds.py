"""The kinds of source, as a registry: each kind says how its first response is
recognised (``sniff``), how what it lists is read (``listing``, in a worker) and how
its links are followed (``follow``).

A source of kind ``auto`` takes the first kind that recognises its first response, in
the registry's order. The config accepts ``auto`` and every name of the registry, and
the pipeline runs a source through its kind: a new kind is one class here, added to
``KINDS`` (tests may build their own registry with :meth:`Kinds.with_kind`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from contract.model import Fetch, Outcome
from scraper.discover import (
    DiscoveryError,
    feed_links,
    looks_like_section,
    normalise_url,
    parse_sitemap,
    unique,
)
from scraper.markup import body_looks_like_html, declares_html, media_type

if TYPE_CHECKING:  # the pipeline hands each kind its step; kinds never import it back
    from scraper.contentcoding import Expect
    from scraper.pipeline import SourceStep

AUTO = "auto"
MAX_CHILD_SITEMAPS = 10  # newest first; a news sitemap index lists years of archives
SNIFF_WINDOW = 2048
_GZIP = b"\x1f\x8b"
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
_SITEMAP_ROOT = re.compile(rb"<(urlset|sitemapindex)[\s>]", re.IGNORECASE)


@dataclass(frozen=True)
class SourceRun:
    """What one run of a source found: the article URLs new to the archive."""

    kind: str | None  # the kind it ran as; None when an auto source was not recognised
    outcome: Outcome  # as the archive recorded the source's fetch
    fresh: tuple[str, ...]
    error: str | None = None


@dataclass(frozen=True)
class Listing:
    """The links a feed or sitemap lists (child sitemaps apart), or why it cannot be read."""

    pages: tuple[str, ...]
    sitemaps: tuple[str, ...] = ()
    error: str | None = None


def head(body: bytes) -> bytes:
    """The start of a document, where its root element stands."""
    return body[:SNIFF_WINDOW].lstrip()


class SourceKind:
    """One kind of source. ``name`` is what config.toml's ``kind`` says."""

    name: ClassVar[str]
    expect: ClassVar[Expect] = "any"  # what the fetch of a source of this kind expects

    def sniff(self, body: bytes, content_type: str | None) -> bool:
        """Whether an ``auto`` source's first response is of this kind."""
        return False

    async def follow(self, step: SourceStep, fetch: Fetch, *, configured: bool) -> SourceRun:
        """Read the fetched document, record it and find the articles it leads to.
        ``configured``: the source says this kind (else it was sniffed)."""
        raise NotImplementedError


class ListingKind(SourceKind):
    """A document that lists article URLs; each new one is remembered and archived."""

    def listing(self, body: bytes, url: str) -> Listing:
        """Parse the document (runs in a worker, so no I/O)."""
        raise NotImplementedError

    async def more(self, step: SourceStep, listing: Listing) -> Listing:
        """What the listing leads to besides its pages (child sitemaps); itself by default."""
        return listing

    async def follow(self, step: SourceStep, fetch: Fetch, *, configured: bool) -> SourceRun:
        listing = await step.listing(fetch, self)
        if listing.error is None:
            listing = await self.more(step, listing)
        if listing.error is not None:
            failed = step.fail(fetch, listing.error)
            recorded = step.record(failed)
            return SourceRun(self.name, recorded.outcome, (), failed.error)
        recorded = step.record(fetch)
        fresh = await step.discover(listing.pages)
        return SourceRun(self.name, recorded.outcome, tuple(fresh))


class FeedKind(ListingKind):
    """RSS or Atom: the entries' links."""

    name = "feed"

    def sniff(self, body: bytes, content_type: str | None) -> bool:
        if head(body).startswith(_GZIP):
            return False  # a gzipped document is a sitemap, the only one sources serve
        return bool(_FEED_ROOT.search(head(body))) or media_type(content_type) in _FEED_TYPES

    def listing(self, body: bytes, url: str) -> Listing:
        try:
            return Listing(tuple(feed_links(body, url)))
        except DiscoveryError as exc:
            return Listing((), (), str(exc))


class SitemapKind(ListingKind):
    """A sitemap (possibly gzipped): its pages, newest first; a sitemap index: the pages
    of its newest ``MAX_CHILD_SITEMAPS`` child sitemaps."""

    name = "sitemap"

    def sniff(self, body: bytes, content_type: str | None) -> bool:
        start = head(body)
        return start.startswith(_GZIP) or bool(_SITEMAP_ROOT.search(start))

    def listing(self, body: bytes, url: str) -> Listing:
        try:
            sitemap = parse_sitemap(body, url)
        except DiscoveryError as exc:
            return Listing((), (), str(exc))
        return Listing(sitemap.pages, sitemap.sitemaps)

    async def more(self, step: SourceStep, listing: Listing) -> Listing:
        if not listing.sitemaps:
            return listing
        pages = list(listing.pages)
        for child_url in listing.sitemaps[:MAX_CHILD_SITEMAPS]:
            child = await step.fetch(child_url)
            if child.outcome_hint is None and child.body is not None:
                read = await step.listing(child, self)
                if read.error is not None:
                    child = step.fail(child, read.error)
                pages.extend(read.pages)
            step.record(child)
        return Listing(tuple(unique(pages)))


class ArticleKind(SourceKind):
    """One article page, archived. Sniffed, an HTML page may turn out a section page
    (the site root, or many article links around little text)."""

    name = "article"
    expect = "article"

    def sniff(self, body: bytes, content_type: str | None) -> bool:
        return declares_html(content_type) or body_looks_like_html(body)

    async def follow(self, step: SourceStep, fetch: Fetch, *, configured: bool) -> SourceRun:
        return await _read_html(step, fetch, self.name if configured else None)


class SectionKind(SourceKind):
    """A front or section page: the links on it that look like articles of the site."""

    name = "section"

    async def follow(self, step: SourceStep, fetch: Fetch, *, configured: bool) -> SourceRun:
        return await _read_html(step, fetch, self.name)


async def _read_html(step: SourceStep, fetch: Fetch, configured: str | None) -> SourceRun:
    """An HTML page as an article (configured so), a section (configured so), or either
    (``None``: sniffed), as the page reads."""
    want_links = configured != ArticleKind.name
    fetch, reading = await step.read(fetch, want_links=want_links)
    article = reading.article
    if article is None:
        recorded = step.record(fetch)
        return SourceRun(configured, recorded.outcome, (), fetch.error)
    kind = ArticleKind.name
    links = list(reading.links)
    if want_links:
        base = fetch.final_url or fetch.url
        text_chars = sum(len(p) for p in article.paragraphs)
        if configured == SectionKind.name or looks_like_section(base, text_chars, len(links)):
            kind = SectionKind.name
    if kind == ArticleKind.name:
        recorded = step.record(fetch, article)
        return SourceRun(kind, recorded.outcome, ())
    recorded = step.record(fetch)
    own = normalise_url(step.source.url)
    fresh = await step.discover(tuple(u for u in links if u != own))
    return SourceRun(kind, recorded.outcome, tuple(fresh))


@dataclass(frozen=True)
class Kinds:
    """The registry: the kinds in the order ``auto`` tries them."""

    kinds: tuple[SourceKind, ...]

    def __iter__(self) -> Iterator[SourceKind]:
        return iter(self.kinds)

    @property
    def names(self) -> tuple[str, ...]:
        """What config.toml's ``kind`` accepts: ``auto`` and each kind's name."""
        return (AUTO, *(kind.name for kind in self.kinds))

    def get(self, name: str) -> SourceKind:
        for kind in self.kinds:
            if kind.name == name:
                return kind
        raise KeyError(f"unknown source kind {name!r}; expected one of {', '.join(self.names)}")

    def sniff(self, body: bytes, content_type: str | None) -> SourceKind | None:
        """The first kind that recognises the document, or None."""
        return next((kind for kind in self.kinds if kind.sniff(body, content_type)), None)

    def with_kind(self, kind: SourceKind, *, before: str | None = None) -> Kinds:
        """The registry with ``kind`` added (tried before the kind named ``before``, else
        last)."""
        if kind.name in self.names:
            raise ValueError(f"source kind {kind.name!r} is registered already")
        kinds = list(self.kinds)
        at = next((i for i, k in enumerate(kinds) if k.name == before), len(kinds))
        kinds.insert(at, kind)
        return Kinds(tuple(kinds))


# Sniffing order: a feed and a sitemap announce themselves by their root; any HTML page
# is an article (or, as it reads, a section); a section page is never told by its bytes.
KINDS = Kinds((FeedKind(), SitemapKind(), ArticleKind(), SectionKind()))
