"""The rendering engine: Playwright driving the system's Chromium. The only module that
imports Playwright.

- One browser process, reused; each page gets a fresh context (no cookie or storage
  crosses from one page to the next), at most ``pages`` at a time.
- Chromium itself reaches nothing: every request a page makes is paused by the route
  and answered by the caller's :class:`Requests` (the plain fetcher's guarded client);
  WebSockets are refused, and the launch flags point any other connection Chromium
  might try (preconnect, DNS prefetch, WebRTC) at a proxy that cannot be resolved.
- A hard deadline per page: past it the page's context is closed (or, if Chromium does
  not answer, the browser is killed and started again); the caller gets
  :class:`RenderFailed`, the daemon goes on.
- The browser is restarted after ``restart_after`` pages or once its processes use
  more than ``max_rss`` bytes, between pages.
- Playwright is only ever given ``executable_path``: it never downloads a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Route,
    WebSocketRoute,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from scraper.render.procs import Proc, chromium_below, descendants, rss_of

LOG = logging.getLogger(__name__)
CLOSE_S = 5.0  # a context that does not close in this time gets its browser killed
LAUNCH_S = 30.0
SETTLE_S = 2.0  # after "load": wait this long at most for the page's requests to end
QUIET_S = 0.25  # ... and for this long with none in flight (every request is routed here)
V8_HEAP_MB = 384  # per renderer: a page allocating in a loop crashes its tab, not the box

# Chromium must not connect anywhere on its own: requests are answered through the route;
# anything else (preconnect, prefetch, WebRTC) would go to this proxy, whose name does not
# resolve, loopback included (<-loopback> takes loopback off the default bypass list).
LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=MediaRouter,OptimizationHints,Translate",
    "--dns-prefetch-disable",
    "--proxy-server=http://render-proxy.invalid:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    f"--js-flags=--max-old-space-size={V8_HEAP_MB}",
)


# Run in every frame before the page's scripts: a page gets no new windows (each would be a
# new target for the browser to start, 50 of them take seconds); any that slips through is
# closed as it opens and its requests are refused.
NO_WINDOWS = "window.open = function () { return null; };"


class RenderFailed(Exception):
    """A page that could not be rendered; the message says why, naming the URL."""


@dataclass(frozen=True)
class Document:
    """The page as the plain fetcher received it: the browser is given these bytes."""

    url: str
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class PageRequest:
    """One request the page's browser wants to make."""

    url: str
    method: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    resource_type: str  # document, script, xhr, fetch, image, font, media, stylesheet, ...
    navigation: bool  # a frame navigates (the page itself, an iframe, a popup)
    time_left: float = 0.0  # seconds before the page's deadline


