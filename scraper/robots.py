"""robots.txt per RFC 9309, parsed by protego, fetched once per origin and cached.

- 2xx: the rules apply (at most ``MAX_ROBOTS_BYTES`` are read; the rest is ignored).
- 4xx (other than 429): no usable robots.txt, everything is allowed.
- 5xx, 429 or a network error: the site is "unreachable"; everything is disallowed
  and robots.txt is fetched again after ``retry_after_error`` seconds. The fetcher
  records such a page as failed (nothing refused it; the site could not be asked),
  with one short cause: ``robots.txt unreachable: connection refused``.

The cache keeps an answer ``ttl`` seconds (24 h at most, as the RFC asks), for at most
``max_origins`` origins (the least recently used beyond that are fetched again when next
needed). A parsed robots.txt costs far more memory than its text (protego compiles each
rule: ~6 KB for 20 rules, ~340 KB for 200), so each origin keeps its text compressed and
only the ``parsed`` most recently used origins keep their parser, the others are parsed
again from the text when next asked: 10,000 hosts do not hold 10,000 parsers.

This module does no I/O itself: the fetcher hands it a function that fetches a
robots.txt URL politely, with the same limits and address checks as any page.
"""

from __future__ import annotations

import asyncio
import itertools
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

from contract.clock import Clock

MAX_ROBOTS_BYTES = 512 * 1024
MAX_TTL_S = 24 * 3600.0
RETRY_AFTER_ERROR_S = 600.0
MAX_ORIGINS = 20_000  # origins whose answer is kept (text compressed: ~1 KB each)
PARSED_KEPT = 256  # origins whose robots.txt is kept parsed


@dataclass(frozen=True)
class RobotsAnswer:
    """What fetching a robots.txt gave: a status and body, or the network error."""

    status: int | None
    body: bytes | None = None
    error: str | None = None  # a short cause: "connection refused", "cannot resolve example.com"
    refused: bool = False  # our own address policy refused to fetch it


@dataclass(frozen=True)
class Verdict:
    """May a URL be fetched? ``unreachable`` when no robots.txt could be read (not a rule)."""

    allowed: bool
    reason: str | None = None
    crawl_delay: float | None = None
    unreachable: bool = False
    refused: bool = False


FetchRobots = Callable[[str], Awaitable[RobotsAnswer]]


@dataclass
class _Entry:
    expires: float  # monotonic
    rules: bytes | None = None  # the robots.txt, zlib-compressed; None with allow_all
    # False means "unreachable"
    allow_all: bool = False
    problem: str | None = None
    refused: bool = False


@dataclass
class _Origin:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    entry: _Entry | None = None


def product_token(user_agent: str) -> str:
    """The name robots.txt groups match against: ``newsarchive/0.1 (...)`` -> ``newsarchive``."""
    first = user_agent.strip().split()[0] if user_agent.strip() else "*"
    return first.split("/", 1)[0]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    """robots.txt verdicts for every origin one fetcher talks to."""

    def __init__(
        self,
        clock: Clock,
        user_agent: str,
        fetch_robots: FetchRobots,
        *,
        ttl: float = MAX_TTL_S,
        retry_after_error: float = RETRY_AFTER_ERROR_S,
        max_origins: int = MAX_ORIGINS,
        parsed: int = PARSED_KEPT,
    ) -> None:
        self.clock = clock
        self.token = product_token(user_agent)
        self.fetch_robots = fetch_robots
        self.ttl = min(ttl, MAX_TTL_S)
        self.retry_after_error = retry_after_error
        self.max_origins = max_origins
        self.parsed_kept = parsed
        self._origins: OrderedDict[str, _Origin] = OrderedDict()  # least recently used first
        self._parsed: OrderedDict[str, Protego] = OrderedDict()
        self.parses = 0  # robots.txt texts parsed, first or again

    async def check(self, url: str) -> Verdict:
        origin = origin_of(url)
        entry = await self._entry(origin)
        if entry.allow_all:
            return Verdict(True)
        if entry.rules is None:
            if entry.refused:  # our address policy: the refusal is the reason, said as such
                return Verdict(False, entry.problem, unreachable=True, refused=True)
            return Verdict(False, f"robots.txt unreachable: {entry.problem}", unreachable=True)
        parser = self._parser(origin, entry.rules)
        delay = parser.crawl_delay(self.token)
        crawl_delay = float(delay) if delay is not None else None
        if parser.can_fetch(url, self.token):
            return Verdict(True, crawl_delay=crawl_delay)
        path = urlsplit(url).path or "/"
        return Verdict(False, f"robots.txt disallows {path} for {self.token} ({url})", crawl_delay)

    async def _entry(self, origin: str) -> _Entry:
        state = self._origins.get(origin)
        if state is None:
            state = self._origins[origin] = _Origin()
            self._forget_oldest()
        self._origins.move_to_end(origin)
        async with state.lock:  # one fetch of robots.txt per origin, however many wait
            if state.entry is None or state.entry.expires <= self.clock.monotonic():
                state.entry = self._read(await self.fetch_robots(f"{origin}/robots.txt"))
                self._parsed.pop(origin, None)
            return state.entry

    def _forget_oldest(self) -> None:
        """Beyond ``max_origins``, drop the least recently used answers nobody waits for."""
        excess = len(self._origins) - self.max_origins
        for origin in list(itertools.islice(self._origins, max(excess, 0))):
            if not self._origins[origin].lock.locked():
                del self._origins[origin]
                self._parsed.pop(origin, None)

    def _parser(self, origin: str, rules: bytes) -> Protego:
        parser = self._parsed.get(origin)
        if parser is None:
            parser = self._parsed[origin] = Protego.parse(zlib.decompress(rules).decode())
            self.parses += 1
            if len(self._parsed) > self.parsed_kept:
                self._parsed.popitem(last=False)
        self._parsed.move_to_end(origin)
        return parser

    def _read(self, answer: RobotsAnswer) -> _Entry:
        now = self.clock.monotonic()
        status = answer.status
        if status is not None and 200 <= status < 300:
            text = (answer.body or b"")[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            return _Entry(now + self.ttl, rules=zlib.compress(text.encode()))
        if status is not None and 400 <= status < 500 and status != 429:
            return _Entry(now + self.ttl, allow_all=True)
        problem = f"HTTP {status}" if status is not None else (answer.error or "network error")
        return _Entry(now + self.retry_after_error, problem=problem, refused=answer.refused)
