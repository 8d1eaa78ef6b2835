"""Metadata a reader can trust: what pages state, checked before it is stored.

Pages state their metadata carelessly: entities escaped twice (``&amp;#8211;``, a tag
``&quot;Politics&quot``), the same tag in three spellings, a tag that is a path
(``/article``) or the headline again, a URL or a section ("U.S.") as the site's name, the
station's name beside the reporter's in the byline. Each rule here is general: it
looks at the value and at the page's other fields, never at a site.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from scraper.extract.blocks import normalise_space
from scraper.extract.values import URLISH

_MAX_UNESCAPES = 3  # &amp;amp;#8211; is escaped three times; more is not text
# A value that is an address: a scheme, www., a handle, a path, or a bare lower-case domain.
_ADDRESS = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*:)?//|^www\.|^@|/|^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$",
    re.IGNORECASE,
)
_LOWER_DOMAIN = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$")
# A tag that is a path or an address rather than a word: /article, news/politics/, a/b/c.
_PATH_TAG = re.compile(r"^/|/$|://|^[^\s/]*/[^\s/]*/")
_QUOTES = " \"'“”‘’«»„"
# Words that make a name an organisation's, not a person's (a station, a paper, an agency).
_ORGANISATION_WORDS = frozenset(
    [
        "news",
        "newsroom",
        "staff",
        "radio",
        "tv",
        "television",
        "channel",
        "media",
        "press",
        "network",
        "networks",
        "broadcasting",
        "station",
        "times",
        "herald",
        "tribune",
        "gazette",
        "journal",
        "daily",
        "weekly",
        "magazine",
        "online",
        "digital",
        "agency",
        "wire",
        "service",
        "services",
        "group",
        "inc",
        "ltd",
        "llc",
        "gmbh",
        "corp",
        "company",
        "redaktion",
        "redaction",
        "redacción",
    ]
)
_CALL_SIGN = re.compile(r"^[A-Z]{3,5}(?:[-\s]?(?:TV|FM|AM|DT|HD)\d*)?$")


def unescaped(text: str) -> str:
    """``text`` with HTML entities decoded, however many times the page escaped them."""
    for _ in range(_MAX_UNESCAPES):
        if "&" not in text:
            break
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return normalise_space(text)


def trusted_text(value: str | None) -> str | None:
    """A stated text field (title, description, section): entities decoded, or None."""
    if value is None:
        return None
    return unescaped(value) or None


def trusted_tags(tags: Iterable[str], title: str | None) -> tuple[str, ...]:
    """Tags decoded and unquoted, each once whatever its case; no paths, addresses or
    repeats of the headline."""
    headline = _key(title) if title else ""
    seen: set[str] = set()
    kept: list[str] = []
    for raw in tags:
        tag = unescaped(raw).strip(_QUOTES)
        if not tag or _PATH_TAG.search(tag) or URLISH.match(tag):
            continue
        key = _key(tag)
        if not key or key in seen or key == headline:
            continue
        seen.add(key)
        kept.append(tag)
    return tuple(kept)


def trusted_site_name(
    candidates: Iterable[str | None], section: str | None, tags: Iterable[str]
) -> str | None:
    """The first stated site name that is a name: not an address (``https://...``,
    ``www.x.com``, ``x.com``), and not the article's section or one of its tags."""
    not_names = {_key(section)} if section else set()
    not_names.update(_key(tag) for tag in tags)
    for candidate in candidates:
        if not candidate:
            continue
        name = unescaped(candidate)
        if not name or _is_address(name) or _key(name) in not_names:
            continue
        return name
    return None


def trusted_byline(names: Iterable[str], site_name: str | None) -> tuple[str, ...]:
    """Authors decoded, each once; when a person is named, the organisation's names
    (the site's own, a station's call sign, "... News") are left out. A byline that
    names only an organisation or a staff line keeps it."""
    decoded = list(dict.fromkeys(n for n in (unescaped(name) for name in names) if n))
    site = _key(site_name) if site_name else ""
    people = [name for name in decoded if not _is_organisation(name, site)]
    return tuple(people) if people else tuple(decoded)


def _key(text: str) -> str:
    """What two spellings of one value share: case, quotes, punctuation and spaces aside."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _is_address(name: str) -> bool:
    if URLISH.match(name) or "/" in name:
        return True
    return bool(_LOWER_DOMAIN.match(name))  # "example.com"; "Salon.com" is a brand


def names_a_person(names: Iterable[str], site_name: str | None) -> bool:
    """Whether any of the names is a person's rather than an organisation's."""
    site = _key(site_name) if site_name else ""
    return any(not _is_organisation(unescaped(name), site) for name in names)


def _is_organisation(name: str, site: str) -> bool:
    if site and _key(name) == site:
        return True
    if _ADDRESS.search(name) or any(ch.isdigit() for ch in name):
        return True
    words = name.split()
    if any(word.casefold().strip(".,") in _ORGANISATION_WORDS for word in words):
        return True
    return len(words) == 1 and bool(_CALL_SIGN.match(name))
