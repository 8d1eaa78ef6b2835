"""The SSRF guard: discovered links and redirects never reach non-global addresses.

A test resolver answers with private, link-local, carrier-grade NAT, IPv4-mapped
and mixed addresses. Every socket.connect() of the process is recorded through an
audit hook: a refused fetch must not have attempted any connection at all, and no
test sends anything outside 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from faultserver import (
    ConnectRecorder,
    FaultServer,
    MapResolver,
    fetch_settings,
    fixed,
    html,
    response,
)

from contract.clock import SystemClock
from contract.model import Fetch, Outcome
from scraper.fetch import Fetcher
from scraper.netguard import AddressPolicy, AddressRefused, check_scheme

PAGE = b"<html><body><p>ok</p></body></html>"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer()
    srv.route("/page", html(PAGE))
    yield srv
    srv.stop()


def guarded_fetch(
    url: str, resolver: MapResolver, *, trusted: set[str] | None = None, **settings: Any
) -> tuple[Fetch, list[str]]:
    """Fetch with the test resolver; also return every address a socket tried to reach."""
    conf = fetch_settings(**settings)

    async def go() -> Fetch:
        fetcher = Fetcher(
            conf, SystemClock(), trusted_hosts=trusted or {"news.test"}, resolver=resolver
        )
        try:
            return await fetcher.fetch(url)
        finally:
            await fetcher.aclose()

    with ConnectRecorder() as recorder:
        result = asyncio.run(go())
    hosts = recorder.hosts()
    assert all(ipaddress.ip_address(h.split("%")[0]).is_loopback for h in hosts), hosts
    return result, hosts


BAD_ANSWERS = [
    ("private 10/8", ["10.0.0.5"], "private address 10.0.0.5"),
    ("private 192.168/16", ["192.168.1.1"], "private address 192.168.1.1"),
    ("private 172.16/12", ["172.16.3.4"], "private address 172.16.3.4"),
    ("cloud metadata, link-local", ["169.254.169.254"], "link-local address 169.254.169.254"),
    ("carrier-grade NAT", ["100.64.0.1"], "carrier-grade NAT address 100.64.0.1"),
    ("loopback", ["127.0.0.1"], "loopback address 127.0.0.1"),
    ("IPv4-mapped private", ["::ffff:10.0.0.1"], "private address ::ffff:10.0.0.1"),
    ("IPv4-mapped loopback", ["::ffff:127.0.0.1"], "loopback address ::ffff:127.0.0.1"),
    ("IPv6 loopback", ["::1"], "loopback address ::1"),
    ("IPv6 unique local", ["fd00::1"], "private address fd00::1"),
    ("IPv6 link-local", ["fe80::1"], "link-local address fe80::1"),
    ("multicast", ["224.0.0.1"], "multicast address 224.0.0.1"),
    ("unspecified", ["0.0.0.0"], "unspecified address 0.0.0.0"),
    ("mixed public and private", ["93.184.216.34", "10.1.2.3"], "private address 10.1.2.3"),
]


@pytest.mark.parametrize(("case", "answer", "reason"), BAD_ANSWERS, ids=[b[0] for b in BAD_ANSWERS])
def test_discovered_host_with_bad_address_is_refused_before_connecting(
    case: str, answer: list[str], reason: str
) -> None:
    resolver = MapResolver({"evil.test": answer})
    result, connects = guarded_fetch("http://evil.test/steal", resolver)
    assert result.outcome_hint == Outcome.REJECTED
    assert result.error == (
        f"evil.test resolves to {reason}; refused for an origin that is not a configured source "
        "(allow it with fetch.allow_networks or fetch.allow_hosts)"
    )
    assert resolver.asked == ["evil.test"]
    assert connects == []  # stopped before any connection attempt


def test_mixed_answer_with_an_allowed_loopback_is_still_refused(server: FaultServer) -> None:
    resolver = MapResolver({"rebind.test": ["127.0.0.1", "10.0.0.7"]})
    url = f"http://rebind.test:{server.port}/page"
    result, connects = guarded_fetch(url, resolver, allow_networks=("127.0.0.0/8",))
    assert result.outcome_hint == Outcome.REJECTED
    assert result.error is not None and "private address 10.0.0.7" in result.error
    assert connects == [] and server.paths() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:a00:1]/x",
        "http://[::ffff:169.254.169.254]/x",
        "http://100.100.100.100/x",
        "http://[fe80::1%25eth0]/x",
    ],
)
def test_literal_addresses_are_refused_without_resolving(url: str) -> None:
    resolver = MapResolver({})
    result, connects = guarded_fetch(url, resolver)
    assert result.outcome_hint == Outcome.REJECTED, result.error
    assert result.error is not None and "refused for an origin that is not a configured source" in (
        result.error
    )
    assert resolver.asked == [] and connects == []


def test_redirect_from_a_trusted_host_to_a_private_address_is_refused(server: FaultServer) -> None:
    server.route(
        "/jump", fixed(response(302, b"", {"Location": "http://evil.test/admin"}), keep=True)
    )
    resolver = MapResolver({"news.test": ["127.0.0.1"], "evil.test": ["192.168.0.10"]})
    result, connects = guarded_fetch(f"http://news.test:{server.port}/jump", resolver)
    assert result.outcome_hint == Outcome.REJECTED
    assert result.error is not None and "private address 192.168.0.10" in result.error
    assert server.paths() == ["/jump"]
    assert connects == ["127.0.0.1"]  # only the trusted first hop


def test_redirect_to_the_metadata_address_is_refused(server: FaultServer) -> None:
    server.route(
        "/jump",
        fixed(response(301, b"", {"Location": "http://169.254.169.254/latest/"}), keep=True),
    )
    result, connects = guarded_fetch(
        f"http://news.test:{server.port}/jump", MapResolver({"news.test": ["127.0.0.1"]})
    )
    assert result.outcome_hint == Outcome.REJECTED
    assert result.error is not None and "link-local address 169.254.169.254" in result.error
    assert connects == ["127.0.0.1"]


def test_trusted_source_host_may_be_on_loopback(server: FaultServer) -> None:
    resolver = MapResolver({"news.test": ["127.0.0.1"]})
    result, connects = guarded_fetch(f"http://news.test:{server.port}/page", resolver)
    assert result.outcome_hint is None and result.body == PAGE
    assert connects == ["127.0.0.1"]
    assert server.records[0].request.headers["host"] == f"news.test:{server.port}"


def test_connection_goes_to_the_checked_address(server: FaultServer) -> None:
    # The name exists only in the test resolver: had anything resolved it again (the
    # system resolver, httpx), the fetch would fail. It reaches the checked address.
    resolver = MapResolver({"only-here.test": [server.host]})
    result, connects = guarded_fetch(
        f"http://only-here.test:{server.port}/page", resolver, allow_networks=("127.0.0.0/8",)
    )
    assert result.outcome_hint is None, result.error
    assert connects == [server.host] and resolver.asked == ["only-here.test"]


def test_allow_hosts_lets_a_named_host_through(server: FaultServer) -> None:
    resolver = MapResolver({"intranet.test": ["127.0.0.1"]})
    url = f"http://intranet.test:{server.port}/page"
    refused, _ = guarded_fetch(url, resolver)
    allowed, _ = guarded_fetch(url, resolver, allow_hosts=("intranet.test",))
    assert refused.outcome_hint == Outcome.REJECTED
    assert allowed.outcome_hint is None


def test_unresolvable_host_is_a_failure_not_a_crash() -> None:
    result, connects = guarded_fetch("http://nowhere.test/x", MapResolver({}))
    assert result.outcome_hint == Outcome.FAILED
    assert result.error is not None
    assert result.error.startswith("cannot connect to nowhere.test fetching http://nowhere.test/x")
    assert "cannot resolve nowhere.test" in result.error and connects == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "FILE:///etc/passwd", "Ftp://x/y", "gopher://x/"]
)
def test_non_http_schemes_are_refused_in_any_case(url: str) -> None:
    with pytest.raises(AddressRefused, match=r"refused scheme (file|ftp|gopher):"):
        check_scheme(url)
    check_scheme("HTTPS://example.org/")  # no exception


def test_policy_allows_global_addresses_and_configured_networks() -> None:
    policy = AddressPolicy({"news.test"}, allow_networks=("10.20.0.0/16",))
    assert policy.check("other.test", ["93.184.216.34", "2606:2800:220:1::"]) == [
        "93.184.216.34",
        "2606:2800:220:1::",
    ]
    assert policy.check("other.test", ["10.20.1.1", "::ffff:10.20.1.2"])
    assert policy.check("NEWS.test.", ["10.9.9.9"]) == ["10.9.9.9"]  # a configured source
    with pytest.raises(AddressRefused):
        policy.check("other.test", ["10.21.0.1"])
    with pytest.raises(AddressRefused, match="resolved to no address"):
        policy.check("other.test", [])
