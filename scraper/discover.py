"""Find article URLs in what a source serves: feeds, sitemaps and section pages.

The parsers the source kinds (:mod:`scraper.kinds`) use; which kind a source is, and
how its links are followed, is decided there.
"""

from __future__ import annotations

import gzip
import io
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scraper.feeds import NotAFeed, entry_links

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file
_TRACKING_PARAMS = re.compile(r"^(utm_|fbclid$|gclid$|mc_cid$|mc_eid$|ocid$|cmpid$|at_)")
_SECTION_MIN_LINKS = 15
# Path parts of listing and service pages that a section page links to besides articles.
_NOT_ARTICLE_PARTS = frozenset(
    (
        "tag",
        "tags",
        "topic",
        "topics",
        "author",
        "authors",
        "category",
        "categories",
        "section",
        "sections",
        "search",
        "login",
        "signin",
        "register",
        "subscribe",
        "subscription",
        "newsletter",
        "newsletters",
        "account",
        "about",
        "contact",
        "privacy",
        "terms",
        "impressum",
        "datenschutz",
        "kontakt",
        "rss",
        "feed",
        "feeds",
        "sitemap",
        "page",
        "archive",
        "archives",
        "help",
        "faq",
        "jobs",
        "careers",
        "advertise",
        "shop",
    )
)
_SLUG_WORDS = re.compile(r"[a-z0-9\u00c0-\uffff]+", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\d{4,}")
_SECTION_MAX_TEXT = 1500


class DiscoveryError(ValueError):
    """What a source served could not be read as the kind it was configured as."""


@dataclass(frozen=True)
class Sitemap:
    pages: tuple[str, ...]  # page URLs, newest first where the sitemap dates them
    sitemaps: tuple[str, ...]  # child sitemaps of a sitemap index


def looks_like_section(url: str, text_chars: int, article_links: int) -> bool:
    """A front or section page: the site root, or many article links around little text."""
    path = urlsplit(url).path
    if path in ("", "/"):
        return True
    return article_links >= _SECTION_MIN_LINKS and text_chars < _SECTION_MAX_TEXT


def article_links(links: Iterable[str], section_url: str) -> list[str]:
    """The links of a section page that look like articles of the same site.

    An article path ends in a slug of several words (``/2026/11/harbour-wall-rebuilt``)
    or carries an id (``/post1563107.html``, ``/story/48213``); listings, tags,
    authors and service pages do not.
    """
    site = _site_host(section_url)
    section_path = urlsplit(section_url).path.rstrip("/")
    found = []
    for link in links:
        parts = urlsplit(link)
        path = parts.path.rstrip("/")
        if _site_host(link) != site or path == section_path or not path:
            continue
        segments = [segment.lower() for segment in path.split("/") if segment]
        if any(segment in _NOT_ARTICLE_PARTS for segment in segments):
            continue
        last = re.sub(r"\.(html?|php|aspx?)$", "", segments[-1])
        if len(_SLUG_WORDS.findall(last)) >= 3 or _LONG_NUMBER.search(last):
            found.append(link)
    return unique(found)


def _site_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def feed_links(body: bytes, url: str) -> list[str]:
    try:
        links = entry_links(body, url)
    except NotAFeed as exc:
        raise DiscoveryError(str(exc)) from None
    return unique(normalise_url(link) for link in links)


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Pages and child sitemaps of a (possibly gzipped) sitemap or sitemap index."""
    if body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                body = unzipped.read(MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise DiscoveryError(f"{url}: broken gzip in sitemap: {exc}") from None
        if len(body) > MAX_SITEMAP_BYTES:
            raise DiscoveryError(f"{url}: sitemap larger than {MAX_SITEMAP_BYTES} bytes")
    try:
        root_name, dated = _sitemap_entries(body, url)
    except ElementTree.ParseError as exc:
        raise DiscoveryError(f"{url}: not a readable sitemap: {exc}") from None
    # Newest first, so a budget spent on the head of a long sitemap gets the fresh pages.
    dated.sort(key=lambda pair: pair[0], reverse=True)
    locations = unique(normalise_url(loc) for _, loc in dated)
    if root_name == "sitemapindex":
        return Sitemap(pages=(), sitemaps=tuple(locations))
    return Sitemap(pages=tuple(locations), sitemaps=())


def _sitemap_entries(body: bytes, url: str) -> tuple[str, list[tuple[str, str]]]:
    """The root's name and each entry's (modified, location), read as a stream: one
    entry in memory at a time, however long the sitemap (50 MB are allowed)."""
    # Expat refuses external entities and bounds entity expansion ("billion laughs").
    events = ElementTree.iterparse(io.BytesIO(body), events=("start", "end"))
    _, root = next(events)
    root_name = _local(root.tag)
    if root_name not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"{url}: not a sitemap (root element <{root_name}>)")
    dated: list[tuple[str, str]] = []
    depth = 0
    for event, element in events:
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth != 0:
            continue
        loc = modified = ""
        for child in element.iter():
            name = _local(child.tag)
            if name == "loc" and not loc:
                loc = (child.text or "").strip()
            elif name in ("lastmod", "publication_date") and child.text:
                modified = max(modified, child.text.strip())
        if loc:
            dated.append((modified, urljoin(url, loc)))
        root.remove(element)  # read: gone from memory
    return root_name, dated


def normalise_url(url: str) -> str:
    """Drop the fragment and tracking parameters, so one article is one row."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING_PARAMS.match(k.lower())]  # fmt: skip
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), "")
    )


def unique(urls: Iterable[str]) -> list[str]:
    """Keep the first of each http(s) URL, in order."""
    seen: dict[str, None] = {}
    for url in urls:
        if url.lower().startswith(("http://", "https://")):
            seen.setdefault(url, None)
    return list(seen)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
