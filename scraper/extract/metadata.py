"""Article metadata with a fallback order per field.

Sources, read once each: JSON-LD (``@graph`` and arrays included), ``<meta>``
(Open Graph, Twitter cards, Dublin Core, Parse.ly, ...), microdata, ``<time>``,
and the visible byline. For each field the first source that states it wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from scraper.dates import to_iso
from scraper.extract.blocks import normalise_space
from scraper.html import Document
from scraper.language import normalise_language

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

_TITLE_KEYS = (
    "og:title",
    "twitter:title",
    "dc.title",
    "dcterms.title",
    "title",
    "parsely-title",
    "sailthru.title",
    "headline",
)
_AUTHOR_KEYS = (
    "author",
    "article:author",
    "dc.creator",
    "dcterms.creator",
    "parsely-author",
    "sailthru.author",
    "byl",
    "citation_author",
    "twitter:creator",
)
_PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date",
    "dcterms.date",
    "dcterms.created",
    "dc.date.issued",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "published_time",
    "article.published",
    "citation_publication_date",
    "citation_date",
    "og:published_time",
    "release_date",
    "cxenseparse:recs:publishtime",
)
_MODIFIED_KEYS = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "last-modified",
    "lastmod",
    "article.updated",
    "updated_time",
)
_DESCRIPTION_KEYS = (
    "og:description",
    "description",
    "twitter:description",
    "dc.description",
    "dcterms.description",
    "sailthru.description",
)
_SITE_KEYS = ("og:site_name", "application-name", "twitter:site", "publisher", "dc.publisher")
_SECTION_KEYS = ("article:section", "parsely-section", "section", "category", "sailthru.tags")
_TAG_KEYS = ("article:tag", "keywords", "news_keywords", "parsely-tags", "sailthru.tags")
_IMAGE_KEYS = (
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:image",
    "twitter:image:src",
    "thumbnail",
)
_LANGUAGE_KEYS = ("content-language", "og:locale", "language", "dc.language", "dcterms.language")

_MICRODATA_PROPS = frozenset({"headline", "author", "datepublished", "datemodified"})
_BYLINE_SELECTOR = (
    "[rel=author], [itemprop~=author], [class*=byline i], [id*=byline i], [class*=author i], "
    "[class*=dateline i], [class*=writtenby i], [class*=p-author i]"
)
_BYLINE_PREFIX = re.compile(
    r"^\s*(?:by|from|written by|posted by|von|text|texte|par|por|de|di|door|av|autor|author|"
    r"bởi|tác giả|作者|文)\s*[:：]?\s+",
    re.IGNORECASE,
)
_NAME_SPLIT = re.compile(
    r"\s*(?:,|;|\band\b|&|\bund\b|\bet\b|\by\b|\bvà\b|、|\|)\s*", re.IGNORECASE
)
_MAX_BYLINE_CHARS = 100
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—\\/>»·:]\s+")
_URLISH = re.compile(r"^(https?:)?//|^www\.|^@", re.IGNORECASE)


@dataclass(frozen=True)
class Metadata:
    title: str | None = None
    byline: tuple[str, ...] = ()
    published: str | None = None
    modified: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    top_image: str | None = None
    comment_count: int | None = None


def _clean(value: object) -> str | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = normalise_space(str(value))
    return text or None


def _first(*values: object) -> str | None:
    for value in values:
        text = _clean(value)
        if text:
            return text
    return None


# ----------------------------------------------------------------------------- JSON-LD


def _json_objects(document: Document) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, flattened out of arrays and ``@graph``."""
    found: list[dict[str, Any]] = []
    for script in document.select("script[type*='ld+json' i]"):
        raw = script.text().strip()
        raw = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", raw)
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
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


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [k for k in (normalise_space(part) for part in re.split(r"[,;]", value)) if k]
    if isinstance(value, list):
        words: list[str] = []
        for item in value:
            words.extend(_keywords(item))
        return words
    return []


@dataclass(frozen=True)
class _JsonLd:
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


