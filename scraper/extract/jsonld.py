"""JSON-LD: the article object of a page's ``application/ld+json`` scripts.

Arrays, ``@graph`` and ``mainEntity`` are flattened; the first object of an article
type wins (a ``WebPage`` when there is none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from scraper.extract.blocks import normalise_space
from scraper.extract.trust import unescaped
from scraper.extract.values import URLISH as _URLISH
from scraper.extract.values import clean_value as _clean
from scraper.extract.values import first_value as _first
from scraper.html import Node

_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "liveblogposting",
        "scholarlyarticle",
        "techarticle",
        "report",
        "socialmediaposting",
        "posting",
        "discussionforumposting",
        "medicalscholarlyarticle",
        "satiricalarticle",
        "advertisercontentarticle",
        "askpublicnewsarticle",
        "review",
        "recipe",
        "howto",
    }
)
_PAGE_TYPES = frozenset({"webpage", "itempage", "collectionpage", "medicalwebpage"})
_SITE_TYPES = frozenset({"website", "organization", "newsmediaorganization", "corporation"})


def _without_cdata(raw: str) -> str:
    """``//<![CDATA[ {...} //]]>`` -> ``{...}`` (string operations: scripts can be large)."""
    start = raw.find("<![CDATA[")
    raw = raw[start + len("<![CDATA[") :] if start >= 0 else raw
    end = raw.rfind("]]>")
    raw = raw[:end] if end >= 0 else raw
    return raw.strip().removesuffix("//").strip()


def _json_objects(scripts: list[Node]) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, flattened out of arrays and ``@graph``."""
    found: list[dict[str, Any]] = []
    for script in scripts:
        raw = script.text().strip()
        if "CDATA" in raw[:40]:  # an old XHTML wrapper around the JSON
            raw = _without_cdata(raw)
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):  # broken or absurdly nested: not metadata
            continue
        found.extend(_flatten_json(data))
    return found


def _flatten_json(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_json(item)
    elif isinstance(data, dict):
        yield data
        graph = data.get("@graph")
        if graph is not None:
            yield from _flatten_json(graph)
        main = data.get("mainEntity")
        if isinstance(main, dict):
            yield from _flatten_json(main)


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower().rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _names(value: Any) -> list[str]:
    """Person names out of a JSON-LD author value (string, object, list)."""
    if isinstance(value, str):
        text = _clean(value)
        return [] if text is None or _URLISH.match(text) else [text]
    if isinstance(value, list):
        names: list[str] = []
        for item in value:
            names.extend(_names(item))
        return names
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, list | dict):
            return _names(name)
        text = _clean(name)
        if text is None:
            given, family = _clean(value.get("givenName")), _clean(value.get("familyName"))
            text = " ".join(p for p in (given, family) if p) or None
        return [text] if text and not _URLISH.match(text) else []
    return []


def _url_of(value: Any) -> str | None:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        for item in value:
            url = _url_of(item)
            if url:
                return url
        return None
    if isinstance(value, dict):
        return _first(value.get("url"), value.get("contentUrl"), value.get("@id"))
    return None


def keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        # Entities first: the ';' of an escaped '&amp;' or '&#8217;' separates nothing.
        parts = re.split(r"[,;]", unescaped(value))
        return [k for k in (normalise_space(part) for part in parts) if k]
    if isinstance(value, list):
        words: list[str] = []
        for item in value:
            words.extend(keywords(item))
        return words
    return []


@dataclass(frozen=True)
class JsonLd:
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    modified: str | None = None
    language: str | None = None
    description: str | None = None
    site_name: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    url: str | None = None
    comment_count: int | None = None
    article_body: str | None = None  # JSON-LD articleBody: a fallback for the page text


_NO_JSON_LD = JsonLd()  # frozen: one for every page without JSON-LD


def _json_ld_title(
    main: dict[str, Any], page_title: Callable[[], str | None], is_article: bool
) -> str | None:
    """``headline`` or ``name``: when both are given and differ, ``headline`` only if it
    alone resembles the page's own title (some sites put the site in ``name``, others a
    summary in ``headline``)."""
    headline, name = _clean(main.get("headline")), _clean(main.get("name"))
    if not is_article:
        name = None
    if headline and name and headline != name:
        title = page_title()
        if title:
            headline_matches = _similarity(title, headline) > _SIMILAR
            name_matches = _similarity(title, name) > _SIMILAR
            if headline_matches and not name_matches:
                return headline
        return name
    return headline or name


_SIMILAR = 0.75


def _similarity(reference: str, text: str) -> float:
    """1 minus the share of ``text`` (by characters of its words) not found in ``reference``."""
    known = set(re.findall(r"\w+", reference.casefold()))
    words = re.findall(r"\w+", text.casefold())
    if not words:
        return 0.0
    unknown = [w for w in words if w not in known]
    return 1.0 - len(" ".join(unknown)) / len(" ".join(words))


def read_json_ld(scripts: list[Node], page_title: Callable[[], str | None]) -> JsonLd:
    """The page's JSON-LD article; ``page_title`` (the cleaned ``<title>``) is asked for
    only when ``headline`` and ``name`` disagree."""
    objects = _json_objects(scripts)
    if not objects:
        return _NO_JSON_LD
    articles: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    for obj in objects:
        kinds = _types(obj)
        if kinds & _ARTICLE_TYPES:
            articles.append(obj)
        if kinds & _PAGE_TYPES:
            pages.append(obj)
        if kinds & _SITE_TYPES:
            sites.append(obj)
    main = articles[0] if articles else pages[0] if pages else None
    site_name = None
    if main is not None and isinstance(main.get("publisher"), dict):
        site_name = _clean(main["publisher"].get("name"))
    if site_name is None:
        site_name = next((n for s in sites if (n := _clean(s.get("name")))), None)
    if main is None:
        return JsonLd(site_name=site_name)
    section = main.get("articleSection")
    if isinstance(section, list):
        section = section[0] if section else None
    count = main.get("commentCount")
    return JsonLd(
        title=_json_ld_title(main, page_title, bool(articles)),
        authors=tuple(dict.fromkeys(_names(main.get("author")) or _names(main.get("creator")))),
        published=_first(main.get("datePublished"), main.get("dateCreated")),
        modified=_first(main.get("dateModified")),
        language=_first(main.get("inLanguage"))
        if not isinstance(main.get("inLanguage"), dict)
        else _first(main["inLanguage"].get("alternateName"), main["inLanguage"].get("name")),
        description=_first(main.get("description")),
        site_name=site_name,
        section=_clean(section),
        tags=tuple(dict.fromkeys(keywords(main.get("keywords")))),
        image=_url_of(main.get("image")) or _url_of(main.get("thumbnailUrl")),
        url=_url_of(main.get("mainEntityOfPage")) or _clean(main.get("url")),
        comment_count=count if isinstance(count, int) and count >= 0 else None,
        article_body=main.get("articleBody") if isinstance(main.get("articleBody"), str) else None,
    )
