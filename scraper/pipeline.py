"""Wire one URL through the stages: fetch -> decode -> extract -> archive.

Each function here handles one fetch and writes exactly one log line for it:
URL, HTTP status, outcome, bytes, milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar, Unpack

from archive.store import Recorded
from contract.model import Article, Fetch, Outcome
from scraper.config import Source
from scraper.decode import DecodeError, decode_html
from scraper.discover import article_links, normalise_url
from scraper.extract import extract_document
from scraper.fetch import FetchOptions, Validators
from scraper.html import page_links
from scraper.kinds import AUTO, KINDS, Kinds, Listing, ListingKind, SourceRun
from scraper.render import RENDERED_TAG
from scraper.workers import WorkerError, Workers

DISCOVER_BATCH = 1000  # links of a listing written per transaction, the loop free between
T = TypeVar("T")


class PageFetcher(Protocol):
    """The plain fetcher, or the rendering one (scraper.render.fetcher) wrapping it."""

    async def fetch(self, url: str, **options: Unpack[FetchOptions]) -> Fetch: ...

    async def aclose(self) -> None: ...


class Recorder(Protocol):
    """What the stages need of the archive: the archive itself (``scraper run``), or a
    cluster worker's record of what it did, which the archiver records later."""

    def validators(self, url: str) -> tuple[str | None, str | None]: ...

    def record(
        self,
        fetch: Fetch,
        article: Article | None,
        then: Callable[[Recorded], None] | None = None,
    ) -> Recorded: ...

    def add_discovered(self, urls: Iterable[str], source: str) -> list[str]: ...

    def record_source_result(self, source: str, outcome: Outcome, error: str | None) -> None: ...


