"""Finding the main content: score blocks by text, commas, link density and class/id hints.

The page is parsed once; noise is removed with a few CSS passes (Lexbor does the
matching), and Python looks only at the paragraph-like nodes and their ancestors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import final

from scraper.extract.ruleset import (
    HINT_CAPTION,
    HINT_CERTAIN,
    HINT_COMMENT_WIDGET,
    HINT_MAYBE,
    HINT_NEGATIVE,
    HINT_POSITIVE,
    HINT_UNLIKELY,
    HintCache,
    LineTest,
    NoiseRules,
    furniture_rules,
)
from scraper.html import Document, Node, remove_nodes

# A div with no block inside is a paragraph written without <p> (Blogger, old CMSs).
_TEXT_DIV = "div:not(:has(a, blockquote, dl, div, img, ol, p, pre, table, ul, section, article))"
_PARAGRAPH_SELECTOR = f"p, pre, td, h2, h3, h4, h5, h6, blockquote, {_TEXT_DIV}"


_OTHER_COMMAS = ("，", "、", "،")  # CJK, ideographic, Arabic


def _commas(text: str, enough: int | None = None) -> int:
    """Commas in the text, of any script; counting may stop once ``enough`` are seen."""
    count = text.count(",")
    if text.isascii() or (enough is not None and count >= enough):
        return count  # the common cases: one scan, not four
    return count + sum(text.count(comma) for comma in _OTHER_COMMAS)


_SENTENCE_END = re.compile(r"[.!?。！？](\s|$)")
_MIN_PARAGRAPH_CHARS = 25
_TAG_BASE_SCORE = {
    "div": 5.0,
    "article": 8.0,
    "main": 5.0,
    "section": 3.0,
    "pre": 3.0,
    "td": 3.0,
    "blockquote": 3.0,
    "address": -3.0,
    "ol": -3.0,
    "ul": -3.0,
    "dl": -3.0,
    "dd": -3.0,
    "dt": -3.0,
    "li": -3.0,
    "form": -3.0,
    "h1": -5.0,
    "h2": -5.0,
    "h3": -5.0,
    "h4": -5.0,
    "h5": -5.0,
    "h6": -5.0,
    "th": -5.0,
}
_TOP_TO_CHECK = 8
_MAX_PARAGRAPH_LINK_DENSITY = 0.5
_LARGE_PARAGRAPH_CHARS = 2000
_CLEAN_CONDITIONALLY = "table, ul, ol, div, section, aside, form, fieldset, figure"


@final
class _Candidate:
    """A scored ancestor of paragraphs (a plain class, built natively when compiled;
    a dataclass's generated ``__init__`` stays interpreted Python)."""

    __slots__ = ("depth", "node", "score", "text")

    def __init__(self, node: Node, score: float, depth: int) -> None:
        self.node = node
        self.score = score
        self.depth = depth
        self.text: str | None = None  # the node's text, once read (the tree is not changed)

    def read_text(self) -> str:
        if self.text is None:
            self.text = self.node.text()
        return self.text


def hints_weight(hints: str, hint_cache: HintCache) -> float:
    """+25 for a positive class/id word (article, content), -25 for a negative (comment, share)."""
    return _weight(hint_cache.flags(hints)) if hints else 0.0


def _weight(flags: int) -> float:
    weight = 0.0
    if flags & HINT_NEGATIVE:
        weight -= 25.0
    if flags & HINT_POSITIVE:
        weight += 25.0
    return weight


def link_density(node: Node, text_length: int | None = None, *, large: bool = False) -> float:
    length = len(node.text()) if text_length is None else text_length
    if length == 0:
        return 0.0
    # In-page links (footnotes, tables of contents) count for less.
    linked = node.link_chars(in_page_weight=0.3, large=large)
    return min(linked / length, 1.0)


@dataclass(frozen=True)
class HintScan:
    """What one walk over the page's elements found, each with its document position."""

    unlikely: list[tuple[int, Node]]  # noise by its class/id
    comment_widgets: list[Node]
    holders: list[Node]  # article, main, itemprop=articleBody: never noise
    by_tag: list[tuple[int, Node]]  # noise by its tag name (script, nav, header, ...)
    article_body: bool = False  # some element is itemprop=articleBody


# Containers are what noise comes in; spans, links and list items inside them go along.
_SCANNED = frozenset(
    {"div", "section", "aside", "ul", "ol", "dl", "p", "table", "form", "header", "footer"}
    | {"figure"}
)
_HOLDER_TAGS = frozenset({"article", "main"})
_ARTICLE_BODY = "[itemprop=articleBody]"


def scan_hints(
    document: Document,
    rules: NoiseRules,
    hint_cache: HintCache,
    article_bodies: Sequence[Node] | None = None,
) -> HintScan:
    """Classify every container with a class or id once (equal hint strings share the
    verdict), and list the elements whose tag alone makes them noise: one walk.

    ``article_bodies`` are the page's ``itemprop=articleBody`` elements in ``<body>``,
    when the caller has them already: a query is a pass over the whole page."""
    body = document.body
    if body is None:
        return HintScan([], [], [], [])
    unlikely: list[tuple[int, Node]] = []
    widgets: list[Node] = []
    stated = body.select(_ARTICLE_BODY) if article_bodies is None else article_bodies
    holders: list[Node] = list(stated)
    by_tag: list[tuple[int, Node]] = []
    noise_tags = rules.always_tags | rules.chrome_tags
    for index, tag, hints, itemprop, node in body.tagged_elements(
        _SCANNED | _HOLDER_TAGS | noise_tags, _SCANNED | _HOLDER_TAGS
    ):
        if tag in noise_tags:
            by_tag.append((index, node))
            if tag not in _SCANNED:
                continue
        if tag in _HOLDER_TAGS or (itemprop and "articlebody" in itemprop):
            holders.append(node)
            continue
        if not hints:
            continue
        flags = hint_cache.flags(hints)
        if flags & HINT_UNLIKELY:
            # Comment widgets are unlikely content too.
            if flags & HINT_COMMENT_WIDGET:
                widgets.append(node)
            if not flags & HINT_MAYBE:
                unlikely.append((index, node))
                continue
        if flags & HINT_CERTAIN:  # noise whatever `maybe` word its name also holds
            unlikely.append((index, node))
    return HintScan(unlikely, widgets, holders, by_tag, article_body=bool(stated))


def remove_noise(
    document: Document, rules: NoiseRules, scan: HintScan, extra: Sequence[str] = ()
) -> None:
    """Remove what is never article text: scripts, hidden and unlikely elements, page chrome
    (header, footer, aside) and a source's own noise selectors.

    An element that holds the article (``article``, ``main``, ``itemprop=articleBody``)
    is kept, whatever its class or tag says.
    """
    _open_noscript(document)
    holders = {a.key for node in scan.holders for a in (node, *node.ancestors())}
    found = [item for item in scan.unlikely if item[1].key not in holders]
    found += [
        item
        for item in scan.by_tag
        if item[1].tag not in rules.chrome_tags or item[1].key not in holders
    ]
    # One list in document order (an element may be there twice), removed deepest first.
    found.sort(key=lambda item: item[0])
    ordered: list[Node] = []
    last = -1
    for index, node in found:
        if index != last:
            ordered.append(node)
            last = index
    remove_nodes(ordered)
    # The removal above detached those subtrees: select afresh, so none is judged again.
    tests = rules.always_attributes
    remove_nodes([n for n in document.select(tests.selector) if tests.matches(n.attributes())])
    if rules.always_other:
        document.remove(rules.always_other)
    for selector in extra:
        document.remove(selector)


_NOSCRIPT_PROSE_CHARS = 200
# A notice to readers without scripts is a line or two; more text than this is the page's.
_NOSCRIPT_PAGE_CHARS = 1000
_SCRIPT_NOTICE = re.compile(r"javascript|\bbrowser\b", re.IGNORECASE)


def _open_noscript(document: Document) -> None:
    """A ``<noscript>`` holding prose (the article for readers without scripts, on pages
    that render it with JavaScript) is opened: its content stays in the page. Any other
    (tracking pixels, "please enable JavaScript") is removed.

    Scripts inside it go first, as they would anyway: their code is not its text. An
    unclosed tag inside a ``<noscript>`` (``<noscript><div id=wrapper></noscript>``, a
    fallback for a ``document.write`` that opened the page's layout) makes it hold the
    rest of the page, so a long one is opened whatever words a notice would use."""
    for node in reversed(document.select("noscript")):
        remove_nodes(node.select("script, style"))
        text = node.text()
        length = len(text.strip())
        prose = (
            length >= _NOSCRIPT_PROSE_CHARS
            and len(_SENTENCE_END.findall(text)) >= 2
            and (length >= _NOSCRIPT_PAGE_CHARS or _SCRIPT_NOTICE.search(text) is None)
            and link_density(node, len(text)) < 0.3
        )
        if prose:
            node.unwrap()
        else:
            node.remove()


def _score_candidates(body: Node, hint_cache: HintCache) -> dict[int, _Candidate]:
    """Each paragraph's score goes to its ancestors (less with each level up)."""
    candidates: dict[int, _Candidate] = {}
    chains: dict[int, list[_Candidate]] = {}  # sibling paragraphs share their ancestors
    weights: dict[str, float] = {}  # class/id hints -> weight, as classes repeat
    for paragraph in body.select(_PARAGRAPH_SELECTOR):
        text = paragraph.text()
        length = len(text.strip())
        if length < _MIN_PARAGRAPH_CHARS:
            continue
        # A long 'paragraph' (a layout cell) holds many elements: Lexbor finds its links.
        density = link_density(paragraph, len(text), large=len(text) > _LARGE_PARAGRAPH_CHARS)
        if density > _MAX_PARAGRAPH_LINK_DENSITY:
            continue  # a list of links (tags, names, related stories) is not prose
        parent = paragraph.parent
        if parent is None:
            continue
        chain = chains.get(parent.key)
        if chain is None:
            chain = chains[parent.key] = []
            for level, ancestor in enumerate(paragraph.element_ancestors(5)):
                candidate = candidates.get(ancestor.key)
                if candidate is None:
                    hints = ancestor.hints()
                    weight = weights.get(hints)
                    if weight is None:
                        weight = weights[hints] = hints_weight(hints, hint_cache)
                    base = _TAG_BASE_SCORE.get(ancestor.tag, 0.0) + weight
                    candidate = candidates[ancestor.key] = _Candidate(ancestor, base, level)
                chain.append(candidate)
        score = (1.0 + _commas(text) + min(length / 100.0, 3.0)) * (1.0 - density)
        for level, candidate in enumerate(chain):
            divider = 1.0 if level == 0 else 2.0 if level == 1 else level * 3.0
            candidate.score += score / divider
    return candidates


def _best(candidates: dict[int, _Candidate]) -> list[_Candidate]:
    """Candidates ranked by score after link density, best first."""
    by_raw = sorted(candidates.values(), key=lambda c: c.score, reverse=True)[:_TOP_TO_CHECK]
    ranked: list[_Candidate] = []
    best = 0.0
    for candidate in by_raw:
        # Link density only lowers a score: once raw scores fall below what can still
        # matter (a rival at 3/4 of the best), the rest need no link counting.
        if candidate.score < best * 0.75:
            break
        text = candidate.read_text()  # _promote reads it again
        candidate.score *= 1.0 - link_density(candidate.node, len(text), large=True)
        best = max(best, candidate.score)
        ranked.append(candidate)
    ranked.sort(key=lambda c: c.score, reverse=True)
    return ranked


_MIN_RIVAL_CHARS = 200


def _promote(top: _Candidate, ranked: list[_Candidate], candidates: dict[int, _Candidate]) -> Node:
    """Move up to a common ancestor when several strong candidates share one."""
    node = top.node
    # A rival is strong by its text: a block whose score is its class name alone (an
    # empty "post-title" module beside the text) is not another part of the article.
    least = min(_MIN_RIVAL_CHARS, len(top.read_text()) // 2)
    strong = [
        c.node
        for c in ranked[1:]
        if c.score >= top.score * 0.75 and len(c.read_text().strip()) >= least
    ]
    # Three strong rivals (readability's rule), or two where one is another chunk of
    # the same kind (Wired's body__inner-container): a teaser page's strong rivals
    # are its own container and a "subscribe to read on" box.
    if len(strong) >= 3 or (len(strong) == 2 and _is_chunked(node, strong)):
        strong_ancestors = [{a.key for a in s.ancestors()} for s in strong]
        for ancestor in node.ancestors():
            if ancestor.tag in ("body", "html"):
                break
            if sum(ancestor.key in keys for keys in strong_ancestors) >= 2:
                node = ancestor
                break
    # Walk up while an ancestor scores better than what is below it (readability's rule):
    # the article's own container often scores above one of its sections.
    if node == top.node:
        last = top.score
        threshold = last / 3
        for upper in node.ancestors():
            if upper.tag in ("body", "html"):
                break
            scored = candidates.get(upper.key)
            if scored is not None:
                if scored.score < threshold:
                    break
                if scored.score > last:
                    node = upper
                    break
                last = scored.score
    # An only child says little: its parent is the real container.
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        elements = [c for c in parent.children() if c.is_element]
        if len(elements) != 1:
            break
        node = parent
        parent = node.parent
    return node


_OPEN_PARAGRAPH_CHARS = 80


def _open_paragraphs(node: Node) -> Node:
    """The element holding the article's earlier paragraphs too, when each paragraph was
    written as an unclosed ``<div>`` (``<div>First...<br><br><div>Second...``): every
    later paragraph is then inside the one before, and only the last ones are scored.
    While the parent holds prose of its own, as text beside its elements, it is that
    earlier paragraph: the pick moves up to it."""
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html") and _own_prose(parent):
        node = parent
        parent = node.parent
    return node


def _own_prose(node: Node) -> bool:
    """Whether the element's own text (its text children, not its elements') reads as a
    paragraph: long enough, with a sentence's end."""
    own = "".join(part for part in node.contents() if isinstance(part, str)).strip()
    return len(own) >= _OPEN_PARAGRAPH_CHARS and _SENTENCE_END.search(own) is not None


def _is_chunked(node: Node, rivals: list[Node]) -> bool:
    """Whether a rival is another chunk of the same kind (same tag and class)."""
    kind = node.attr("class")
    return bool(kind) and any(r.tag == node.tag and r.attr("class") == kind for r in rivals)


def _kind(node: Node) -> str:
    """What kind of block a node is, by its tag and classes, numbered ones left out:
    page builders number each block (``et_pb_section_1``, ``elementor-element-2e18``)
    and add style classes to some (``et_pb_with_background``), so the first class
    that names no number stands for the kind."""
    classes = node.attr("class")
    if not classes:
        return ""
    for name in classes.split():
        if not any(char.isdigit() for char in name):
            return f"{node.tag}.{name}"
    return f"{node.tag}.{classes}"


_MAX_NOTICE_HEADING_CHARS = 40


def _headed_as_notice(node: Node, notice: LineTest) -> bool:
    """Whether the block's first heading names a site notice ("About me")."""
    heading = node if node.tag in _HEADINGS else node.select_first(_HEADINGS_CSS)
    if heading is None:
        return False
    text = heading.text().strip()
    return len(text) <= _MAX_NOTICE_HEADING_CHARS and notice.found_in(text)


def _is_text_div(node: Node) -> bool:
    return node.tag == "div" and node.matches(_TEXT_DIV)


def _siblings(node: Node, top_score: float, candidates: dict[int, _Candidate]) -> list[Node]:
    """The chosen node plus siblings that look like more of the same article."""
    parent = node.parent
    if parent is None or node.tag == "body":
        return [node]
    threshold = max(10.0, top_score * 0.2)
    kind = _kind(node)
    notice = furniture_rules().notice
    chosen: list[Node] = []
    for sibling in parent.children():
        if not sibling.is_element:
            continue
        if sibling == node:
            chosen.append(sibling)
            continue
        if _headed_as_notice(sibling, notice):
            continue  # "About me", "Disclaimer": the site's, not the article's
        candidate = candidates.get(sibling.key)
        same_kind = bool(kind) and _kind(sibling) == kind
        bonus = top_score * 0.2 if same_kind else 0.0
        if candidate is not None and candidate.score + bonus >= threshold:
            chosen.append(sibling)
        elif sibling.tag == "p":
            text = sibling.text()
            density = link_density(sibling, len(text))
            long_prose = len(text) > 80 and density < 0.25
            short_sentence = 0 < len(text) <= 80 and density == 0 and _SENTENCE_END.search(text)
            if long_prose or short_sentence:
                chosen.append(sibling)
        elif candidate is None and _is_text_div(sibling):
            # A div written as a paragraph (a lead): only sentences, as divs also hold
            # the share bars and datelines around an article.
            text = sibling.text()
            long_sentence = len(text) > 80 and _SENTENCE_END.search(text)
            if long_sentence and link_density(sibling, len(text)) < 0.25:
                chosen.append(sibling)
        elif candidate is None:
            # Paragraphs nested too deep to score: judge the block by its prose.
            text = sibling.text()
            density = link_density(sibling, len(text))
            if density < 0.2 and (len(text) > 1000 or (same_kind and len(text) > 200)):
                chosen.append(sibling)
    if len(chosen) > 1:
        return _with_inner_headings(parent, chosen)
    return chosen


_HEADING_TAGS = "h2, h3, h4, h5, h6"
_MAX_HEADING_CHARS = 150


def _with_inner_headings(parent: Node, chosen: list[Node]) -> list[Node]:
    """Siblings between two chosen parts that hold only a heading join them: an article
    split over blocks (a page builder's widgets) has its subheadings in blocks of their own."""
    keys = {node.key for node in chosen}
    joined: list[Node] = []
    waiting: list[Node] = []  # heading blocks after the last chosen part
    started = False
    for sibling in parent.children():
        if not sibling.is_element:
            continue
        if sibling.key in keys:
            joined.extend(waiting)
            waiting.clear()
            joined.append(sibling)
            started = True
        elif started and _is_heading_block(sibling):
            waiting.append(sibling)
        else:
            waiting.clear()
    return joined


def _is_heading_block(node: Node) -> bool:
    """A heading, or a block holding one heading and nothing else to read."""
    if node.tag in _HEADINGS:
        heading: Node | None = node
    else:
        heading = node.select_first(_HEADING_TAGS)
    if heading is None:
        return False
    text = node.text().strip()
    return 0 < len(text) <= _MAX_HEADING_CHARS and text == heading.text().strip()


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HEADINGS_CSS = "h1, h2, h3, h4, h5, h6"


_LONG_CONTAINER_CHARS = 2000
_SHORT_LINE_CHARS = 40


def _long_container_is_noise(node: Node, length: int, weight: float, dropped_lines: int) -> bool:
    """The same test for a long container, where only galleries, embeds and link farms
    can still fail: Lexbor counts, so deep subtrees are not walked in Python."""
    if node.count("pre, code"):
        return False
    images = node.count("img")
    if (
        images > 1
        and length < 200 * images
        and _is_gallery(node, node.count("p") + dropped_lines, images)
    ):
        return True
    if node.count("object, embed, iframe") > 1:
        return True
    return weight >= 25 and node.link_chars(in_page_weight=0.3, large=True) / length > 0.5


def _is_gallery(node: Node, paragraphs: int, images: int) -> bool:
    """More images than paragraphs can hold captions for. Paragraphs written as plain
    divs count too (Lexbor counts them, only for the few nodes that get this far):
    Blogger posts are lines of divs between photos."""
    if paragraphs / images >= 0.5:
        return False
    return (paragraphs + node.count(_TEXT_DIV)) / images < 0.5


def _prose_with_a_list(node: Node) -> bool:
    """Whether the node's paragraphs hold at least as much text as its list items: an
    article passage with a list of steps or points, not a list with a line of intro."""
    items = sum(len(item.text().strip()) for item in node.select("li"))
    return sum(len(paragraph.text().strip()) for paragraph in node.select("p")) >= items


_TEASER_CHARS = 300  # a linked headline and its blurb, at most


_ARTICLE_PARAGRAPH_CHARS = 150


def _has_article_prose(root: Node | None, teasers: Node) -> bool:
    """Whether the content found has a paragraph of its own beside the teasers: a page
    that is only a list of teasers (a front or section page) keeps them, as they are
    its text."""
    if root is None:
        return True
    for paragraph in root.select("p"):
        if len(paragraph.text()) < _ARTICLE_PARAGRAPH_CHARS or paragraph.link_chars():
            continue
        if all(ancestor.key != teasers.key for ancestor in paragraph.ancestors()):
            return True
    return False


def _is_teaser_list(node: Node, length: int) -> bool:
    """Headlines that are links, each with at most a short blurb: teasers of other
    articles ("Features & Analysis", "More from the blog"), not the article's own
    subheadings, which are rarely links and have paragraphs below them."""
    headings = node.select(_HEADINGS_CSS)
    if len(headings) < 2:
        return False
    linked = 0
    for heading in headings:
        text = len(heading.text().strip())
        if text and heading.link_chars() >= 0.9 * text:
            linked += 1
    return linked >= 2 and linked * 4 >= len(headings) * 3 and length < _TEASER_CHARS * linked


def _looks_like_noise(
    node: Node,
    tag: str,
    text: str,
    weight: float,
    dropped_lines: int = 0,
    emptied: bool = False,
    root: Node | None = None,
) -> bool:
    """Readability's conditional test: link lists, galleries, widgets with little prose.

    ``dropped_lines`` counts short divs already removed inside the node: they were
    lines of text, so they still count against its being a gallery. ``emptied`` says
    an element inside was removed as noise: a heading left alone was its title."""
    length = len(text.strip())
    if length >= _LONG_CONTAINER_CHARS:
        return _long_container_is_noise(node, length, weight, dropped_lines)
    census = node.census(in_page_weight=0.3)
    tags = census.tags
    if "pre" in tags or "code" in tags:
        return False  # code samples are prose for this purpose
    paragraphs, images, items = tags.get("p", 0), tags.get("img", 0), tags.get("li", 0)
    embeds = tags.get("object", 0) + tags.get("embed", 0) + tags.get("iframe", 0)
    # The census lists only tags that occur, so a heading is there or not.
    headings = not _HEADINGS.isdisjoint(census.tags)
    density = min(census.link_chars / length, 1.0) if length else 0.0
    return (
        (
            images > 1
            and length < 200 * images
            and _is_gallery(node, paragraphs + dropped_lines, images)
        )
        or (
            tag not in ("ul", "ol")
            and items > paragraphs
            and length < 500
            and not (density < 0.1 and _prose_with_a_list(node))
        )
        or (length < 25 and images == 0 and not headings and tag != "table")
        or (emptied and headings and length < 100 and images == 0 and paragraphs == 0)
        or (weight < 25 and density > 0.33 and length < 2000)
        or (weight >= 25 and density > 0.5)
        or (embeds == 1 and length < 75)
        or embeds > 1
        or (headings and _is_teaser_list(node, length) and _has_article_prose(root, node))
    )


def clean_conditionally(root: Node, hint_cache: HintCache) -> None:
    """Drop link lists, image galleries and widgets inside the chosen content.

    Inner elements are judged first (reverse document order), as their removal
    changes what their containers look like.
    """
    verdicts: dict[str, tuple[bool, float]] = {}  # hints -> (is a caption, class weight)
    # Containers around a kept element with 10+ commas have 10+ too: no need to read
    # their (long) text again.
    rich: set[int] = set()
    # Container -> short divs (blank lines, one-word captions) removed inside it. Each
    # count is handed up to the nearest judged container when its node comes (inner
    # ones come first), not to every ancestor: linear however deep the page nests.
    dropped_lines: dict[int, int] = {}
    emptied: set[int] = set()  # containers that lost an element here
    selected = root.select(_CLEAN_CONDITIONALLY)
    judged: set[int] = set()  # keys of the selected nodes, made when first needed
    # Lexbor's selection includes the root itself: the content found is not judged.
    for node in reversed(selected):
        if node.key == root.key:
            continue
        lines = dropped_lines.pop(node.key, 0) if dropped_lines else 0
        if lines:
            _hand_up(node, lines, root, selected, judged, dropped_lines)
        tag = node.tag
        if tag == "figure":
            continue
        hints = node.hints()
        weight = 0.0
        if hints:
            verdict = verdicts.get(hints)
            if verdict is None:
                flags = hint_cache.flags(hints)
                verdict = (bool(flags & HINT_CAPTION), _weight(flags))
                verdicts[hints] = verdict
            if verdict[0]:
                continue  # a caption: the walker files it under images
            weight = verdict[1]
        if weight < 0:
            if node.key in rich:  # its commas leave with it: containers must count again
                _mark_ancestors(node, root, rich, mark=False)
            _note_removal(node, emptied)
            node.remove()
            continue
        if node.key in rich:
            continue
        text = node.text()
        if _commas(text, enough=10) >= 10:
            _mark_ancestors(node, root, rich, mark=True)
            continue
        if _looks_like_noise(node, tag, text, weight, lines, node.key in emptied, root):
            if tag == "div" and len(text) < _SHORT_LINE_CHARS:
                _hand_up(node, 1, root, selected, judged, dropped_lines)
            _note_removal(node, emptied)
            node.remove()


def _hand_up(
    node: Node,
    lines: int,
    root: Node,
    selected: list[Node],
    judged: set[int],
    dropped_lines: dict[int, int],
) -> None:
    """Add ``lines`` to the count of the nearest judged container above ``node``."""
    if not judged:
        judged.update(n.key for n in selected)
    stop = root.key
    for ancestor in node.ancestors():
        key = ancestor.key
        if key == stop:
            return
        if key in judged:
            dropped_lines[key] = dropped_lines.get(key, 0) + lines
            return


def _note_removal(node: Node, emptied: set[int]) -> None:
    """Remember that the node's container lost something as noise."""
    parent = node.parent
    if parent is not None:
        emptied.add(parent.key)


def _mark_ancestors(node: Node, root: Node, marked: set[int], *, mark: bool) -> None:
    """Add (or take) the node's ancestors below ``root`` to (from) ``marked``."""
    stop = root.key
    for ancestor in node.ancestors():
        key = ancestor.key
        if key == stop or (mark and key in marked):
            break  # marked ones have their ancestors marked already
        if mark:
            marked.add(key)
        else:
            marked.discard(key)


def find_content(
    document: Document, hint_cache: HintCache, article_body: bool = True
) -> list[Node]:
    """The nodes holding the article, in document order (empty when the page has no body).

    ``article_body`` False says the page had no ``itemprop=articleBody`` before noise
    removal (so it has none now): no need to look.
    """
    body = document.body
    if body is None:
        return []
    if article_body:
        article_roots = body.select(_ARTICLE_BODY)
        if len(article_roots) == 1 and len(article_roots[0].text().strip()) > 200:
            return article_roots
    candidates = _score_candidates(body, hint_cache)
    if not candidates:
        return [body]
    ranked = _best(candidates)
    top = ranked[0]
    node = _open_paragraphs(_promote(top, ranked, candidates))
    return _siblings(
        node, candidates[node.key].score if node.key in candidates else top.score, candidates
    )