def _read_json_ld(document: Document) -> _JsonLd:
    objects = _json_objects(document)
    if not objects:
        return _JsonLd()
    articles = [o for o in objects if _types(o) & _ARTICLE_TYPES]
    pages = [o for o in objects if _types(o) & _PAGE_TYPES]
    sites = [o for o in objects if _types(o) & _SITE_TYPES]
    main = articles[0] if articles else pages[0] if pages else None
    site_name = None
    if main is not None and isinstance(main.get("publisher"), dict):
        site_name = _clean(main["publisher"].get("name"))
    if site_name is None:
        site_name = next((n for s in sites if (n := _clean(s.get("name")))), None)
    if main is None:
        return _JsonLd(site_name=site_name)
    section = main.get("articleSection")
    if isinstance(section, list):
        section = section[0] if section else None
    count = main.get("commentCount")
    return _JsonLd(
        title=_first(main.get("headline"), main.get("name") if main in articles else None),
        authors=tuple(dict.fromkeys(_names(main.get("author")) or _names(main.get("creator")))),
        published=_first(main.get("datePublished"), main.get("dateCreated")),
        modified=_first(main.get("dateModified")),
        language=_first(main.get("inLanguage"))
        if not isinstance(main.get("inLanguage"), dict)
        else _first(main["inLanguage"].get("alternateName"), main["inLanguage"].get("name")),
        description=_first(main.get("description")),
        site_name=site_name,
        section=_clean(section),
        tags=tuple(dict.fromkeys(_keywords(main.get("keywords")))),
        image=_url_of(main.get("image")) or _url_of(main.get("thumbnailUrl")),
        url=_url_of(main.get("mainEntityOfPage")) or _clean(main.get("url")),
        comment_count=count if isinstance(count, int) and count >= 0 else None,
    )


# ----------------------------------------------------------------------------- <meta>


def _read_meta(document: Document) -> dict[str, list[str]]:
    """``<meta>`` values by lower-cased name/property, in page order."""
    values: dict[str, list[str]] = {}
    for meta in document.select("meta[content]"):
        content = _clean(meta.attr("content"))
        if content is None:
            continue
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            key = meta.attr(attribute)
            if key:
                for part in key.lower().split():
                    values.setdefault(part, []).append(content)
    return values


