"""The extractor's public functions: HTML, plain text or Markdown in, an Article out."""

from __future__ import annotations

import gc
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from contract.fields import Kind
from contract.model import ARTICLE_FIELDS, Article, Image
from scraper.extract.blocks import CAPTION, HEADING, IMAGE, PARAGRAPH, Block, normalise_space
from scraper.extract.cascade import (
    MUST_GAIN,
    SHORT_PICK_CHARS,
    Segment,
    classified_blocks,
    classify,
    comment_thread,
    densest_blocks,
    furniture,
    grown_blocks,
    line_blocks,
    outside_pick,
    prose_blocks,
    quality,
    segments,
)
from scraper.extract.clean import Cleaned, clean_blocks
from scraper.extract.content import (
    HintScan,
    clean_conditionally,
    find_content,
    remove_noise,
    scan_hints,
)
from scraper.extract.metadata import Metadata, read_metadata, stated_nodes
from scraper.extract.ruleset import (
    FurnitureRules,
    HintCache,
    NoiseRules,
    furniture_rules,
    noise_rules,
    text_rules,
)
from scraper.extract.text import text_blocks
from scraper.extract.walker import html_blocks
from scraper.html import Document, Node, check_selector, parse, remove_nodes
from scraper.language import detect_language
from scraper.markup import looks_like_html

# Bump whenever the output for some page may change: it is stored with every version.
EXTRACTOR_VERSION = "2026.12.03.10"

# Below this much text the strict pass threw the article away with the noise: retry gently.
_RETRY_BELOW_CHARS = 250
# ... and the retry's text must be clearly longer to be taken: more noise is not more article.
_RETRY_MUST_GAIN = 1.5
# A first pick shorter than this may be replaced by any better result of the cascade;
# a longer one may only grow.
_ANY_RESULT_BELOW_CHARS = 200
# What a reading of the uncleaned page must score (see cascade.quality) to be taken:
# a sentence or two of prose, not a row of link labels.
_MIN_FALLBACK_QUALITY = 100.0
_COUNTER_HEADINGS = "h1, h2, h3, h4, h5, h6, [class*=count i], [class*=title i]"
_MAX_WIDGETS = 40
_MAX_COUNTER_CHARS = 40


def _comment_count_from_widgets(widgets: list[Node]) -> int | None:
    """A comment counter shown in a comment widget, read before the widget is removed.

    The counter is the widget's whole text (``<span class=comment-count>``) or its heading.
    """
    rules = text_rules()
    for widget in widgets[:_MAX_WIDGETS]:
        heading = widget.select_first(_COUNTER_HEADINGS)
        for node in (widget, heading):
            if node is None:
                continue
            text = normalise_space(node.text(" ")[: _MAX_COUNTER_CHARS * 4])
            if len(text) > _MAX_COUNTER_CHARS:
                continue
            match = rules.comment_counter_match(text)
            if match:
                digits = re.sub(r"\D", "", match.group("count") or match.group("count2") or "")
                if digits:
                    return int(digits)
    return None


def _without_title(blocks: list[Block], title: str | None) -> list[Block]:
    """The article's own headline is the title field, not a paragraph."""
    if not title:
        return blocks
    wanted = title.casefold()
    for index, block in enumerate(blocks):
        if block.kind is IMAGE or block.kind is CAPTION:
            continue
        if block.kind in (HEADING, PARAGRAPH) and block.text.casefold() == wanted:
            return blocks[:index] + blocks[index + 1 :]
        if index > 3:
            break
    return blocks


def _content_blocks(
    document: Document,
    url: str | None,
    content: Sequence[str],
    remove: Sequence[str],
    scan: HintScan,
    rules: NoiseRules,
    hint_cache: HintCache,
) -> tuple[list[Node], list[Block]]:
    """The article's nodes and their blocks: noise removed, main content found and
    cleaned, walked."""
    if content:
        remove_nodes([n for selector in remove for n in document.select(selector)])
        document.remove(rules.always_remove)
        roots = [node for selector in content for node in document.select(selector)]
        if roots:
            return roots, html_blocks(roots, url, hint_cache)
    remove_noise(document, rules, scan, remove)
    roots = find_content(document, hint_cache, scan.article_body)
    for root in roots:
        clean_conditionally(root, hint_cache)
    return roots, html_blocks(roots, url, hint_cache)


