"""The fetcher's decisions alone (redirects, retries, Retry-After, 304, what was expected),
on ``httpx.MockTransport`` through ``Fetcher(transport=...)``: no socket is opened.

What the network does (faults, politeness, the address guard) is tested against real
servers in test_fetch_faults.py, test_politeness.py and test_netguard.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import httpx
from faultserver import fetch_settings

from contract.clock import SystemClock
from contract.model import Fetch, Outcome
from scraper.fetch import Fetcher, Validators

PAGE = b"<html><body><p>an article</p></body></html>"
HTML = {"content-type": "text/html; charset=utf-8"}


class Body(httpx.AsyncByteStream):
    """A body that arrives as a network's does: httpx reads ``content=`` at once, and the
    fetcher streams what it reads, capped."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


def fetch(
    answer: Callable[[httpx.Request], httpx.Response],
    url: str = "https://news.example/a",
    *,
    validators: Validators | None = None,
    seen: list[str] | None = None,
    holds: list[tuple[str, datetime, str]] | None = None,
    **settings: object,
) -> Fetch:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(str(request.url))
        return answer(request)

    async def run() -> Fetch:
        fetcher = Fetcher(
            fetch_settings(**settings),
            SystemClock(),
            transport=httpx.MockTransport(handler),
            backoff_base=0.001,
            on_host_hold=(lambda *hold: holds.append(hold)) if holds is not None else None,
        )
        try:
            return await fetcher.fetch(url, validators=validators)
        finally:
            await fetcher.aclose()

    return asyncio.run(run())


def test_redirects_are_followed_and_a_loop_is_named() -> None:
    hops = {"/a": "/b", "/b": "https://other.example/c"}

    def answer(request: httpx.Request) -> httpx.Response:
        target = hops.get(request.url.path)
        if target is not None:
            return httpx.Response(301, headers={"location": target})
        return httpx.Response(200, headers=HTML, stream=Body(PAGE))

    seen: list[str] = []
    result = fetch(answer, seen=seen)
    assert result.outcome_hint is None and result.body == PAGE
    assert result.final_url == "https://other.example/c"
    assert seen == ["https://news.example/a", "https://news.example/b", "https://other.example/c"]

    hops["/b"] = "/a#top"  # back to the start, whatever the fragment
    looped = fetch(answer)
    assert looped.outcome_hint is Outcome.FAILED
    assert (
        looped.error
        == "redirect loop: https://news.example/b leads back to https://news.example/a#top"
    )


def test_a_redirect_to_another_scheme_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "file:///etc/passwd"})

    result = fetch(answer)
    assert result.outcome_hint is Outcome.REJECTED
    assert result.error is not None
    assert result.error.startswith("redirect from https://news.example/a:")


def test_server_errors_are_retried_then_reported_with_the_attempts() -> None:
    statuses = [503, 503, 200]

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses.pop(0)
        return httpx.Response(status, headers=HTML, stream=Body(PAGE if status == 200 else b""))

    seen: list[str] = []
    ok = fetch(answer, seen=seen, max_retries=2)
    assert ok.outcome_hint is None and ok.body == PAGE and len(seen) == 3

    statuses[:] = [503, 503, 200]
    failed = fetch(answer, max_retries=1)
    assert failed.outcome_hint is Outcome.FAILED and failed.status == 503
    assert (
        failed.error == "HTTP 503 Service Unavailable from https://news.example/a after 2 attempts"
    )


def test_retry_after_beyond_the_deadline_holds_the_host_and_fails_at_once() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"retry-after": "3600"})

    holds: list[tuple[str, datetime, str]] = []
    seen: list[str] = []
    result = fetch(answer, seen=seen, holds=holds, max_retries=3)
    assert len(seen) == 1, "no retry inside the hold"
    assert result.outcome_hint is Outcome.FAILED
    assert result.error is not None and "Retry-After holds the host for 3600s" in result.error
    assert [(host, reason) for host, _, reason in holds] == [
        ("news.example", "HTTP 429 Retry-After: 3600")
    ]


def test_not_modified_counts_only_for_a_conditional_request() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(304)

    asked = fetch(answer, validators=Validators('"v1"', None))
    assert asked.outcome_hint is Outcome.NOT_MODIFIED
    unasked = fetch(answer)
    assert unasked.outcome_hint is Outcome.FAILED
    assert unasked.error == (
        "https://news.example/a answered 304 Not Modified to a request without validators"
    )


def test_a_pdf_where_an_article_was_expected_is_recorded_without_its_body() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "application/pdf"}, stream=Body(b"%PDF-1")
        )

    result = fetch(answer)
    assert result.outcome_hint is Outcome.FAILED and result.body is None
    assert result.error is not None
    assert result.error.startswith("non-HTML content application/pdf where an article was expected")