def _meta_first(meta: dict[str, list[str]], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        for value in meta.get(key, ()):
            if value:
                return value
    return None


# ----------------------------------------------------------------------------- visible page


def _read_microdata(document: Document) -> dict[str, str]:
    """The first value of each microdata property (``itemprop``), lower-cased names."""
    values: dict[str, str] = {}
    for node in document.select("[itemprop]"):
        if node.tag == "meta":
            continue  # read with the other <meta>
        for prop in (node.attr("itemprop") or "").lower().split():
            if prop in values or prop not in _MICRODATA_PROPS:
                continue
            value = node.attr("datetime") or node.attr("content")
            if value is None:
                named = node.select_first("[itemprop~=name]") if prop == "author" else None
                value = (named or node).text(" ")
            text = _clean(value)
            if text:
                values[prop] = text
    return values


def _split_names(text: str) -> list[str]:
    text = _BYLINE_PREFIX.sub("", text).strip(" ,;|-–—")
    names = [n.strip(" .,;|-–—") for n in _NAME_SPLIT.split(text)]
    return [n for n in names if n and len(n) <= _MAX_BYLINE_CHARS and not _URLISH.match(n)]


def visible_byline(document: Document) -> tuple[str, ...]:
    """Authors named in the page's byline line (``rel=author``, ``class=byline``, ...)."""
    for node in document.select(_BYLINE_SELECTOR):
        if node.tag in ("meta", "link", "body", "html", "article", "main"):
            continue
        named = node.select_first("[itemprop~=name]")
        text = normalise_space((named or node).text(" "))
        if not text or len(text) > _MAX_BYLINE_CHARS or any(ch.isdigit() for ch in text[:4]):
            continue
        names = _split_names(text)
        if names:
            return tuple(dict.fromkeys(names))
    return ()


def _time_element(document: Document) -> str | None:
    for selector in (
        "time[pubdate][datetime]",
        "time[itemprop~=datePublished]",
        "[class*=publish i] time[datetime]",
        "article time[datetime]",
        "time[datetime]",
    ):
        node = document.select_first(selector)
        if node is not None:
            iso = to_iso(node.attr("datetime"))
            if iso:
                return iso
    return None


def _clean_title(raw: str | None, site_name: str | None, document: Document) -> str | None:
    """Drop a site name around the title (``Title | Site``), as readers expect."""
    if raw is None:
        return None
    parts = _TITLE_SEPARATORS.split(raw)
    if len(parts) < 2:
        return raw
    site = (site_name or "").casefold()
    if site:
        kept = [p for p in parts if p.casefold() != site and p.casefold() not in site]
        if kept and len(kept) < len(parts):
            return " - ".join(kept) if len(kept) > 1 else kept[0]
    for heading in document.select("h1, h2"):
        text = normalise_space(heading.text(" "))
        if text and text in parts:
            return text
    first = parts[0]
    if len(first.split()) >= 3:
        return first
    return raw


def _section_of(values: list[str]) -> str | None:
    return values[0] if values else None


def read_metadata(document: Document, url: str | None) -> Metadata:
    """All metadata the page states, before any noise is removed."""
    ld = _read_json_ld(document)
    meta = _read_meta(document)
    site_name = _first(
        _meta_first(meta, ("og:site_name",)), ld.site_name, _meta_first(meta, _SITE_KEYS[1:])
    )
    if site_name and site_name.startswith("@"):
        site_name = None
    title_node = document.select_first("title")
    page_title = _clean(title_node.text()) if title_node is not None else None
    micro = _read_microdata(document)
    title = _first(ld.title, _meta_first(meta, _TITLE_KEYS), micro.get("headline"))
    if title is None:
        title = _clean_title(page_title, site_name, document)
    if title is None:
        heading = document.select_first("h1")
        title = _clean(heading.text(" ")) if heading is not None else None

    authors = ld.authors
    if not authors:
        meta_author = _meta_first(meta, _AUTHOR_KEYS)
        if meta_author and not _URLISH.match(meta_author):
            authors = tuple(dict.fromkeys(_split_names(meta_author)))
    if not authors and micro.get("author"):
        authors = tuple(dict.fromkeys(_split_names(micro["author"])))
    if not authors:
        authors = visible_byline(document)

    published = (
        to_iso(ld.published)
        or to_iso(_meta_first(meta, _PUBLISHED_KEYS))
        or to_iso(micro.get("datepublished"))
        or _time_element(document)
    )
    modified = (
        to_iso(ld.modified)
        or to_iso(_meta_first(meta, _MODIFIED_KEYS))
        or to_iso(micro.get("datemodified"))
    )

    root = document.root
    html_node = document.select_first("html")
    language = normalise_language(
        _first(
            html_node.attr("lang") if html_node else None,
            html_node.attr("xml:lang") if html_node else None,
            ld.language,
            _meta_first(meta, _LANGUAGE_KEYS),
        )
    )
    del root

    canonical = None
    link = document.select_first("link[rel~=canonical i][href]")
    if link is not None:
        canonical = _clean(link.attr("href"))
    canonical = canonical or _meta_first(meta, ("og:url",)) or ld.url
    if canonical and url:
        canonical = urljoin(url, canonical)
    if canonical and urlsplit(canonical).scheme not in ("http", "https"):
        canonical = None

    image = _meta_first(meta, _IMAGE_KEYS) or ld.image
    if image and url:
        image = urljoin(url, image)

    tags = ld.tags or tuple(
        dict.fromkeys(
            t
            for v in meta.get("article:tag", [])
            + meta.get("keywords", [])[:1]
            + meta.get("news_keywords", [])[:1]
            for t in _keywords(v)
        )
    )
    return Metadata(
        title=title,
        byline=authors,
        published=published,
        modified=modified,
        language=language,
        canonical_url=canonical,
        site_name=site_name,
        description=_first(_meta_first(meta, _DESCRIPTION_KEYS), ld.description),
        section=ld.section or _meta_first(meta, _SECTION_KEYS),
        tags=tags,
        top_image=image,
        comment_count=ld.comment_count,
    )
