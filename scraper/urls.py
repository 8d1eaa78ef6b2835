"""A page's links made absolute: ``urljoin``, answered at once where it would change
nothing, and ``None`` for a link that cannot be a URL (not an exception for the page)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

# What urljoin changes in an absolute http(s) link: it drops an empty fragment, query
# or parameters (a trailing "#", "?" or ";"), removes tabs and newlines, checks
# "[IPv6]" hosts, normalises non-ASCII hosts, and takes the base's host for a link
# without one ("https://"). A link with a host and none of the rest it returns
# as it is, so urllib's parsing (interpreted Python, a few per page) can be skipped.
_ABSOLUTE = ("http://", "https://")
_CHANGED = ("#", ";", "\t", "\r", "\n", "[", "]")


def absolute_url(base: str | None, link: str) -> str | None:
    """``link`` resolved against ``base`` (as ``urljoin``; unchanged without a base),
    or ``None`` when urllib cannot parse it (``http://[bad``)."""
    if link.startswith(_ABSOLUTE) and link.isascii() and not link.endswith("?"):
        host_start = link.index("//") + 2  # without a host, urljoin falls back on the base
        if link[host_start : host_start + 1] not in ("", "/", "?") and not any(
            mark in link for mark in _CHANGED
        ):
            return link
    if not base:
        return link
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def is_web_url(value: str) -> bool:
    """Whether ``value`` parses as a URL with an http or https scheme."""
    try:
        return urlsplit(value).scheme in ("http", "https")
    except ValueError:
        return False
