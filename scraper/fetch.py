"""Fetch one URL politely and defensively; every fault becomes a :class:`Fetch` value.

The client: one shared ``httpx.AsyncClient`` over the guarded transport
(:mod:`scraper.connect`), per-host politeness (:mod:`scraper.politeness`: one request in
flight, a gap, ``Crawl-delay``, ``Retry-After`` holds on the whole host), robots.txt on
every hop, secret headers only to the source's origin, and a total deadline per fetch
(httpx's read timeout is per read), which starts when the host's slot is granted:
waiting in line for a polite turn is not the server's fault. Its parts, by job:

- :mod:`scraper.connect`: connections resolved once, every address checked (SSRF, DNS
  rebinding), see :mod:`scraper.netguard`;
- :mod:`scraper.redirects`: redirects followed by hand (each hop checked, loops found)
  and retries on 408, 429, 5xx and transport errors with backoff and jitter;
- :mod:`scraper.contentcoding`: the body streamed with a cap on decoded bytes,
  enforced while decompressing, and whether it is what was expected.

Outcomes decided here: ``None`` for a usable 2xx body, NOT_MODIFIED (304 to a
conditional request), GONE (404/410), REJECTED (robots.txt rules, address policy,
scheme: we refused to fetch), FAILED (everything else, including a robots.txt that
could not be read, and a 2xx whose content is not
what was expected, e.g. a PDF where an article was expected: recorded with type,
size and SHA-256, body dropped).

A ``transport=`` (``httpx.MockTransport``) replaces the network, for tests of the
decisions alone; the address guard is then the transport's business.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack
from urllib.parse import urlsplit

import httpx

from contract.clock import Clock, iso
from contract.model import Fetch, Outcome
from scraper.config import FetchSettings, Source
from scraper.connect import GuardedTransport
from scraper.contentcoding import ACCEPT_ENCODING, Expect, content_problem, read_body
from scraper.netguard import (
    AddressPolicy,
    AddressRefused,
    Resolver,
    SystemResolver,
    check_scheme,
)
from scraper.politeness import HostHeld, HostSlots
from scraper.redirects import (
    BACKOFF_BASE_S,
    MAX_REDIRECTS,
    backoff_delay,
    follow,
    origin,
    retry_after_seconds,
    with_retries,
)
from scraper.robots import MAX_ROBOTS_BYTES, RobotsAnswer, RobotsCache
from scraper.secrets import SecretError, SecretStore, mask_headers
from scraper.wire import Exchange, Failure, Run, TransportFault

HostHoldCallback = Callable[[str, datetime, str], None]


@dataclass(frozen=True)
class Validators:
    """What the last successful fetch of a URL said about its version."""

    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class Plan:
    """How one fetch is followed: what it sends, what it accepts, how far it goes."""

    limit: int  # decoded bytes read at most
    validators: Validators | None = None
    source: Source | None = None
    expect: Expect = "any"
    use_robots: bool = False
    truncate: bool = False  # keep the first ``limit`` bytes instead of failing
    max_redirects: int = MAX_REDIRECTS
    brief: bool = False  # the error is the short cause alone: robots.txt's failure is
    # reported on the page that needed it


# robots.txt of an origin: same limits and checks as a page, 512 KiB read at most.
ROBOTS_PLAN = Plan(limit=MAX_ROBOTS_BYTES, truncate=True, max_redirects=5, brief=True)


class FetchOptions(TypedDict, total=False):
    """What a caller may say about one fetch (every fetcher takes the same)."""

    validators: Validators | None  # the last version's ETag and Last-Modified
    source: Source | None  # whose robots.txt choice, secrets and origin apply
    expect: Expect  # what kind of body is usable; "article" when not said


class Fetcher:
    """Fetches URLs for the daemon; one instance shares the client, slots and robots cache."""

    def __init__(
        self,
        settings: FetchSettings,
        clock: Clock,
        *,
        trusted_hosts: Iterable[str] = (),
        trusted_origins: Iterable[str] = (),
        resolver: Resolver | None = None,
        host_holds: Mapping[str, datetime] | None = None,
        on_host_hold: HostHoldCallback | None = None,
        secrets: SecretStore | None = None,
        backoff_base: float = BACKOFF_BASE_S,
        rng: random.Random | None = None,
        one_off: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``one_off``: fetches a person asked for one by one (``scraper extract``), not a
        crawl. robots.txt rules still apply, but a robots.txt that cannot be read does not
        stop the page: its own answer (or failure) is what the person wants to see.

        ``transport``: instead of the network through the address guard (``resolver``
        then goes unused), e.g. an ``httpx.MockTransport`` for tests of decisions alone."""
        self.one_off = one_off
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.backoff_base = backoff_base
        self.on_host_hold = on_host_hold
        # The daemon trusts its sources' origins (scheme, host, port); trusted_hosts trust
        # every port of a name, as allow_hosts does.
        self.policy = AddressPolicy(
            trusted_hosts,
            settings.allow_networks,
            settings.allow_hosts,
            trusted_origins=trusted_origins,
        )
        self.slots = HostSlots(clock, settings.host_gap, holds=host_holds, rng=self.rng)
        self.robots = RobotsCache(clock, settings.user_agent, self._fetch_robots)
        self._secrets = secrets
        self._in_flight = asyncio.Semaphore(settings.concurrency)
        # Fetches waiting for their turn (robots, host slot, a free connection, a backoff):
        # at shutdown these are dropped at once, only requests on the wire get the grace.
        self._queued: set[asyncio.Task[Any]] = set()
        self._requests = 0  # requests on the wire
        self.stopping = False
        if transport is None:
            limits = httpx.Limits(
                max_connections=max(settings.concurrency * 2, 10),
                max_keepalive_connections=max(settings.concurrency * 2, 10),
                keepalive_expiry=30.0,
            )
            transport = GuardedTransport(self.policy, resolver or SystemResolver(), limits)
        self.client = self._client(transport)

    def _client(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
        s = self.settings
        timeout = httpx.Timeout(
            connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=None
        )
        self._transport = transport
        return httpx.AsyncClient(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def stop(self) -> int:
        """Send no more requests: cancel every fetch still waiting for its turn.

        Requests already on the wire go on (their tasks are not cancelled here); any
        later request of theirs is refused by cancellation too. Returns how many
        waiting fetches were cancelled.
        """
        self.stopping = True
        queued = [task for task in self._queued if not task.done()]
        for task in queued:
            task.cancel("the daemon is stopping")
        return len(queued)

    @property
    def requests_in_flight(self) -> int:
        return self._requests

    def reconfigure(self, trusted_origins: Iterable[str], secrets: SecretStore) -> None:
        """The sources changed (a reload): trust their origins, send their secret headers.

        A fetch already on the wire goes on; its later hops are judged by the new origins."""
        self.policy.trust_origins(trusted_origins)
        self._secrets = secrets

    def secrets(self) -> SecretStore:
        if self._secrets is None:
            self._secrets = SecretStore.from_settings(self.settings)
        return self._secrets

    async def fetch(self, url: str, **options: Unpack[FetchOptions]) -> Fetch:
        """Fetch ``url``; never raises for anything the network or the server does.

        After :meth:`stop` it raises :class:`asyncio.CancelledError` instead of fetching.
        """
        if self.stopping:
            raise asyncio.CancelledError("the daemon is stopping")
        task = asyncio.current_task()
        assert task is not None
        self._queued.add(task)
        try:
            return await self._fetch(
                url,
                options.get("validators"),
                options.get("source"),
                options.get("expect", "article"),
            )
        finally:
            self._queued.discard(task)

    async def _fetch(
        self, url: str, validators: Validators | None, source: Source | None, expect: Expect
    ) -> Fetch:
        started = self.clock.now()
        began = self.clock.monotonic()
        use_robots = self.settings.robots and (source is None or source.robots)
        plan = Plan(
            validators=validators,
            source=source,
            expect=expect,
            use_robots=use_robots,
            limit=self.settings.max_bytes,
        )
        result = await self._guarded(url, plan)
        elapsed_ms = int((self.clock.monotonic() - began) * 1000)
        secret_names = self._secret_names(source)
        return replace(
            result,
            url=url,
            started_at=iso(started),
            elapsed_ms=elapsed_ms,
            headers=mask_headers(result.headers, secret_names),
            source=source.name if source else None,
        )

    def _secret_names(self, source: Source | None) -> frozenset[str]:
        try:
            return self.secrets().names_for(source)
        except SecretError:
            return SecretStore().names_for(source)

    async def _guarded(self, url: str, plan: Plan) -> Fetch:
        """Follow ``url`` by ``plan`` under the total deadline; every fault becomes a Fetch."""
        started_at = iso(self.clock.now())
        run: Run | None = None
        try:
            async with asyncio.timeout(None) as timeout:
                run = Run(url=url, timeout=timeout, deadline=self.settings.deadline)
                return await self._follow(run, plan)
        except TimeoutError:
            assert run is not None
            deadline = f"deadline of {self.settings.deadline:g}s exceeded"
            return Fetch(
                url,
                started_at,
                Outcome.FAILED,
                error=deadline
                if plan.brief
                else f"{deadline} after {run.received} bytes fetching {run.url}",
            )
        except Failure as failure:
            error = failure.cause if plan.brief else failure.error
            return Fetch(url, started_at, failure.outcome, status=failure.status, error=error)
        except AddressRefused as exc:
            return Fetch(url, started_at, Outcome.REJECTED, error=str(exc))
        except HostHeld as exc:
            return Fetch(url, started_at, Outcome.FAILED, error=f"{url} not fetched: {exc}")
        except SecretError as exc:
            return Fetch(url, started_at, Outcome.FAILED, error=str(exc))
        except Exception as exc:  # a fault we did not foresee must cost one fetch, not the daemon
            return Fetch(
                url,
                started_at,
                Outcome.FAILED,
                error=f"unexpected {type(exc).__name__} fetching {url}: {exc}",
            )

    async def _follow(self, run: Run, plan: Plan) -> Fetch:
        """Follow redirects by hand; each hop checked for scheme, address and robots.txt."""
        start_url = run.url
        source, validators = plan.source, plan.validators
        secrets = self.secrets().headers_for(source) if source is not None else ()
        source_origin = origin(source.url) if source is not None else None

        async def hop(hop_url: str) -> Exchange:
            if plan.use_robots:
                await self._check_robots(hop_url)
            headers = self._request_headers(validators)
            if secrets and origin(hop_url) == source_origin:
                headers.extend(secrets)  # never to another origin, e.g. after a redirect
            return await with_retries(
                run,
                hop_url,
                lambda: self._exchange(run, hop_url, headers, plan),
                max_retries=self.settings.max_retries,
                backoff=lambda attempt: self._backoff(attempt, run),
                hold=lambda exchange: self._apply_retry_after(hop_url, exchange),
            )

        exchange = await follow(run, hop, plan.max_redirects)
        return self._finish(start_url, exchange, validators, plan.expect)

    def _request_headers(self, validators: Validators | None) -> list[tuple[str, str]]:
        headers = [
            ("User-Agent", self.settings.user_agent),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Encoding", ACCEPT_ENCODING),
        ]
        if validators is not None and validators.etag:
            headers.append(("If-None-Match", validators.etag))
        if validators is not None and validators.last_modified:
            headers.append(("If-Modified-Since", validators.last_modified))
        return headers

    async def _check_robots(self, url: str) -> None:
        verdict = await self.robots.check(url)
        host = urlsplit(url).hostname or ""
        if verdict.crawl_delay is not None:
            self.slots.set_crawl_delay(host, verdict.crawl_delay)
        if verdict.allowed or (verdict.unreachable and self.one_off and not verdict.refused):
            return
        reason = verdict.reason or f"robots.txt disallows {url}"
        if verdict.unreachable and not verdict.refused:
            # Nothing refused the page: the site could not be asked. A failure, retried later.
            raise Failure(Outcome.FAILED, reason)
        raise Failure(Outcome.REJECTED, reason)

    def _apply_retry_after(self, url: str, exchange: Exchange) -> float | None:
        value = exchange.header("retry-after")
        seconds = retry_after_seconds(value, self.clock.now()) if value else None
        if seconds is None:
            return None
        host = urlsplit(url).hostname or ""
        until = self.clock.now() + timedelta(seconds=seconds)
        self.slots.hold(host, until)
        if self.on_host_hold is not None:
            self.on_host_hold(host, until, f"HTTP {exchange.status} Retry-After: {value}")
        return seconds

    @asynccontextmanager
    async def _on_the_wire(self) -> AsyncIterator[None]:
        """A request is sent: its task is no longer queued (nor sent at all when stopping)."""
        if self.stopping:
            raise asyncio.CancelledError("the daemon is stopping")
        task = asyncio.current_task()
        assert task is not None
        queued = task in self._queued
        self._queued.discard(task)
        self._requests += 1
        try:
            yield
        finally:
            self._requests -= 1
            if queued:
                self._queued.add(task)  # waiting again: a retry, a redirect, robots

    async def _backoff(self, attempt: int, run: Run) -> None:
        delay = backoff_delay(self.backoff_base, attempt, self.rng)
        await asyncio.sleep(min(delay, run.remaining()))

    async def _exchange(
        self, run: Run, url: str, headers: list[tuple[str, str]], plan: Plan
    ) -> Exchange:
        """One request in the host's slot; the body is read only for a 2xx answer.

        A transport error, on the way or while the body arrives, is a TransportFault.
        """
        try:
            return await self._send(run, url, headers, plan)
        except httpx.UnsupportedProtocol as exc:
            raise TransportFault(f"{url}: {exc}", _cause(exc), refused=True) from None
        except httpx.TransportError as exc:
            raise TransportFault(_describe(exc, url, run), _cause(exc)) from None

    async def _send(
        self, run: Run, url: str, headers: list[tuple[str, str]], plan: Plan
    ) -> Exchange:
        host = urlsplit(url).hostname or ""
        # The host's turn first, then one of the ``concurrency`` requests: waiting for
        # either is not the server's fault, so the deadline starts after both.
        slot = self.slots.slot(host, max_wait=run.remaining())
        async with slot, self._in_flight, self._on_the_wire():
            run.start_deadline()
            request = self.client.build_request("GET", url, headers=headers)
            # Straight to the transport: the client would parse Location (and raise on a
            # malformed one) and keep a cookie jar across sites, neither of which we want.
            response = await self._transport.handle_async_request(request)
            response.request = request
            try:
                body = None
                if 200 <= response.status_code < 300:
                    body = await read_body(
                        response.aiter_raw(),
                        response.headers.get("content-encoding", ""),
                        str(response.url),
                        response.status_code,
                        plan.limit,
                        plan.truncate,
                        run,
                    )
                return Exchange(
                    url=url,
                    status=response.status_code,
                    reason=response.reason_phrase,
                    headers=tuple(response.headers.multi_items()),
                    body=body,
                )
            finally:
                await response.aclose()

    def _finish(
        self, url: str, exchange: Exchange, validators: Validators | None, expect: Expect
    ) -> Fetch:
        status = exchange.status
        content_type = exchange.header("content-type")
        base = Fetch(
            url=url,
            started_at="",
            final_url=exchange.url,
            status=status,
            content_type=content_type,
            headers=exchange.headers,
            etag=exchange.header("etag"),
            last_modified=exchange.header("last-modified"),
        )

        def ending(outcome: Outcome | None, error: str | None, body: bytes | None = None) -> Fetch:
            return replace(base, outcome_hint=outcome, error=error, body=body)

        if status == 304:
            if validators is None or not (validators.etag or validators.last_modified):
                return ending(
                    Outcome.FAILED,
                    f"{exchange.url} answered 304 Not Modified to a request without validators",
                )
            return ending(Outcome.NOT_MODIFIED, None)
        if status in (404, 410):
            return ending(Outcome.GONE, f"HTTP {status} {exchange.reason} for {exchange.url}")
        if not 200 <= status < 300:
            return ending(Outcome.FAILED, f"HTTP {status} {exchange.reason} from {exchange.url}")
        body = exchange.body or b""
        problem = content_problem(content_type, body, expect)
        if problem is not None:
            digest = hashlib.sha256(body).hexdigest()
            return ending(
                Outcome.FAILED,
                f"{problem} (sha256 {digest}, {len(body)} bytes) at {exchange.url}",
            )
        return ending(None, None, body)

    async def subrequest(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        content: bytes | None,
        *,
        timeout: float,
    ) -> SubResponse:
        """One request of a page being rendered (a script, an XHR, a stylesheet).

        Through the same guarded connections as every fetch (scheme, address policy,
        checked on the address connected to), the body capped at ``max_bytes``. No host
        slot (the render holds its page's), no robots.txt (it applies to the page URL),
        no redirects followed (the browser follows them and each hop comes back here).
        Raises :class:`AddressRefused` or :class:`SubrequestFailed`.
        """
        check_scheme(url)
        if self.stopping:
            raise SubrequestFailed(f"{url}: the daemon is stopping")
        try:
            async with asyncio.timeout(timeout) as limit:
                run = Run(url=url, timeout=limit, deadline=timeout)
                request = self.client.build_request(
                    method, url, headers=list(headers), content=content
                )
                self._requests += 1
                try:
                    response = await self._transport.handle_async_request(request)
                    response.request = request
                    try:
                        body = await read_body(
                            response.aiter_raw(),
                            response.headers.get("content-encoding", ""),
                            url,
                            response.status_code,
                            self.settings.max_bytes,
                            False,
                            run,
                        )
                        kept = tuple(
                            (k, v)
                            for k, v in response.headers.multi_items()
                            if k.lower()
                            not in ("content-encoding", "content-length", "transfer-encoding")
                        )
                        return SubResponse(response.status_code, kept, body)
                    finally:
                        await response.aclose()
                finally:
                    self._requests -= 1
        except TimeoutError:
            raise SubrequestFailed(f"{url}: no answer within {timeout:g}s") from None
        except Failure as failure:
            raise SubrequestFailed(failure.error) from None
        except httpx.TransportError as exc:
            raise SubrequestFailed(f"{url}: {_cause(exc)}") from None

    async def _fetch_robots(self, url: str) -> RobotsAnswer:
        """robots.txt of an origin: same limits and checks as a page, 512 KiB read at most."""
        result = await self._guarded(url, ROBOTS_PLAN)
        refused = result.outcome_hint == Outcome.REJECTED
        if result.status is not None and not refused:
            return RobotsAnswer(result.status, result.body)
        return RobotsAnswer(None, None, result.error, refused=refused)


@dataclass(frozen=True)
class SubResponse:
    """The answer to one request a rendered page made (see :meth:`Fetcher.subrequest`)."""

    status: int
    headers: tuple[tuple[str, str], ...]  # without content-encoding: the body is decoded
    body: bytes


class SubrequestFailed(Exception):
    """A rendered page's request that got no answer; the message says why."""


def _describe(exc: httpx.TransportError, url: str, run: Run) -> str:
    """The error in a sentence naming host and URL; the caller adds how often it tried."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect to {host} within the connect timeout fetching {url}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} fetching {url}: {_cause(exc)}"
    if isinstance(exc, httpx.ReadTimeout):
        return (
            f"read timeout: {host} sent nothing for too long after {run.received} bytes "
            f"fetching {url}"
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return (
            f"broken or incomplete response from {host} after {run.received} bytes "
            f"fetching {url}: {exc}"
        )
    if isinstance(exc, httpx.ReadError):
        return f"connection to {host} broke after {run.received} bytes fetching {url}: {exc}"
    return f"{type(exc).__name__} fetching {url}: {exc}"


def _cause(exc: httpx.TransportError) -> str:
    """A transport error in a few words: "connection refused", "cannot resolve example.com"."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, httpx.TimeoutException):
        return "read timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "broken or incomplete response"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "connection broke"
    text = str(exc)
    if text.startswith("cannot resolve "):  # from GuardedBackend: "cannot resolve HOST: why"
        return text.split(":", 1)[0]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the OS's own word for it
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno and current.errno > 0:
            return os.strerror(current.errno).lower()
        current = current.__cause__ or current.__context__
    return text or type(exc).__name__
