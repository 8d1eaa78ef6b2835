"""Never fetch where we should not: scheme checks and the address policy (SSRF guard).

The origins of configured sources are trusted: their scheme, host and port, not every
port of their host (a feed on ``http://HOST/`` may not send the fetcher to
``http://HOST:9999/``). Every other origin (a link found in a feed or page, a redirect
target) must resolve only to global addresses, unless the config allows its network or
its name. The fetcher resolves a host once through a
:class:`Resolver`, checks every address with :meth:`AddressPolicy.check`, and then
connects to a checked address, so a DNS answer cannot change between check and use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(Exception):
    """A URL or address the policy will not let the fetcher reach; the message says why."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, as text; raise OSError when it does not resolve."""
        ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), run off the event loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        addresses: list[str] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses


def check_scheme(url: str) -> None:
    """Refuse anything but http and https, whatever the case of the scheme."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "(none)"
        raise AddressRefused(f"refused scheme {shown} in {url}; only http and https are fetched")


def canonical_address(address: str) -> IPAddress:
    """The address an IPv6 wrapper really reaches (IPv4-mapped, 6to4, Teredo), else itself."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def describe_address(ip: IPAddress) -> str:
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in ipaddress.ip_network("100.64.0.0/10"):
        return "carrier-grade NAT"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    return "non-global"


class AddressPolicy:
    """Which hosts and addresses the fetcher may connect to."""

    def __init__(
        self,
        trusted_hosts: Iterable[str] = (),
        allow_networks: Iterable[str] = (),
        allow_hosts: Iterable[str] = (),
        *,
        trusted_origins: Iterable[str] = (),
    ) -> None:
        """``trusted_origins``: URLs (the configured sources) whose host and port are trusted.
        ``trusted_hosts`` and ``allow_hosts``: names trusted on every port."""
        self.trusted_hosts = frozenset(_host_key(h) for h in trusted_hosts if h)
        self.allow_hosts = frozenset(_host_key(h) for h in allow_hosts if h)
        self.trusted_origins = frozenset(
            found for found in (endpoint(url) for url in trusted_origins) if found is not None
        )
        self.allow_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in allow_networks
        )

    def trust_origins(self, urls: Iterable[str]) -> None:
        """From now on trust these URLs' origins instead (the sources after a reload)."""
        self.trusted_origins = frozenset(
            found for found in (endpoint(url) for url in urls) if found is not None
        )

    def trusts(self, host: str, port: int | None = None) -> bool:
        """Whether ``host`` (on ``port``; None: on every port) may be reached whatever it
        resolves to. A source's origin is trusted on its own port only."""
        key = _host_key(host)
        if key in self.trusted_hosts or key in self.allow_hosts:
            return True
        if port is None:
            return any(h == key for h, _ in self.trusted_origins)
        return (key, port) in self.trusted_origins

    def address_allowed(self, address: str) -> bool:
        ip = canonical_address(address)
        if any(ip in network for network in self.allow_networks):
            return True
        return ip.is_global and not ip.is_multicast

    def check(self, host: str, addresses: Iterable[str], port: int | None = None) -> list[str]:
        """The addresses of ``host`` (on ``port``) that may be connected to; refuse if any is
        off limits.

        One bad address refuses the host: a resolver answering with a mix of public
        and private addresses is how DNS rebinding gets in.
        """
        found = list(addresses)
        if not found:
            raise AddressRefused(f"{host} resolved to no address")
        if self.trusts(host, port):
            return found
        shown = host if port in (None, 80, 443) else f"{host}:{port}"
        for address in found:
            if not self.address_allowed(address):
                ip = canonical_address(address)
                raise AddressRefused(
                    f"{shown} resolves to {describe_address(ip)} address {address}; "
                    "refused for an origin that is not a configured source "
                    "(allow it with fetch.allow_networks or fetch.allow_hosts)"
                )
        return found


def endpoint(url: str) -> tuple[str, int] | None:
    """Host and port a URL connects to (the port defaulting from the scheme), or None."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return _host_key(parts.hostname), port


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()