def _second_look(
    document: Document,
    roots: list[Node],
    cleaned: Cleaned,
    title: str | None,
    url: str | None,
    scan: HintScan,
    hint_cache: HintCache,
    html: str | None = None,
    noise: NoiseRules | None = None,
) -> Cleaned:
    """The cascade: when the first pick is short or reads as furniture (comments, the
    page's foot, a notice), the page's text blocks are read by a paragraph classifier
    and as their densest region too, and the best result by quality is kept."""
    rules = furniture_rules()
    is_furniture = furniture(cleaned.paragraphs, rules)
    if _length(cleaned) >= SHORT_PICK_CHARS and not is_furniture:
        return cleaned
    body = document.body
    if body is None:
        return cleaned
    # Furniture is replaced by what lies outside it; a very short pick by the best of
    # the page; a short one may only grow (its neighbours' good blocks join it).
    found = segments(body, roots)
    if is_furniture:
        found = outside_pick(found, comment_thread(cleaned.paragraphs, rules))
    classify(found, rules)
    results: list[Cleaned] = []
    if is_furniture or _length(cleaned) < _ANY_RESULT_BELOW_CHARS:
        for blocks in (classified_blocks(found), densest_blocks(found), line_blocks(found)):
            results.append(clean_blocks(_without_title(blocks, title)))
        nothing = not cleaned.paragraphs and not any(r.paragraphs for r in results)
        if nothing and not is_furniture and html is not None:
            # Nothing left: the conditional cleaning of a pick that was the page's whole
            # layout (a table of tables) took the article with the link cells. Read the
            # page as it was before, its noise removed; only prose is taken from it.
            again = _uncleaned_segments(html, noise or noise_rules(), hint_cache, rules)
            for blocks in (classified_blocks(again), densest_blocks(again), prose_blocks(again)):
                result = clean_blocks(_without_title(blocks, title))
                if quality(result.paragraphs, rules) >= _MIN_FALLBACK_QUALITY:
                    results.append(result)
    else:
        before, after = grown_blocks(found)
        if before or after:
            lead = clean_blocks(_without_title(before, title)).paragraphs
            rest = clean_blocks(after).paragraphs
            results.append(replace(cleaned, paragraphs=lead + cleaned.paragraphs + rest))
    # Furniture is never the article: anything else that reads as text beats it.
    best = cleaned
    best_quality = 0.0 if is_furniture else quality(cleaned.paragraphs, rules) * MUST_GAIN
    for result in results:
        score = quality(result.paragraphs, rules)
        if score > best_quality:
            best, best_quality = result, score
    if best is cleaned or not is_furniture:
        return best
    return replace(best, images=())


def _uncleaned_segments(
    html: str, rules: NoiseRules, hint_cache: HintCache, furniture: FurnitureRules
) -> list[Segment]:
    """The page's text blocks with its noise removed but nothing cleaned conditionally."""
    fresh = parse(html)
    remove_noise(fresh, rules, scan_hints(fresh, rules, hint_cache))
    body = fresh.body
    if body is None:
        return []
    found = segments(body)
    classify(found, furniture)
    return found


def _length(cleaned: Cleaned) -> int:
    return sum(map(len, cleaned.paragraphs))


def _article(meta: Metadata, cleaned: Cleaned, comment_count: int | None) -> Article:
    language = meta.language or detect_language(" ".join(cleaned.paragraphs))
    return Article(
        paragraphs=cleaned.paragraphs,
        title=meta.title,
        byline=meta.byline,
        published=meta.published,
        modified=meta.modified,
        language=language,
        canonical_url=meta.canonical_url,
        site_name=meta.site_name,
        description=meta.description,
        section=meta.section,
        tags=meta.tags,
        top_image=meta.top_image,
        images=cleaned.images,
        source_url=cleaned.source_url,
        comment_count=cleaned.comment_count if cleaned.comment_count is not None else comment_count,
        extractor_version=EXTRACTOR_VERSION,
    )


