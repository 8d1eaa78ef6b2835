"""Redirects and retries of one fetch, decided here; the requests are the client's.

Redirects are followed by hand: each hop's target checked for scheme, at most
``MAX_REDIRECTS`` hops, loops detected. Retries on 408, 429, 5xx and transport errors,
with exponential backoff and jitter; a ``Retry-After`` holds the whole host.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urldefrag, urljoin, urlsplit

from contract.model import Outcome
from scraper.netguard import AddressRefused, check_scheme
from scraper.politeness import HostHeld
from scraper.wire import Exchange, Failure, Run, TransportFault

MAX_REDIRECTS = 10
MAX_RETRY_AFTER_S = 6 * 3600.0
BACKOFF_BASE_S = 0.5
REDIRECTS = frozenset({301, 302, 303, 307, 308})


async def follow(
    run: Run, hop: Callable[[str], Awaitable[Exchange]], max_redirects: int = MAX_REDIRECTS
) -> Exchange:
    """The answer at the end of ``run.url``'s redirects; ``hop`` fetches one URL."""
    start_url = run.url
    check_scheme(start_url)
    seen = {urldefrag(start_url)[0]}
    hop_url = start_url
    for _hop in range(max_redirects + 1):
        run.url = hop_url
        exchange = await hop(hop_url)
        if exchange.status not in REDIRECTS:
            return exchange
        hop_url = redirect_target(hop_url, exchange, seen)
    raise Failure(Outcome.FAILED, f"too many redirects (>{max_redirects}) starting at {start_url}")


def redirect_target(hop_url: str, exchange: Exchange, seen: set[str]) -> str:
    """Where a redirect leads; a missing Location, another scheme or a loop ends the fetch.
    ``seen`` (the URLs visited, without fragments) gets the target."""
    location = exchange.header("location")
    if not location:
        raise Failure(
            Outcome.FAILED,
            f"HTTP {exchange.status} redirect without a Location from {hop_url}",
            exchange.status,
        )
    target = urljoin(hop_url, location.strip())
    try:
        check_scheme(target)
    except AddressRefused as exc:
        raise Failure(
            Outcome.REJECTED, f"redirect from {hop_url}: {exc}", exchange.status
        ) from None
    key = urldefrag(target)[0]
    if key in seen:
        raise Failure(
            Outcome.FAILED, f"redirect loop: {hop_url} leads back to {target}", exchange.status
        )
    seen.add(key)
    return target


async def with_retries(
    run: Run,
    url: str,
    send: Callable[[], Awaitable[Exchange]],
    *,
    max_retries: int,
    backoff: Callable[[int], Awaitable[None]],
    hold: Callable[[Exchange], float | None],
) -> Exchange:
    """``send`` until an answer that is not worth another try, or the tries are spent.

    ``backoff(attempt)`` waits before the next try; ``hold(exchange)`` applies a
    Retry-After to the host and says for how many seconds (None: there is none).
    """
    attempts = 0
    while True:
        attempts += 1
        last_try = attempts > max_retries
        try:
            exchange = await send()
        except HostHeld as exc:
            raise Failure(Outcome.FAILED, f"{url} not fetched: {exc}", cause=str(exc)) from None
        except TransportFault as fault:
            if fault.refused:
                raise Failure(Outcome.REJECTED, fault.message) from None
            if last_try:
                tried = f" ({attempts} attempts)" if attempts > 1 else ""
                raise Failure(Outcome.FAILED, fault.message + tried, cause=fault.cause) from None
            await backoff(attempts)
            continue
        if not worth_retrying(exchange.status):
            return exchange
        held = hold(exchange)
        if last_try or (held is not None and held > run.remaining()):
            tried = f" after {attempts} attempts" if attempts > 1 else ""
            wait = f"; Retry-After holds the host for {held:g}s" if held else ""
            raise Failure(
                Outcome.FAILED,
                f"HTTP {exchange.status} {exchange.reason} from {url}{tried}{wait}".replace(
                    "  ", " "
                ),
                exchange.status,
                cause=f"HTTP {exchange.status}",
            )
        if held is None:
            await backoff(attempts)
        # With a hold, the host slot itself waits until the hold ends.


def worth_retrying(status: int) -> bool:
    return status in (408, 429) or status >= 500


def backoff_delay(base: float, attempt: int, rng: random.Random) -> float:
    """Exponential backoff with jitter: ``base * 2^(attempt-1)``, up to twice that."""
    return float(base * (2 ** (attempt - 1)) * (1.0 + rng.random()))


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