@dataclass(frozen=True)
class Answer:
    """What the page gets for one request: a response, or ``refused`` (with why)."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    refused: str | None = None


Requests = Callable[[PageRequest], Awaitable[Answer]]


@dataclass(frozen=True)
class Rendered:
    html: str  # the DOM once the page settled, serialised
    requests: int  # requests the page made (answered or refused)
    refused: tuple[str, ...]  # why each refused request was refused
    popups: int = 0  # windows the page opened (each closed at once)


@dataclass
class _Instance:
    browser: Browser
    root: int | None  # pid of the browser process (its process group: every Chromium child)
    served: int = 0
    active: int = 0
    retired: bool = False


@dataclass
class _PageLog:
    requests: int = 0
    refused: list[str] = field(default_factory=list)
    popups: int = 0
    in_flight: int = 0
    closing: set[asyncio.Future[None]] = field(default_factory=set)


class Engine:
    """One Chromium for the daemon, started on the first page and restarted as needed."""

    def __init__(
        self,
        executable: str,
        *,
        pages: int = 2,
        restart_after: int = 200,
        max_rss: int = 1024**3,
        user_agent: str | None = None,
    ) -> None:
        self.executable = executable
        self.restart_after = restart_after
        self.max_rss = max_rss
        self.user_agent = user_agent
        self._pages = asyncio.Semaphore(pages)
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._current: _Instance | None = None
        self._all: list[_Instance] = []
        self.launches = 0
        self.closed = False

    async def render(self, document: Document, answer: Requests, deadline: float) -> Rendered:
        """Render ``document`` in a fresh context; every request goes to ``answer``.

        Raises :class:`RenderFailed` (deadline, crash, browser gone); never hangs past
        ``deadline`` plus the few seconds a stuck browser takes to be killed.
        """
        async with self._pages:
            # Starting the browser has its own limit: the page's deadline starts with the page.
            try:
                async with asyncio.timeout(LAUNCH_S + CLOSE_S):
                    instance = await self._instance()
            except TimeoutError:
                raise RenderFailed(
                    f"the browser {self.executable} did not start within {LAUNCH_S:g}s "
                    f"(rendering {document.url})"
                ) from None
            end = asyncio.get_running_loop().time() + deadline
            instance.active += 1
            try:
                return await self._render(instance, document, answer, deadline, end)
            finally:
                instance.active -= 1
                instance.served += 1
                if instance.served >= self.restart_after:
                    instance.retired = True
                if instance.retired and instance.active == 0:
                    await self._close_instance(instance)

    async def _render(
        self, instance: _Instance, document: Document, answer: Requests, deadline: float,
        end: float,
    ) -> Rendered:  # fmt: skip
        log = _PageLog()
        context: BrowserContext | None = None
        try:
            async with asyncio.timeout_at(end):
                context = await instance.browser.new_context(
                    user_agent=self.user_agent,
                    service_workers="block",
                    accept_downloads=False,
                    viewport={"width": 1280, "height": 900},
                )
                context.set_default_timeout(deadline * 1000)
                await context.add_init_script(NO_WINDOWS)
                page_holder: list[Page] = []
                await context.route("**/*", _router(document, answer, log, page_holder, end))
                await context.route_web_socket(re.compile(".*"), _refuse_socket(log))
                context.on("page", _popup_closer(page_holder, log))
                page = await context.new_page()
                page_holder.append(page)
                await page.goto(document.url, wait_until="load")
                with contextlib.suppress(PlaywrightError):  # lazy paragraphs
                    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                await _settle(log, end)
                html = await page.content()
                return Rendered(html, log.requests, tuple(log.refused), log.popups)
        except TimeoutError:
            raise RenderFailed(
                f"render deadline of {deadline:g}s exceeded at {document.url} "
                f"({log.requests} requests made)"
            ) from None
        except PlaywrightError as exc:
            if "Timeout" in type(exc).__name__:
                raise RenderFailed(
                    f"render deadline of {deadline:g}s exceeded at {document.url}"
                ) from None
            first = (exc.message or str(exc)).strip().splitlines()[0]
            raise RenderFailed(f"rendering {document.url} failed: {first}") from None
        finally:
            if context is not None:
                await self._close_context(instance, context)

    async def _close_context(self, instance: _Instance, context: BrowserContext) -> None:
        try:
            async with asyncio.timeout(CLOSE_S):
                await context.close()
        except (TimeoutError, PlaywrightError) as exc:
            LOG.warning("the browser did not close a page (%s): killing it", exc or "timeout")
            instance.retired = True
            self._kill(instance)

    async def _instance(self) -> _Instance:
        async with self._lock:
            current = self._current
            if current is not None and not current.retired and current.browser.is_connected():
                if current.root is not None and self.max_rss:
                    rss = rss_of(self._processes(current))
                    if rss > self.max_rss:
                        LOG.info(
                            "restarting the browser: its processes use %d MiB (limit %d MiB)",
                            rss // 1024**2,
                            self.max_rss // 1024**2,
                        )
                        current.retired = True
                if not current.retired:
                    return current
            if current is not None:
                current.retired = True
                if current.active == 0:
                    await self._close_instance(current)
            self._current = await self._launch()
            return self._current

    async def _launch(self) -> _Instance:
        if self.closed:
            raise RenderFailed("the rendering engine is closed")
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        before = {p.pid for p in chromium_below(os.getpid())}
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=self.executable,
                headless=True,
                args=list(LAUNCH_ARGS),
                timeout=LAUNCH_S * 1000,
            )
        except PlaywrightError as exc:
            first = (exc.message or str(exc)).strip().splitlines()[0]
            raise RenderFailed(f"cannot start the browser {self.executable}: {first}") from None
        self.launches += 1
        fresh = [p for p in chromium_below(os.getpid()) if p.pid not in before]
        pids = {p.pid for p in fresh}
        roots = [p.pid for p in fresh if p.ppid not in pids]
        instance = _Instance(browser, roots[0] if roots else None)
        self._all.append(instance)
        return instance

    def _processes(self, instance: _Instance) -> list[Proc]:
        if instance.root is None:
            return []
        return [p for p in chromium_below(os.getpid()) if p.pid == instance.root] + descendants(
            instance.root
        )

    async def _close_instance(self, instance: _Instance) -> None:
        if instance in self._all:
            self._all.remove(instance)
        if self._current is instance:
            self._current = None
        try:
            async with asyncio.timeout(CLOSE_S):
                await instance.browser.close()
        except (TimeoutError, PlaywrightError):
            pass
        self._kill(instance)

    def _kill(self, instance: _Instance) -> None:
        """SIGKILL the browser's process group (Playwright starts it as a group leader)."""
        if instance.root is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(instance.root, signal.SIGKILL)

    def processes(self) -> list[Proc]:
        """Every Chromium process this engine runs now (for the memory cap and tests)."""
        found: list[Proc] = []
        for instance in self._all:
            found.extend(self._processes(instance))
        return found

    async def aclose(self) -> None:
        """Close every browser and the Playwright driver; nothing is left running."""
        self.closed = True
        async with self._lock:
            for instance in list(self._all):
                await self._close_instance(instance)
            if self._playwright is not None:
                with contextlib.suppress(Exception):
                    await self._playwright.stop()
                self._playwright = None