def extract_html(
    html: str,
    url: str | None = None,
    *,
    content: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Article:
    """The article of an HTML page: body paragraphs, images, and the metadata the page states.

    ``content`` and ``remove`` are a source's own CSS selectors (from config.toml) for
    the article body and for noise the generic rules miss.
    """
    for selector in (*content, *remove):
        check_selector(selector)  # a clear error naming the selector, before any work
    # Extraction makes thousands of short-lived objects and no reference cycles:
    # reference counting frees them all, and the cycle collector's passes over them
    # are pure cost (about 5 % of the time). Its previous state is restored, so a
    # caller that turned it off keeps it off. (try/finally, not a context manager:
    # contextlib's are interpreted Python, on every page.)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _extract_html(html, url, content, remove)
    finally:
        if was_enabled:
            gc.enable()


def _extract_html(
    html: str, url: str | None, content: Sequence[str], remove: Sequence[str]
) -> Article:
    rules = noise_rules()
    hint_cache = HintCache(rules.hint_words)  # this page's class strings, judged once
    document = parse(html)
    metadata_nodes = stated_nodes(document)
    meta = read_metadata(document, url, metadata_nodes)
    scan = scan_hints(document, rules, hint_cache, metadata_nodes.article_bodies)
    widget_count = meta.comment_count
    if widget_count is None:
        widget_count = _comment_count_from_widgets(scan.comment_widgets)
    roots, blocks = _content_blocks(document, url, content, remove, scan, rules, hint_cache)
    cleaned = clean_blocks(_without_title(blocks, meta.title), spaced=True)
    if _length(cleaned) < _RETRY_BELOW_CHARS and not content:
        # Class names may have misled the strict pass: retry trusting no class/id hints.
        fresh = parse(html)
        gentle_scan = replace(scan_hints(fresh, rules, hint_cache), unlikely=[])
        gentle_roots, gentle_blocks = _content_blocks(
            fresh, url, (), remove, gentle_scan, rules, hint_cache
        )
        gentle = clean_blocks(_without_title(gentle_blocks, meta.title), spaced=True)
        if _length(gentle) > _length(cleaned) * _RETRY_MUST_GAIN:
            cleaned, document, roots, scan = gentle, fresh, gentle_roots, gentle_scan
    if not content:
        cleaned = _second_look(
            document, roots, cleaned, meta.title, url, scan, hint_cache, html, rules
        )
    if _length(cleaned) < _RETRY_BELOW_CHARS and meta.article_body and not content:
        # The page renders its text with scripts, but states it in JSON-LD.
        stated = clean_blocks(text_blocks(meta.article_body))
        if _length(stated) > _length(cleaned):
            cleaned = replace(stated, images=cleaned.images or stated.images)
    return _article(meta, cleaned, widget_count)


def extract_text(text: str, url: str | None = None) -> Article:
    """The article of a plain-text or Markdown document; the cleaner runs on its lines."""
    cleaned = clean_blocks(text_blocks(text))
    return _article(Metadata(title=None), cleaned, None)


def extract_document(
    data: str,
    url: str | None = None,
    *,
    content: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Article:
    """Extract from HTML or from plain text/Markdown, whichever ``data`` is."""
    if looks_like_html(data):
        return extract_html(data, url, content=content, remove=remove)
    return extract_text(data, url)


# (field name, whether it holds images) of each declared field, in order.
_JSON_FIELDS: tuple[tuple[str, bool], ...] = tuple(
    (f.name, f.kind == Kind.IMAGES) for f in ARTICLE_FIELDS
)


def article_to_json(article: Article) -> dict[str, Any]:
    """The article as printed by ``scraper extract``: plain JSON values, in declared order."""
    out: dict[str, Any] = {}
    for name, images in _JSON_FIELDS:
        value = getattr(article, name)
        if images:
            value = [_image_to_json(image) for image in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def _image_to_json(image: Image) -> dict[str, str]:
    found = {"src": image.src, "alt": image.alt, "caption": image.caption, "credit": image.credit}
    return {key: value for key, value in found.items() if value is not None}
