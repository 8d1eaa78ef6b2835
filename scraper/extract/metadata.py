"""Article metadata with a fallback order per field.

Sources, read once each: JSON-LD (``@graph`` and arrays included), ``<meta>``
(Open Graph, Twitter cards, Dublin Core, Parse.ly, ...), microdata, ``<time>``,
and the visible byline. For each field the first source that states it wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from contract import noise
from scraper.dates import to_iso
from scraper.extract.blocks import normalise_space
from scraper.extract.jsonld import JsonLd, keywords, read_json_ld
from scraper.extract.ruleset import HINT_COMMENT_WIDGET, noise_rules, text_rules
from scraper.extract.trust import (
    names_a_person,
    trusted_byline,
    trusted_site_name,
    trusted_tags,
    trusted_text,
    unescaped,
)
from scraper.extract.values import URLISH as _URLISH
from scraper.extract.values import clean_value as _clean
from scraper.extract.values import first_value as _first
from scraper.html import Document, Node
from scraper.language import normalise_language
from scraper.urls import absolute_url, is_web_url

# Keys are spelled as _meta_key normalises them ("DC.date" -> "dc:date").
# Preference order per field: Dublin Core first, then Open Graph, plain meta, Twitter,
# Parse.ly (the order Firefox Reader View uses, which publishers have long tested against).
_TITLE_KEYS = (
    "dc:title",
    "dcterm:title",
    "og:title",
    "weibo:article:title",
    "weibo:webpage:title",
    "title",
    "twitter:title",
    "parsely-title",
    "sailthru.title",
    "headline",
)
_AUTHOR_KEYS = (
    "dc:creator",
    "dcterm:creator",
    "author",
    "parsely-author",
    "article:author",
    "og:article:author",
    "sailthru.author",
    "byl",
    "citation_author",
)
_PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "dc:date",
    "dcterm:date",
    "dcterm:created",
    "dc:date.issued",
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
    "dcterm:modified",
    "last-modified",
    "lastmod",
    "article.updated",
    "updated_time",
)
_DESCRIPTION_KEYS = (
    "dc:description",
    "dcterm:description",
    "og:description",
    "weibo:article:description",
    "weibo:webpage:description",
    "description",
    "twitter:description",
    "sailthru.description",
)
_SITE_KEYS = ("og:site_name", "application-name", "twitter:site", "publisher", "dc:publisher")
_SECTION_KEYS = ("article:section", "parsely-section", "section", "category", "sailthru.tags")
_IMAGE_KEYS = (
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:image",
    "twitter:image:src",
    "thumbnail",
)
_LANGUAGE_KEYS = ("content-language", "og:locale", "language", "dc:language", "dcterm:language")

# Every <meta> key read below: the others are not kept.
_READ_KEYS = frozenset(
    _TITLE_KEYS
    + _AUTHOR_KEYS
    + _PUBLISHED_KEYS
    + _MODIFIED_KEYS
    + _DESCRIPTION_KEYS
    + _SITE_KEYS
    + _SECTION_KEYS
    + _IMAGE_KEYS
    + _LANGUAGE_KEYS
    + ("og:url", "article:tag", "keywords", "news_keywords")
)

_MICRODATA_PROPS = frozenset({"headline", "author", "datepublished", "datemodified"})
# Lexbor makes one pass over the page per alternative: none may be implied by another
# (``[class*=p-author i]`` is in ``[class*=author i]``, ``dateline`` in ``date``).
_BYLINE_SELECTOR = (
    "[rel=author], [itemprop~=author], [class*=byline i], [id*=byline i], [class*=author i], "
    "[class*=dateline i], [class*=writtenby i]"
)
_AUTHOR_NAME_SELECTOR = (
    "[rel~=author], [itemprop~=name], [class*=author-name i], "
    "[class*=author_name i], [class*=authorname i], [class*=author__name i], "
    "[class*=byline__author i], [class*=byline-author i], [class*=author-link i], "
    "[class*=byline__name i], [class*=byline-name i]"
)
# Author-ish elements that are not the byline: follow buttons, biographies, avatars.
_NOT_A_BYLINE = re.compile(r"follow|bio|avatar|photo|image|img|title|desc|about|more|list|box")
# "May 20, 2019", "Monday, 22 Dec 2016", "2019-05-20", "• 8h" after the names.
_DATE_TAIL = re.compile(
    r"(?:\s|^)(?:(?:on|am|le|el|vom|ngày)\s+)?"
    r"(?:(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|montag|dienstag|mittwoch|donnerstag|"
    r"freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lunes|"
    r"martes|miércoles|jueves|viernes|sábado|domingo),?\s+)?(?:\d{1,2}\.?\s+)?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|"
    r"oktober|dezember|janv|févr|mars|avr|juin|juil|août|sept|déc|ene|abr|ago|dic)[a-zé]*\.?"
    r"\s+\d{1,4}.*$|\s+\d{1,4}[-./]\d{1,2}[-./]\d{1,4}.*$|\s*[•·|]\s*\d+\s*[smhd]\b.*$",
    re.IGNORECASE,
)
# The byline words of contract/noise.toml, those that also begin sentences included.
_BYLINE_PREFIX = re.compile(
    r"^\s*(?:" + "|".join(map(re.escape, noise.byline_prefixes(in_names=True))) + r")\s*[:：]?\s+",
    re.IGNORECASE,
)
_NAME_SPLIT = re.compile(
    r"\s*(?:,|;|\band\b|&|\bund\b|\bet\b|\by\b|\bvà\b|、|\|)\s*", re.IGNORECASE
)
_MAX_BYLINE_CHARS = 100


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
    article_body: str | None = None  # JSON-LD articleBody: a fallback for the page text


# ----------------------------------------------------------------------------- <meta>


def _read_meta(metas: list[Node]) -> dict[str, list[str]]:
    """Raw ``<meta>`` contents by lower-cased name/property (those in _READ_KEYS), in
    page order; cleaned when read (``_meta_first``, ``_meta_values``)."""
    by_attribute: tuple[dict[str, list[str]], ...] = tuple({} for _ in _META_ATTRIBUTES)
    for meta in metas:
        attributes = meta.attributes()
        content = attributes.get("content")
        if not content:
            continue
        for attribute, name in attributes.items():
            slot = _META_SLOTS.get(attribute)
            if slot is not None and name:
                values = by_attribute[slot]
                for key in _meta_keys(name):
                    values.setdefault(key, []).append(content)
    merged: dict[str, list[str]] = {}
    for values in by_attribute:  # `property` values first: they are the spec's
        for key, contents in values.items():
            merged.setdefault(key, []).extend(contents)
    return merged


_META_ATTRIBUTES = ("property", "name", "itemprop", "http-equiv")
_META_SLOTS = {attribute: slot for slot, attribute in enumerate(_META_ATTRIBUTES)}
_CANONICAL_SELECTOR = "link[rel~=canonical i][href]"
# One query finds everything read here that may be anywhere in the page: each query is a
# pass of Lexbor's matcher over every element, and one more alternative in it costs less
# than another pass. So <time> and the article body's microdata come along, and <title>
# and the canonical link, in <head> on nearly every page, are looked for there first.
_STATED_SELECTOR = "script[type*='ld+json' i], meta[content], [itemprop], time"
_ARTICLE_BODY = "articleBody"  # itemprop=articleBody, as CSS compares it: case and all


@dataclass(frozen=True)
class StatedNodes:
    """The elements of a page that state metadata, found by one query."""

    scripts: list[Node]  # JSON-LD
    metas: list[Node]
    itemprops: list[Node]  # microdata, but for <meta> and <script>
    times: list[Node]
    article_bodies: list[Node]  # in <body>, itemprop=articleBody: the page says "here"


def stated_nodes(document: Document) -> StatedNodes:
    """The page's metadata elements by kind, in document order. Read them before any
    removal: a removed element is cut out of the page, with everything in it."""
    stated = StatedNodes([], [], [], [], [])
    seen: set[int] = set()
    for node in document.select(_STATED_SELECTOR):
        key = node.key
        if key in seen:
            continue  # Lexbor lists an element once for each alternative it matches
        seen.add(key)
        tag = node.tag
        itemprop = node.attr("itemprop")
        if itemprop == _ARTICLE_BODY and _in_body(node):
            stated.article_bodies.append(node)
        if tag == "meta":
            stated.metas.append(node)
        elif tag == "script":
            stated.scripts.append(node)
        else:
            if tag == "time":
                stated.times.append(node)
            if itemprop is not None:
                stated.itemprops.append(node)
    return stated


def _in_body(node: Node) -> bool:
    return any(ancestor.tag == "body" for ancestor in node.ancestors())


def _meta_key(name: str) -> str:
    """``dc.title``, ``DC:Title`` and ``dcterms.title`` are spelled many ways: one key each."""
    prefix, dot, rest = name.partition(".")
    if dot and prefix in ("dc", "dcterm", "dcterms"):
        name = f"{prefix}:{rest}"
    return name.replace("dcterms:", "dcterm:")


@lru_cache(maxsize=4096)
def _meta_keys(name: str) -> tuple[str, ...]:
    """The keys of a ``name``/``property`` value that are read (pages repeat the same
    few hundred names, most of them never read)."""
    return tuple(key for part in name.lower().split() if (key := _meta_key(part)) in _READ_KEYS)


def _meta_first(meta: dict[str, list[str]], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        for value in meta.get(key, ()):
            text = _clean(value)
            if text:
                return text
    return None


def _meta_values(meta: dict[str, list[str]], key: str) -> list[str]:
    """Every non-empty value of ``key``, cleaned."""
    return [text for value in meta.get(key, ()) if (text := _clean(value))]


# ----------------------------------------------------------------------------- visible page


def _read_microdata(nodes: list[Node]) -> dict[str, str]:
    """The first value of each microdata property (``itemprop``), lower-cased names."""
    values: dict[str, str] = {}
    for node in nodes:
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
    text = _BYLINE_PREFIX.sub("", unescaped(text)).strip(" ,;|-–—")
    names = [n.strip(" .,;|-–—") for n in _NAME_SPLIT.split(text)]
    return [n for n in names if n and len(n) <= _MAX_BYLINE_CHARS and not _URLISH.match(n)]


def visible_byline(document: Document) -> tuple[str, ...]:
    """Authors named in the page's byline line (``rel=author``, ``class=byline``, ...).

    Inside a byline wrapper a name-level element (an author link, ``author-name``)
    is read in preference, as the wrapper often carries a job title or the date too.
    """
    for node in document.select(_BYLINE_SELECTOR):
        if node.tag in ("meta", "link", "body", "html", "article", "main"):
            continue
        if _NOT_A_BYLINE.search(node.hints()):
            continue
        named = node.select_first(_AUTHOR_NAME_SELECTOR)
        text = normalise_space((named or node).text(" "))
        text = _DATE_TAIL.sub("", text).strip(" ,|•·-–—")
        if not text or len(text) > _MAX_BYLINE_CHARS or text[:1].isdigit() or text[-1] in ":：":
            continue
        names = _split_names(text)
        if names and not _in_comments(node):
            return tuple(dict.fromkeys(names))
    return ()


def _in_comments(node: Node) -> bool:
    """Whether the node is in reader comments (``article-comments``, ``li.comment``),
    whose bylines name commenters. "commentary" holds the word but names an opinion
    article, so it is taken out before the comment words are looked for."""
    hint_words = noise_rules().hint_words
    for element in (node, *node.ancestors()):
        if not element.is_element:
            break
        hints = element.hints().replace("commentary", "")
        if hints and hint_words.flags(hints) & HINT_COMMENT_WIDGET:
            return True
    return False


def _in_publish_block(node: Node) -> bool:
    return any("publish" in (a.attr("class") or "").lower() for a in node.ancestors())


def _in_article(node: Node) -> bool:
    return any(a.tag == "article" for a in node.ancestors())


# In order of trust, on a <time> and its pubdate, datetime and itemprop attributes.
_TIME_RULES: tuple[Callable[[Node, str | None, str | None, str | None], bool], ...] = (
    lambda node, pubdate, when, itemprop: pubdate is not None and when is not None,
    lambda node, pubdate, when, itemprop: "datePublished" in (itemprop or "").split(),
    lambda node, pubdate, when, itemprop: when is not None and _in_publish_block(node),
    lambda node, pubdate, when, itemprop: when is not None and _in_article(node),
    lambda node, pubdate, when, itemprop: when is not None,
)


def _time_element(times: list[Node]) -> str | None:
    """For each rule, the first ``<time>`` that fits it is tried."""
    stated: list[tuple[Node, str | None, str | None, str | None]] = []
    for node in times:
        pubdate, when, itemprop = node.attr_values("pubdate", "datetime", "itemprop")
        stated.append((node, pubdate, when, itemprop))
    for rule in _TIME_RULES:
        found = next((values for values in stated if rule(*values)), None)
        if found is not None:
            iso = to_iso(found[2])
            if iso:
                return iso
    return None


def _visible_date(date_lines: list[Node]) -> str | None:
    """The date line a reader sees (``<p class="date">March 25, 2015</p>``), when it is
    the only statement of the date; a leading label (``Published:``) is dropped."""
    labels = text_rules().date_label
    for node in date_lines[:_MAX_DATE_LINES]:
        if _NOT_PUBLISHED.search(node.hints()):
            continue
        text = normalise_space(node.text(" "))
        if not text or len(text) > _MAX_DATE_LINE_CHARS:
            continue
        label = labels.match(text) or _COLON_LABEL.match(text)
        iso = to_iso(text[label.end() :] if label else text)
        if iso:
            return iso
    return None


_CLASS_DATE_LINE_SELECTOR = "[class*=publish i], [class*=date i], [class*=posted i]"
_DATE_LINE_SELECTOR = f"time, {_CLASS_DATE_LINE_SELECTOR}"
_MAX_DATE_LINES = 12
_MAX_DATE_LINE_CHARS = 60
_NOT_PUBLISHED = re.compile(r"updat|modif|comment|event|archive|picker|calendar")
# Any short label ending in a colon ("Erschienen:") before the date itself; the known
# labels without one ("Veröffentlicht am", "Publié le") are text.toml's date_labels.
_COLON_LABEL = re.compile(r"^[^\d:：]{0,30}[:：]\s*")


_SEPARATOR = re.compile(r" [|\-–—\\/>»] ")
_HIERARCHICAL = re.compile(r" [\\/>»] ")


def _words_in(text: str) -> int:
    return len(text.split())


def _clean_title(raw: str | None, document: Document) -> str | None:
    """The article's title out of ``<title>``: a site name after a separator goes.

    Short results keep the whole title, as a two-word remnant is more often a
    section name than the headline.
    """
    if raw is None:
        return None
    title = raw
    hierarchical = False
    if _SEPARATOR.search(raw):
        hierarchical = bool(_HIERARCHICAL.search(raw))
        title = raw[: list(_SEPARATOR.finditer(raw))[-1].start()]
        if _words_in(title) < 3:
            title = re.sub(r"^[^|\-–—\\/>»]*[|\-–—\\/>»]", "", raw)
    elif ": " in raw:
        headings = {normalise_space(h.text()) for h in document.select("h1, h2")}
        if raw.strip() not in headings:
            title = raw[raw.rindex(":") + 1 :]
            if _words_in(title) < 3:
                title = raw[raw.index(":") + 1 :]
            elif _words_in(raw[: raw.index(":")]) > 5:
                title = raw
    elif len(raw) > 150 or len(raw) < 15:
        headings_1 = document.select("h1")
        if len(headings_1) == 1:
            title = headings_1[0].text()
    title = normalise_space(title)
    count = _words_in(title)
    if count <= 4 and (
        not hierarchical or count != _words_in(re.sub(r"[|\-–—\\/>»]+", "", raw)) - 1
    ):
        title = raw
    return title or None


def _title_and_canonical(document: Document) -> tuple[Node | None, Node | None]:
    """The page's first ``<title>`` and first canonical link, looked for in ``<head>``
    first: it precedes ``<body>``, and the parser moves what comes before it into it."""
    head = document.head
    in_head = head.select(f"title, {_CANONICAL_SELECTOR}") if head is not None else []
    title = next((node for node in in_head if node.tag == "title"), None)
    link = next((node for node in in_head if node.tag == "link"), None)
    if title is None:
        title = document.select_first("title")
    if link is None:
        link = document.select_first(_CANONICAL_SELECTOR)
    return title, link


def read_metadata(
    document: Document, url: str | None, stated: StatedNodes | None = None
) -> Metadata:
    """All metadata the page states, before any noise is removed. ``stated`` is the
    page's :func:`stated_nodes`, when the caller has them already."""
    if stated is None:
        stated = stated_nodes(document)
    scripts, metas, itemprops = stated.scripts, stated.metas, stated.itemprops
    title_node, link = _title_and_canonical(document)
    page_title = _clean(title_node.text()) if title_node is not None else None
    cleaned_title: list[str | None] = []  # _clean_title may query the page: at most once

    def clean_page_title() -> str | None:
        if not cleaned_title:
            cleaned_title.append(_clean_title(page_title, document))
        return cleaned_title[0]

    try:
        ld = read_json_ld(scripts, clean_page_title)
    except RecursionError:  # nesting deeper than any real JSON-LD
        ld = JsonLd()
    meta = _read_meta(metas)
    micro = _read_microdata(itemprops)
    title = _first(ld.title, _meta_first(meta, _TITLE_KEYS), micro.get("headline"))
    if title is None:
        title = clean_page_title()
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
    elif not names_a_person(authors, None):
        # The stated author is the paper or the station: the visible byline may name
        # the reporter.
        visible = visible_byline(document)
        if names_a_person(visible, None):
            authors = visible

    published = (
        to_iso(ld.published)
        or to_iso(_meta_first(meta, _PUBLISHED_KEYS))
        or to_iso(micro.get("datepublished"))
    )
    if not published:
        times = stated.times
        published = _time_element(times)
        if not published:
            # With no <time> in the page, its alternative in the query would find nothing.
            lines = _DATE_LINE_SELECTOR if times else _CLASS_DATE_LINE_SELECTOR
            published = _visible_date(document.select(lines))
    modified = (
        to_iso(ld.modified)
        or to_iso(_meta_first(meta, _MODIFIED_KEYS))
        or to_iso(micro.get("datemodified"))
    )

    html_node = document.root
    lang, xml_lang = html_node.attr_values("lang", "xml:lang") if html_node else (None, None)
    language = normalise_language(
        _first(lang, xml_lang, ld.language, _meta_first(meta, _LANGUAGE_KEYS))
    )

    canonical = None
    if link is not None:
        canonical = _clean(link.attr("href"))
    canonical = canonical or _meta_first(meta, ("og:url",)) or ld.url
    if canonical:
        canonical = absolute_url(url, canonical)
    if canonical and not is_web_url(canonical):
        canonical = None

    image = _meta_first(meta, _IMAGE_KEYS) or ld.image
    if image:
        image = absolute_url(url, image)

    tags = ld.tags or tuple(
        dict.fromkeys(
            t
            for v in _meta_values(meta, "article:tag")
            + _meta_values(meta, "keywords")[:1]
            + _meta_values(meta, "news_keywords")[:1]
            for t in keywords(v)
        )
    )
    title = trusted_text(title)
    section = trusted_text(ld.section or _meta_first(meta, _SECTION_KEYS))
    tags = trusted_tags(tags, title)
    site_name = trusted_site_name(
        (ld.site_name, *(_meta_first(meta, (key,)) for key in _SITE_KEYS)), section, tags
    )
    return Metadata(
        title=title,
        byline=trusted_byline(authors, site_name),
        published=published,
        modified=modified,
        language=language,
        canonical_url=canonical,
        site_name=site_name,
        description=trusted_text(_first(_meta_first(meta, _DESCRIPTION_KEYS), ld.description)),
        section=section,
        tags=tags,
        top_image=image,
        comment_count=ld.comment_count,
        article_body=ld.article_body,
    )