def _router(
    document: Document, answer: Requests, log: _PageLog, page_holder: list[Page], end: float
) -> Callable[[Route, Request], Awaitable[None]]:
    served_document = False

    async def route(route: Route, request: Request) -> None:
        log.requests += 1
        log.in_flight += 1
        try:
            await _route(route, request)
        finally:
            log.in_flight -= 1

    async def _route(route: Route, request: Request) -> None:
        nonlocal served_document
        try:
            main_frame = bool(page_holder) and request.frame == page_holder[0].main_frame
        except PlaywrightError:
            main_frame = False
        navigation = request.is_navigation_request()
        try:
            own_page = bool(page_holder) and request.frame.page is page_holder[0]
        except PlaywrightError:
            own_page = False
        try:
            if not own_page:
                log.refused.append(f"a popup's request for {request.url} refused")
                await route.abort("blockedbyclient")
                return
            if navigation and main_frame:
                if not served_document and request.url == document.url:
                    served_document = True
                    await route.fulfill(
                        status=document.status,
                        headers={"content-type": document.content_type},
                        body=document.body,
                    )
                    return
                log.refused.append(f"the page tried to navigate away to {request.url}")
                await route.abort("blockedbyclient")
                return
            left = end - asyncio.get_running_loop().time()
            got = await _ask(answer, request, navigation, left)
            if got.refused is not None:
                log.refused.append(got.refused)
                await route.abort("blockedbyclient")
                return
            await route.fulfill(status=got.status, headers=_header_dict(got.headers), body=got.body)
        except PlaywrightError:
            pass  # the page is gone (closed at its deadline): nothing to answer

    return route


async def _ask(answer: Requests, request: Request, navigation: bool, left: float) -> Answer:
    try:
        headers = tuple(request.headers.items())
        return await answer(
            PageRequest(
                url=request.url,
                method=request.method,
                headers=headers,
                body=request.post_data_buffer,
                resource_type=request.resource_type,
                navigation=navigation,
                time_left=left,
            )
        )
    except Exception as exc:  # a fault in answering must cost the request, not the page
        return Answer(refused=f"{request.url}: {type(exc).__name__}: {exc}")


async def _settle(log: _PageLog, end: float) -> None:
    """Once loaded, wait for the page's requests to end (the fetch() that brings the story),
    at most SETTLE_S and never past half the time left before the deadline."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    until = min(now + SETTLE_S, now + max(end - now, 0.0) * 0.5)
    quiet = 0.0
    step = 0.05
    while loop.time() < until and quiet < QUIET_S:
        await asyncio.sleep(step)
        quiet = quiet + step if log.in_flight == 0 else 0.0


def _header_dict(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}\n{value}" if key in merged else value
    return merged


def _refuse_socket(log: _PageLog) -> Callable[[WebSocketRoute], Awaitable[None]]:
    async def refuse(socket: WebSocketRoute) -> None:
        log.requests += 1
        log.refused.append(f"WebSocket {socket.url} refused: rendered pages get no sockets")
        with contextlib.suppress(PlaywrightError):
            await socket.close(code=1008, reason="refused")

    return refuse


def _popup_closer(page_holder: list[Page], log: _PageLog) -> Callable[[Page], Any]:
    """Popups (window.open) are closed as they open: only the page itself is rendered."""

    def on_page(page: Page) -> None:
        if page_holder and page is not page_holder[0]:
            log.popups += 1
            task = asyncio.ensure_future(_close_quietly(page))
            log.closing.add(task)
            task.add_done_callback(log.closing.discard)

    return on_page


async def _close_quietly(page: Page) -> None:
    with contextlib.suppress(PlaywrightError):
        await page.close()