@dataclass(frozen=True)
class Stages:
    """What processing a URL needs, built once by the daemon."""

    fetcher: PageFetcher
    archive: Recorder
    log: logging.Logger
    workers: Workers | None = None  # None: read pages inline (tools, benchmarks)
    kinds: Kinds = KINDS  # the source kinds a source's ``kind`` names
    # Told of every fetch once its batch is committed (the daemon's metrics count there).
    observe: Callable[[Fetch, Article | None, Recorded], None] | None = None

    async def work(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker under the budget, or inline without workers."""
        if self.workers is None:
            return function(*args)
        return await self.workers.run(function, *args)


def log_fetch(log: logging.Logger, fetch: Fetch, outcome: Outcome) -> None:
    size = len(fetch.body) if fetch.body is not None else 0
    status = fetch.status if fetch.status is not None else "-"
    level = logging.WARNING if outcome in (Outcome.FAILED, Outcome.REJECTED) else logging.INFO
    reason = f" ({fetch.error})" if fetch.error else ""
    fields = {  # for --log-format json (scraper/logformat.py)
        "url": fetch.url, "source": fetch.source, "status": fetch.status,
        "outcome": str(outcome), "bytes": size, "ms": fetch.elapsed_ms, "error": fetch.error,
    }  # fmt: skip
    log.log(
        level,
        "%s %s %s %dB %dms%s",
        *(fetch.url, status, outcome, size, fetch.elapsed_ms, reason),
        extra=fields,
    )


def record(
    stages: Stages,
    fetch: Fetch,
    article: Article | None,
    on_committed: Callable[[Recorded], None] | None = None,
) -> Recorded:
    """Record a fetch; its log line (and ``on_committed``) come once its batch is committed.

    Raises :class:`archive.db.ArchiveStalled` when writes are held (disk full): the fetch
    is kept and announced when they are committed.
    """

    def announce(recorded: Recorded) -> None:
        log_fetch(stages.log, fetch, recorded.outcome)
        if stages.observe is not None:
            stages.observe(fetch, article, recorded)
        if on_committed is not None:
            on_committed(recorded)

    return stages.archive.record(fetch, article, then=announce)


def _fail(fetch: Fetch, error: str) -> Fetch:
    return replace(fetch, outcome_hint=Outcome.FAILED, error=error)


def decode_page(fetch: Fetch) -> tuple[Fetch, str | None]:
    """The page as text; a body that cannot be decoded becomes a failed fetch."""
    if fetch.outcome_hint is not None or fetch.body is None:
        return fetch, None
    try:
        return fetch, decode_html(fetch.body, fetch.content_type)
    except DecodeError as exc:
        return _fail(fetch, f"cannot decode {fetch.url}: {exc}"), None


def extract_page(fetch: Fetch, html: str, source: Source | None) -> tuple[Fetch, Article | None]:
    try:
        article = extract_document(
            html,
            fetch.final_url or fetch.url,
            content=source.content if source else (),
            remove=source.remove if source else (),
        )
    except Exception as exc:  # an extractor bug must cost one page, not the daemon
        return _fail(fetch, f"extraction failed for {fetch.url}: {type(exc).__name__}: {exc}"), None
    if article is not None and fetch.via == "render":
        article = replace(article, extractor_version=article.extractor_version + RENDERED_TAG)
    return fetch, article


@dataclass(frozen=True)
class Reading:
    """What a worker read from a fetched page: the article, or why there is none."""

    article: Article | None
    error: str | None = None
    links: tuple[str, ...] = ()  # the page's article links, when asked for


def read_page(fetch: Fetch, source: Source | None, want_links: bool) -> Reading:
    """Decode and extract a page, and find its article links (runs in a worker)."""
    fetch, html = decode_page(fetch)
    if html is None:
        return Reading(None, fetch.error)
    fetch, article = extract_page(fetch, html, source)
    if article is None:
        return Reading(None, fetch.error)
    if not want_links:
        return Reading(article)
    base = fetch.final_url or fetch.url
    links = article_links((normalise_url(link) for link in page_links(html, base)), base)
    return Reading(article, links=tuple(links))


async def read_fetched(
    fetch: Fetch, source: Source | None, stages: Stages, *, want_links: bool = False
) -> tuple[Fetch, Reading]:
    """Read a fetched page in a worker; a page that cannot be read, or not within the
    budget, becomes a failed fetch."""
    if fetch.outcome_hint is not None or fetch.body is None:
        return fetch, Reading(None)
    try:
        reading = await stages.work(read_page, fetch, source, want_links)
    except WorkerError as exc:
        return _fail(fetch, f"extraction {exc} for {fetch.url}"), Reading(None)
    if reading.error is not None:
        return _fail(fetch, reading.error), reading
    return fetch, reading


async def _listing(stages: Stages, fetch: Fetch, kind: ListingKind) -> Listing:
    assert fetch.body is not None
    url = fetch.final_url or fetch.url
    try:
        return await stages.work(kind.listing, fetch.body, url)
    except WorkerError as exc:
        return Listing((), (), f"reading the {kind.name} {exc} for {fetch.url}")


async def archive_article(
    url: str,
    source: Source | None,
    stages: Stages,
    due_at: str | None = None,
    on_committed: Callable[[Recorded], None] | None = None,
) -> Recorded:
    """Fetch one article (due since ``due_at``) and record what came of it."""
    etag, last_modified = stages.archive.validators(url)
    fetch = await stages.fetcher.fetch(
        url, validators=Validators(etag, last_modified), source=source, expect="article"
    )
    fetch = replace(fetch, due_at=due_at)
    fetch, reading = await read_fetched(fetch, source, stages)
    recorded = record(stages, fetch, reading.article, on_committed)
    return recorded


async def run_source(source: Source, stages: Stages, due_at: str | None = None) -> SourceRun:
    """Fetch a source once (due since ``due_at``) and run it through its kind: archive an
    article, discover the articles a listing lists."""
    configured = None if source.kind == AUTO else stages.kinds.get(source.kind)
    etag, last_modified = stages.archive.validators(source.url)
    fetch = await stages.fetcher.fetch(
        source.url,
        validators=Validators(etag, last_modified),
        source=source,
        expect=configured.expect if configured is not None else "any",
    )
    fetch = replace(fetch, due_at=due_at)
    name = configured.name if configured is not None else None
    if fetch.outcome_hint is not None or fetch.body is None:
        # Failed, rejected, gone or not modified: nothing to read, and nothing new to discover.
        recorded = record(stages, fetch, None)
        return _finish(source, stages, SourceRun(name, recorded.outcome, (), fetch.error))
    kind = configured or stages.kinds.sniff(fetch.body, fetch.content_type)
    if kind is None:
        failed = _fail(
            fetch,
            f"{source.url}: not a document of any source kind "
            f"({', '.join(k.name for k in stages.kinds)}; "
            f"content type {fetch.content_type or 'missing'})",
        )
        recorded = record(stages, failed, None)
        return _finish(source, stages, SourceRun(None, recorded.outcome, (), failed.error))
    step = SourceStep(source, stages)
    return _finish(source, stages, await kind.follow(step, fetch, configured=kind is configured))


def _finish(source: Source, stages: Stages, run: SourceRun) -> SourceRun:
    stages.archive.record_source_result(source.name, run.outcome, run.error)
    return run


@dataclass(frozen=True)
class SourceStep:
    """One run of a source, as its kind sees it: what a kind may do with what it fetched."""

    source: Source
    stages: Stages

    def record(self, fetch: Fetch, article: Article | None = None) -> Recorded:
        return record(self.stages, fetch, article)

    def fail(self, fetch: Fetch, error: str) -> Fetch:
        return _fail(fetch, error)

    async def read(self, fetch: Fetch, *, want_links: bool) -> tuple[Fetch, Reading]:
        """The page read in a worker: its article, and its article links when wanted."""
        return await read_fetched(fetch, self.source, self.stages, want_links=want_links)

    async def listing(self, fetch: Fetch, kind: ListingKind) -> Listing:
        """What a fetched listing lists, read by ``kind`` in a worker under the budget."""
        return await _listing(self.stages, fetch, kind)

    async def fetch(self, url: str) -> Fetch:
        """Another document of the source (a child sitemap), fetched as politely."""
        return await self.stages.fetcher.fetch(url, source=self.source, expect="any")

    async def discover(self, links: tuple[str, ...]) -> list[str]:
        """Remember a listing's links in bounded batches, letting the loop run between them;
        the new ones, to archive."""
        fresh: list[str] = []
        for start in range(0, len(links), DISCOVER_BATCH):
            batch = links[start : start + DISCOVER_BATCH]
            fresh.extend(self.stages.archive.add_discovered(batch, self.source.name))
            await asyncio.sleep(0)
        return fresh
