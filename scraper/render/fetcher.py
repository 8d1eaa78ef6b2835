"""The rendering fetcher: the plain fetcher, then Chromium for the sources that ask for it.

``fetch`` has the plain fetcher's signature and returns the same :class:`Fetch`:

1. The plain fetch runs as always: robots.txt for the page URL, redirects checked hop by
   hop, conditional GET (a 304 is not rendered), the host's slot, secrets, caps.
2. ``render = "never"`` (or no usable HTML body) ends there. ``auto`` goes on only when
   :func:`scraper.render.shell.render_reason` says the page needs a browser.
3. The render runs inside the host's politeness slot, given the bytes already fetched
   (the page is not fetched twice). Every request the page makes is answered by
   :meth:`Fetcher.subrequest`: the same network guard, no ``file:``, images, fonts and
   media and the tracker list refused, the source's secret headers only to its origin.
4. The Fetch keeps the rendered DOM as ``body`` (so ``reparse`` reads it), the response
   as served as ``original_body``, and ``via = "render"``.

A render that fails (deadline, crash) is a failed fetch naming why; the daemon goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Unpack
from urllib.parse import urlsplit

from contract.model import Fetch, Outcome
from scraper.config import Config, RenderSettings, Source
from scraper.fetch import Fetcher, FetchOptions, SubrequestFailed
from scraper.markup import declares_html
from scraper.netguard import ALLOWED_SCHEMES, AddressRefused
from scraper.redirects import origin
from scraper.render.browser import Answer, Document, Engine, PageRequest, RenderFailed
from scraper.render.locate import check_rendering, rendering_sources
from scraper.render.shell import render_reason

LOG = logging.getLogger(__name__)
SLACK_S = 1.0
RENDERED_TYPE = "text/html; charset=utf-8"
# Headers of the browser's own requests passed on; the rest (and its cookies) stay behind.
FORWARDED = frozenset(
    {"accept", "accept-language", "content-type", "referer", "x-requested-with", "origin"}
)


class RenderingFetcher:
    """Fetches like :class:`Fetcher`; renders the pages of sources with ``render`` set."""

    def __init__(self, plain: Fetcher, engine: Engine, settings: RenderSettings) -> None:
        self.plain = plain
        self.engine = engine
        self.settings = settings
        self.renders = 0

    async def aclose(self) -> None:
        await self.engine.aclose()

    async def fetch(self, url: str, **options: Unpack[FetchOptions]) -> Fetch:
        page = await self.plain.fetch(url, **options)
        source = options.get("source")
        mode = source.render if source is not None else "never"
        if mode == "never" or page.outcome_hint is not None or not page.body:
            return page
        if not declares_html(page.content_type):
            return page
        if mode == "auto":
            reason = render_reason(page.body, page.content_type)
            if reason is None:
                return page
            LOG.debug("%s needs rendering: %s", url, reason)
        assert source is not None
        return await self._render(page, source)

    async def _render(self, page: Fetch, source: Source) -> Fetch:
        if self.plain.stopping:
            raise asyncio.CancelledError("the daemon is stopping")
        assert page.body is not None
        address = page.final_url or page.url
        host = urlsplit(address).hostname or ""
        deadline = self.plain.settings.deadline
        began = self.plain.clock.monotonic()
        document = Document(
            address, page.status or 200, page.content_type or "text/html", page.body
        )
        try:
            # The host's slot covers the whole render: one thing at a time per host.
            async with self.plain.slots.slot(host, max_wait=deadline):
                rendered = await self.engine.render(document, self._answerer(source), deadline)
        except RenderFailed as exc:
            return replace(page, outcome_hint=Outcome.FAILED, error=str(exc), via="render")
        except Exception as exc:  # what we did not foresee costs this page, not the daemon
            return replace(
                page,
                outcome_hint=Outcome.FAILED,
                error=f"rendering {address} failed: {type(exc).__name__}: {exc}",
                via="render",
            )
        self.renders += 1
        if rendered.refused:
            LOG.debug(
                "%s: refused %d requests: %s", address, len(rendered.refused), rendered.refused
            )
        took = int((self.plain.clock.monotonic() - began) * 1000)
        return replace(
            page,
            body=rendered.html.encode("utf-8"),
            content_type=RENDERED_TYPE,
            original_body=page.body,
            via="render",
            elapsed_ms=page.elapsed_ms + took,
        )

    def _answerer(self, source: Source) -> _Answerer:
        secrets = self.plain.secrets().headers_for(source)
        return _Answerer(self.plain, self.settings, source, secrets)


class _Answerer:
    """Answers the requests of one page being rendered, through the plain fetcher's guard."""

    def __init__(
        self,
        plain: Fetcher,
        settings: RenderSettings,
        source: Source,
        secrets: tuple[tuple[str, str], ...],
    ) -> None:
        self.plain = plain
        self.settings = settings
        self.source_origin = origin(source.url)
        self.secrets = secrets

    async def __call__(self, request: PageRequest) -> Answer:
        url = request.url
        parts = urlsplit(url)
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            return Answer(refused=f"refused scheme {parts.scheme}: in {url}")
        if request.resource_type in self.settings.block_types:
            return Answer(
                refused=f"{request.resource_type} {url} not loaded ([render] block_types)"
            )
        host = (parts.hostname or "").lower()
        if blocked(host, self.settings.block):
            return Answer(refused=f"{url}: tracker host blocked ([render] block)")
        headers = [(k, v) for k, v in request.headers if k.lower() in FORWARDED]
        headers.append(("User-Agent", self.plain.settings.user_agent))
        if self.secrets and origin(url) == self.source_origin:
            headers.extend(self.secrets)  # never to another origin
        remaining = request.time_left  # the engine counts down the page's deadline
        if remaining <= 0:
            return Answer(refused=f"{url}: the render's deadline has passed")
        try:
            # A little past the page's deadline: the page is cut first, not a script's load.
            got = await self.plain.subrequest(
                request.method, url, headers, request.body, timeout=remaining + SLACK_S
            )
        except AddressRefused as exc:
            return Answer(refused=str(exc))
        except SubrequestFailed as exc:
            return Answer(refused=str(exc))
        return Answer(got.status, got.headers, got.body)


def blocked(host: str, block: Iterable[str]) -> bool:
    return any(host == entry or host.endswith("." + entry) for entry in block)


def rendering_fetcher(config: Config, plain: Fetcher) -> RenderingFetcher | None:
    """The fetcher the daemon uses when some source renders; None when none does."""
    if not rendering_sources(config.sources):
        return None
    chromium = check_rendering(config.render, config.sources, config.path)
    assert chromium is not None
    s = config.render
    engine = Engine(
        chromium,
        pages=s.pages,
        restart_after=s.restart_after,
        max_rss=s.max_rss,
        user_agent=config.fetch.user_agent,
    )
    return RenderingFetcher(plain, engine, s)
