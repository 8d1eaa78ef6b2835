"""Fetch one URL politely and defensively; every fault becomes a :class:`Fetch` value.

This is the only module that imports httpx (and its transport, httpcore). What it does:

- One shared ``httpx.AsyncClient``; redirects followed here, each hop checked for
  scheme, address (SSRF, see :mod:`scraper.netguard`) and robots.txt; at most
  ``MAX_REDIRECTS`` hops, loops detected; secret headers only to the source's host.
- Connections go through a network backend that resolves the host once, checks
  every address and connects to a checked one, so DNS rebinding cannot slip past.
- Per-host politeness (:mod:`scraper.politeness`): one request in flight, a gap,
  ``Crawl-delay``, ``Retry-After`` holds on the whole host.
- A total deadline per fetch (httpx's read timeout is per read), which starts when
  the host's slot is granted: waiting in line for a polite turn is not the server's fault.
- The body streamed with a cap on decoded bytes, enforced while decompressing
  (gzip, deflate, br are decoded here with bounded output; only those are advertised).
- Retries on 408, 429, 5xx and transport errors with exponential backoff and jitter.

Outcomes decided here: ``None`` for a usable 2xx body, NOT_MODIFIED (304 to a
conditional request), GONE (404/410), REJECTED (robots.txt rules, address policy,
scheme: we refused to fetch), FAILED (everything else, including a robots.txt that
could not be read, and a 2xx whose content is not
what was expected, e.g. a PDF where an article was expected: recorded with type,
size and SHA-256, body dropped).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urldefrag, urljoin, urlsplit

import brotli
import httpcore
import httpx

from archive.compress import CorruptStream, decompress_bounded
from contract.clock import Clock, iso
from contract.model import Fetch, Outcome
from scraper.config import FetchSettings, Source
from scraper.markup import body_looks_like_html
from scraper.netguard import (
    AddressPolicy,
    AddressRefused,
    Resolver,
    SystemResolver,
    check_scheme,
    literal_address,
)
from scraper.politeness import HostHeld, HostSlots
from scraper.robots import MAX_ROBOTS_BYTES, RobotsAnswer, RobotsCache
from scraper.secrets import SecretError, SecretStore, mask_headers

MAX_REDIRECTS = 10
MAX_RETRY_AFTER_S = 6 * 3600.0
BACKOFF_BASE_S = 0.5
DECODE_CHUNK = 64 * 1024  # decompressed output is produced at most this much at a time
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # only what we decode with bounded output
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
NON_FEED_MAJOR_TYPES = frozenset({"image", "audio", "video", "font", "model"})
NON_FEED_TYPES = frozenset({"application/pdf", "application/zip", "application/octet-stream"})

Expect = Literal["article", "feed", "any"]
HostHoldCallback = Callable[[str, datetime, str], None]


@dataclass(frozen=True)
class Validators:
    """What the last successful fetch of a URL said about its version."""

    etag: str | None
    last_modified: str | None


class _Failure(Exception):
    """Ends a fetch with an outcome and a sentence for the user.

    ``cause`` is the same in a few words ("connection refused"), for a message that
    already names the URL, such as a page's "robots.txt unreachable: ..." line.
    """

    def __init__(
        self, outcome: Outcome, error: str, status: int | None = None, *, cause: str | None = None
    ) -> None:
        super().__init__(error)
        self.outcome = outcome
        self.error = error
        self.status = status
        self.cause = cause or error


@dataclass
class _Run:
    """One fetch in progress: what the deadline message and the retries need to know."""

    url: str
    timeout: asyncio.Timeout
    deadline: float
    deadline_at: float | None = None
    received: int = 0  # raw bytes read from the network over all attempts

    def start_deadline(self) -> None:
        if self.deadline_at is None:
            self.deadline_at = asyncio.get_running_loop().time() + self.deadline
            self.timeout.reschedule(self.deadline_at)

    def remaining(self) -> float:
        if self.deadline_at is None:
            return self.deadline
        return max(self.deadline_at - asyncio.get_running_loop().time(), 0.0)


@dataclass(frozen=True)
class _Exchange:
    url: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve once, check every address, connect to a checked address."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = literal_address(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await asyncio.wait_for(self.resolver.resolve(host, port), timeout)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout}s") from exc
        # Raises AddressRefused before any socket is opened.
        allowed = self.policy.check(host, addresses, port)
        failure: Exception | None = None
        for address in allowed:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(f"unix socket {path} refused")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


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
    ) -> None:
        """``one_off``: fetches a person asked for one by one (``scraper extract``), not a
        crawl. robots.txt rules still apply, but a robots.txt that cannot be read does not
        stop the page: its own answer (or failure) is what the person wants to see."""
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
        self.client = self._client(resolver or SystemResolver())

    def _client(self, resolver: Resolver) -> httpx.AsyncClient:
        s = self.settings
        limits = httpx.Limits(
            max_connections=max(s.concurrency * 2, 10),
            max_keepalive_connections=max(s.concurrency * 2, 10),
            keepalive_expiry=30.0,
        )
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        # httpx 0.28 has no parameter for the network backend; its pool takes one. Swapping
        # the pool keeps httpx's request and error mapping while every connection is checked.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(self.policy, resolver),
        )
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

    def secrets(self) -> SecretStore:
        if self._secrets is None:
            self._secrets = SecretStore.from_settings(self.settings)
        return self._secrets

    async def fetch(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        source: Source | None = None,
        expect: Expect = "article",
    ) -> Fetch:
        """Fetch ``url``; never raises for anything the network or the server does.

        After :meth:`stop` it raises :class:`asyncio.CancelledError` instead of fetching.
        """
        if self.stopping:
            raise asyncio.CancelledError("the daemon is stopping")
        task = asyncio.current_task()
        assert task is not None
        self._queued.add(task)
        try:
            return await self._fetch(url, validators, source, expect)
        finally:
            self._queued.discard(task)

    async def _fetch(
        self, url: str, validators: Validators | None, source: Source | None, expect: Expect
    ) -> Fetch:
        started = self.clock.now()
        began = self.clock.monotonic()
        use_robots = self.settings.robots and (source is None or source.robots)
        result = await self._guarded(
            url,
            lambda run: self._follow(
                run,
                validators=validators,
                source=source,
                expect=expect,
                use_robots=use_robots,
                limit=self.settings.max_bytes,
                truncate=False,
            ),
        )
        elapsed_ms = int((self.clock.monotonic() - began) * 1000)
        secret_names = self._secret_names(source)
        return Fetch(
            url=url,
            started_at=iso(started),
            outcome_hint=result.outcome_hint,
            final_url=result.final_url,
            status=result.status,
            error=result.error,
            elapsed_ms=elapsed_ms,
            content_type=result.content_type,
            headers=mask_headers(result.headers, secret_names),
            body=result.body,
            etag=result.etag,
            last_modified=result.last_modified,
            source=source.name if source else None,
        )

    def _secret_names(self, source: Source | None) -> frozenset[str]:
        try:
            return self.secrets().names_for(source)
        except SecretError:
            return SecretStore().names_for(source)

    async def _guarded(
        self, url: str, work: Callable[[_Run], Any], *, brief: bool = False
    ) -> Fetch:
        """Run ``work`` under the total deadline and turn every fault into a Fetch.

        ``brief``: the error is the short cause alone (for robots.txt, whose failure
        is reported on the page that needed it).
        """
        started_at = iso(self.clock.now())
        run: _Run | None = None
        try:
            async with asyncio.timeout(None) as timeout:
                run = _Run(url=url, timeout=timeout, deadline=self.settings.deadline)
                result: Fetch = await work(run)
                return result
        except TimeoutError:
            assert run is not None
            deadline = f"deadline of {self.settings.deadline:g}s exceeded"
            return Fetch(
                url,
                started_at,
                Outcome.FAILED,
                error=deadline
                if brief
                else f"{deadline} after {run.received} bytes fetching {run.url}",
            )
        except _Failure as failure:
            error = failure.cause if brief else failure.error
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

    async def _follow(
        self,
        run: _Run,
        *,
        validators: Validators | None,
        source: Source | None,
        expect: Expect,
        use_robots: bool,
        limit: int,
        truncate: bool,
        max_redirects: int = MAX_REDIRECTS,
    ) -> Fetch:
        """Follow redirects by hand; each hop checked for scheme, address and robots.txt."""
        start_url = run.url
        check_scheme(start_url)
        seen = {urldefrag(start_url)[0]}
        hop_url = start_url
        secrets = self.secrets().headers_for(source) if source is not None else ()
        source_origin = origin(source.url) if source is not None else None
        for _hop in range(max_redirects + 1):
            run.url = hop_url
            if use_robots:
                await self._check_robots(hop_url)
            headers = self._request_headers(validators)
            if secrets and origin(hop_url) == source_origin:
                headers.extend(secrets)  # never to another origin, e.g. after a redirect
            exchange = await self._with_retries(run, hop_url, headers, limit, truncate)
            if exchange.status in (301, 302, 303, 307, 308):
                location = exchange.header("location")
                if not location:
                    raise _Failure(
                        Outcome.FAILED,
                        f"HTTP {exchange.status} redirect without a Location from {hop_url}",
                        exchange.status,
                    )
                target = urljoin(hop_url, location.strip())
                try:
                    check_scheme(target)
                except AddressRefused as exc:
                    raise _Failure(
                        Outcome.REJECTED, f"redirect from {hop_url}: {exc}", exchange.status
                    ) from None
                key = urldefrag(target)[0]
                if key in seen:
                    raise _Failure(
                        Outcome.FAILED,
                        f"redirect loop: {hop_url} leads back to {target}",
                        exchange.status,
                    )
                seen.add(key)
                hop_url = target
                continue
            return self._finish(start_url, exchange, validators, expect)
        raise _Failure(
            Outcome.FAILED, f"too many redirects (>{max_redirects}) starting at {start_url}"
        )

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
            raise _Failure(Outcome.FAILED, reason)
        raise _Failure(Outcome.REJECTED, reason)

    async def _with_retries(
        self, run: _Run, url: str, headers: list[tuple[str, str]], limit: int, truncate: bool
    ) -> _Exchange:
        attempts = 0
        while True:
            attempts += 1
            last_try = attempts > self.settings.max_retries
            try:
                exchange = await self._exchange(run, url, headers, limit, truncate)
            except HostHeld as exc:
                message = f"{url} not fetched: {exc}"
                raise _Failure(Outcome.FAILED, message, cause=str(exc)) from None
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.UnsupportedProtocol):
                    raise _Failure(Outcome.REJECTED, f"{url}: {exc}") from None
                if last_try:
                    raise _Failure(
                        Outcome.FAILED, _describe(exc, url, run, attempts), cause=_cause(exc)
                    ) from None
                await self._backoff(attempts, run)
                continue
            if exchange.status != 408 and exchange.status != 429 and exchange.status < 500:
                return exchange
            held = self._apply_retry_after(url, exchange)
            if last_try or (held is not None and held > run.remaining()):
                tried = f" after {attempts} attempts" if attempts > 1 else ""
                wait = f"; Retry-After holds the host for {held:g}s" if held else ""
                raise _Failure(
                    Outcome.FAILED,
                    f"HTTP {exchange.status} {exchange.reason} from {url}{tried}{wait}".replace(
                        "  ", " "
                    ),
                    exchange.status,
                    cause=f"HTTP {exchange.status}",
                )
            if held is None:
                await self._backoff(attempts, run)
            # With a hold, the host slot itself waits until the hold ends.

    def _apply_retry_after(self, url: str, exchange: _Exchange) -> float | None:
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

    async def _backoff(self, attempt: int, run: _Run) -> None:
        delay = self.backoff_base * (2 ** (attempt - 1)) * (1.0 + self.rng.random())
        await asyncio.sleep(min(delay, run.remaining()))

    async def _exchange(
        self, run: _Run, url: str, headers: list[tuple[str, str]], limit: int, truncate: bool
    ) -> _Exchange:
        """One request in the host's slot; the body is read only for a 2xx answer."""
        host = urlsplit(url).hostname or ""
        async with self.slots.slot(host, max_wait=run.remaining()):
            run.start_deadline()
            async with self._in_flight, self._on_the_wire():
                request = self.client.build_request("GET", url, headers=headers)
                # Straight to the transport: the client would parse Location (and raise on a
                # malformed one) and keep a cookie jar across sites, neither of which we want.
                response = await self._transport.handle_async_request(request)
                response.request = request
                try:
                    body = None
                    if 200 <= response.status_code < 300:
                        body = await _read_body(response, limit, truncate, run)
                    return _Exchange(
                        url=url,
                        status=response.status_code,
                        reason=response.reason_phrase,
                        headers=tuple(response.headers.multi_items()),
                        body=body,
                    )
                finally:
                    await response.aclose()

    def _finish(
        self, url: str, exchange: _Exchange, validators: Validators | None, expect: Expect
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
            return Fetch(
                url=base.url,
                started_at=base.started_at,
                outcome_hint=outcome,
                final_url=base.final_url,
                status=status,
                error=error,
                content_type=content_type,
                headers=base.headers,
                body=body,
                etag=base.etag,
                last_modified=base.last_modified,
            )

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

    async def _fetch_robots(self, url: str) -> RobotsAnswer:
        """robots.txt of an origin: same limits and checks as a page, 512 KiB read at most."""
        result = await self._guarded(
            url,
            lambda run: self._follow(
                run,
                validators=None,
                source=None,
                expect="any",
                use_robots=False,
                limit=MAX_ROBOTS_BYTES,
                truncate=True,
                max_redirects=5,
            ),
            brief=True,
        )
        refused = result.outcome_hint == Outcome.REJECTED
        if result.status is not None and not refused:
            return RobotsAnswer(result.status, result.body)
        return RobotsAnswer(None, None, result.error, refused=refused)


def retry_after_seconds(value: str, now: datetime) -> float | None:
    """``Retry-After`` in seconds (either form), capped at six hours; None if unreadable."""
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = (moment - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: secrets go only where the source itself lives."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def content_problem(content_type: str | None, body: bytes, expect: Expect) -> str | None:
    """Why a 2xx body is not what the caller expected, or None when it is fine."""
    kind = media_type(content_type)
    if expect == "any":
        return None
    if expect == "article":
        if kind in HTML_TYPES:
            return None
        if kind is None:
            if body_looks_like_html(body):
                return None
            return "missing content type and the body does not look like HTML"
        return f"non-HTML content {kind} where an article was expected"
    if kind is not None and (kind in NON_FEED_TYPES or kind.split("/")[0] in NON_FEED_MAJOR_TYPES):
        return f"content {kind} where a feed was expected"
    return None


def _describe(exc: httpx.TransportError, url: str, run: _Run, attempts: int) -> str:
    host = urlsplit(url).hostname or url
    tried = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect to {host} within the connect timeout fetching {url}{tried}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} fetching {url}: {_cause(exc)}{tried}"
    if isinstance(exc, httpx.ReadTimeout):
        return (
            f"read timeout: {host} sent nothing for too long after {run.received} bytes "
            f"fetching {url}{tried}"
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return (
            f"broken or incomplete response from {host} after {run.received} bytes "
            f"fetching {url}: {exc}{tried}"
        )
    if isinstance(exc, httpx.ReadError):
        return f"connection to {host} broke after {run.received} bytes fetching {url}: {exc}{tried}"
    return f"{type(exc).__name__} fetching {url}: {exc}{tried}"


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
    if text.startswith("cannot resolve "):  # from _GuardedBackend: "cannot resolve HOST: why"
        return text.split(":", 1)[0]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the OS's own word for it
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno and current.errno > 0:
            return os.strerror(current.errno).lower()
        current = current.__cause__ or current.__context__
    return text or type(exc).__name__


class _Decoder:
    """Undo one content-encoding, producing output in bounded pieces."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self._zlib: Any = None
        self._brotli: Any = None
        self._raw_deflate_tried = False
        self._zstd: list[bytes] | None = None
        self._zstd_bytes = 0
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif encoding == "br":
            self._brotli = brotli.Decompressor()
        elif encoding == "zstd":
            self._zstd = []  # gathered, then decoded in bounded pieces by finish()
        elif encoding not in ("identity", ""):
            raise _Failure(Outcome.FAILED, f"unsupported content-encoding {encoding}")

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            if self._zlib is not None:
                yield from self._feed_zlib(data)
            elif self._brotli is not None:
                yield from self._feed_brotli(data)
            elif self._zstd is not None:
                self._gather_zstd(data)
            else:
                yield data
        except (zlib.error, brotli.error) as exc:
            raise _Failure(Outcome.FAILED, f"corrupt {self.encoding} body: {exc}") from None

    def _gather_zstd(self, data: bytes) -> None:
        assert self._zstd is not None
        self._zstd_bytes += len(data)
        if self._zstd_bytes > self.limit:
            raise _Failure(
                Outcome.FAILED, f"zstd body larger than {self.limit} bytes even compressed"
            )
        self._zstd.append(data)

    def finish(self, url: object) -> Iterator[bytes]:
        """What is left once the body has arrived: all of a zstd body, in bounded form."""
        if self._zstd is None:
            return
        try:
            body, complete = decompress_bounded(b"".join(self._zstd), self.limit)
        except CorruptStream as exc:
            raise _Failure(Outcome.FAILED, f"corrupt zstd body: {exc}") from None
        if not complete and len(body) <= self.limit:
            raise _Failure(Outcome.FAILED, f"zstd body from {url} is cut short")
        yield body

    def check_complete(self, url: object) -> None:
        """A compressed body must end where its format says; a cut one is not a page."""
        finished = True
        if self._zlib is not None:
            finished = bool(self._zlib.eof)
        elif self._brotli is not None:
            finished = bool(self._brotli.is_finished())
        if not finished:
            raise _Failure(Outcome.FAILED, f"{self.encoding} body from {url} is cut short")

    def _feed_zlib(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending:
            try:
                out = self._zlib.decompress(pending, DECODE_CHUNK)
            except zlib.error:
                # "deflate" is often raw deflate without the zlib header.
                if self.encoding != "deflate" or self._raw_deflate_tried:
                    raise
                self._raw_deflate_tried = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_deflate_tried = True
            if out:
                yield out
            pending = self._zlib.unconsumed_tail
            if self._zlib.eof:
                rest = self._zlib.unused_data
                if rest and self.encoding != "deflate":
                    self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
                    pending = rest
                else:
                    return

    def _feed_brotli(self, data: bytes) -> Iterator[bytes]:
        out = self._brotli.process(data, output_buffer_limit=DECODE_CHUNK)
        if out:
            yield out
        while not self._brotli.can_accept_more_data():
            out = self._brotli.process(b"", output_buffer_limit=DECODE_CHUNK)
            if not out:
                return
            yield out


async def _read_body(response: httpx.Response, limit: int, truncate: bool, run: _Run) -> bytes:
    """Stream the body, undoing its content-encoding, never holding more than ``limit`` bytes."""
    encodings = [
        e.strip().lower()
        for e in response.headers.get("content-encoding", "").split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    if len(encodings) > 1:
        raise _Failure(
            Outcome.FAILED,
            f"unsupported stacked content-encoding {', '.join(encodings)} from {response.url}",
        )
    encoding = encodings[0] if encodings else ""
    decoder = _Decoder(encoding, limit)
    chunks: list[bytes] = []
    total = 0

    def keep(piece: bytes) -> bool:
        """Keep a decoded piece; False once the cap is reached and the rest is dropped."""
        nonlocal total
        total += len(piece)
        if total <= limit:
            chunks.append(piece)
            return True
        if truncate:
            chunks.append(piece[: len(piece) - (total - limit)])
            return False
        after = f" after {encoding} decoding" if encoding else ""
        raise _Failure(
            Outcome.FAILED,
            f"body larger than {limit} bytes{after} at {response.url}",
            response.status_code,
        )

    async for raw in response.aiter_raw():
        run.received += len(raw)
        for piece in decoder.feed(raw):
            if not keep(piece):
                return b"".join(chunks)
    for piece in decoder.finish(response.url):
        if not keep(piece):
            return b"".join(chunks)
    decoder.check_complete(response.url)
    return b"".join(chunks)
