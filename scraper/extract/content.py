"""Finding the main content: score blocks by text, commas, link density and class/id hints.

The page is parsed once; noise is removed with a few CSS passes (Lexbor does the
matching), and Python looks only at the paragraph-like nodes and their ancestors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from scraper.extract.ruleset import NoiseRules
from scraper.html import Document, Node

_PARAGRAPH_SELECTOR = (
    "p, pre, td, h2, h3, h4, h5, h6, blockquote, "
    "div:not(:has(a, blockquote, dl, div, img, ol, p, pre, table, ul, section, article))"
)
_COMMAS = re.compile(r"[,，、،]")
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
_CLEAN_CONDITIONALLY = "table, ul, ol, div, section, aside, form, fieldset, figure"


@dataclass
class _Candidate:
    node: Node
    score: float
    depth: int


def class_weight(node: Node, rules: NoiseRules) -> float:
    hints = node.hints()
    if not hints.strip():
        return 0.0
    weight = 0.0
    if rules.negative.search(hints):
        weight -= 25.0
    if rules.positive.search(hints):
        weight += 25.0
    return weight


def link_density(node: Node, text_length: int | None = None) -> float:
    length = len(node.text()) if text_length is None else text_length
    if length == 0:
        return 0.0
    linked = 0.0
    for anchor in node.select("a"):
        href = anchor.attr("href") or ""
        # In-page links (footnotes, tables of contents) count for less.
        linked += len(anchor.text()) * (0.3 if href.startswith("#") else 1.0)
    return min(linked / length, 1.0)


def remove_noise(document: Document, rules: NoiseRules, extra: Sequence[str] = ()) -> None:
    """Remove what is never article text: scripts, hidden and unlikely elements, per-site noise."""
    document.remove(rules.always_remove)
    for selector in extra:
        document.remove(selector)
    body = document.body
    if body is None:
        return
    for node in body.select(rules.unlikely_selector):
        if node.tag in ("body", "html", "a", "article", "main"):
            continue
        hints = node.hints()
        if rules.unlikely.search(hints) and not rules.maybe.search(hints):
            if node.select_first("article, main, [itemprop=articleBody]") is not None:
                continue
            node.remove()


def remove_chrome(document: Document, rules: NoiseRules) -> None:
    """Page header, footer and asides go, unless they hold the whole article."""
    for node in document.select(rules.chrome):
        if node.select_first("article, main, [itemprop=articleBody]") is None:
            node.remove()


def _ancestor_chain(node: Node, levels: int) -> list[Node]:
    chain: list[Node] = []
    for ancestor in node.ancestors():
        if not ancestor.is_element or ancestor.tag in ("html", "#document"):
            break
        chain.append(ancestor)
        if len(chain) == levels:
            break
    return chain


def _score_candidates(body: Node, rules: NoiseRules) -> dict[int, _Candidate]:
    candidates: dict[int, _Candidate] = {}
    for paragraph in body.select(_PARAGRAPH_SELECTOR):
        text = paragraph.text()
        length = len(text.strip())
        if length < _MIN_PARAGRAPH_CHARS:
            continue
        chain = _ancestor_chain(paragraph, 5)
        if not chain:
            continue
        score = 1.0 + len(_COMMAS.findall(text)) + min(length / 100.0, 3.0)
        for level, ancestor in enumerate(chain):
            candidate = candidates.get(ancestor.key)
            if candidate is None:
                base = _TAG_BASE_SCORE.get(ancestor.tag, 0.0) + class_weight(ancestor, rules)
                candidate = candidates[ancestor.key] = _Candidate(ancestor, base, level)
            divider = 1.0 if level == 0 else 2.0 if level == 1 else level * 3.0
            candidate.score += score / divider
    return candidates


def _best(candidates: dict[int, _Candidate]) -> list[_Candidate]:
    """Candidates ranked by score after link density, best first."""
    ranked = sorted(candidates.values(), key=lambda c: c.score, reverse=True)[:_TOP_TO_CHECK]
    for candidate in ranked:
        candidate.score *= 1.0 - link_density(candidate.node)
    ranked.sort(key=lambda c: c.score, reverse=True)
    return ranked


def _promote(top: _Candidate, ranked: list[_Candidate], candidates: dict[int, _Candidate]) -> Node:
    """Move up to a common ancestor when several strong candidates share one."""
    node = top.node
    strong = [c.node for c in ranked[1:] if c.score >= top.score * 0.75]
    if len(strong) >= 2:
        strong_ancestors = [{a.key for a in s.ancestors()} for s in strong]
        for ancestor in node.ancestors():
            if ancestor.tag in ("body", "html"):
                break
            if sum(ancestor.key in keys for keys in strong_ancestors) >= 2:
                node = ancestor
                break
    # An only child says little: its parent is the real container.
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        elements = [c for c in parent.children() if c.is_element]
        if len(elements) != 1:
            break
        node = parent
        parent = node.parent
    return node


def _siblings(
    node: Node, top_score: float, candidates: dict[int, _Candidate], rules: NoiseRules
) -> list[Node]:
    """The chosen node plus siblings that look like more of the same article."""
    parent = node.parent
    if parent is None or node.tag == "body":
        return [node]
    threshold = max(10.0, top_score * 0.2)
    hints = node.attr("class") or ""
    chosen: list[Node] = []
    for sibling in parent.children():
        if not sibling.is_element:
            continue
        if sibling == node:
            chosen.append(sibling)
            continue
        candidate = candidates.get(sibling.key)
        bonus = top_score * 0.2 if hints and sibling.attr("class") == hints else 0.0
        if candidate is not None and candidate.score + bonus >= threshold:
            chosen.append(sibling)
        elif sibling.tag == "p":
            text = sibling.text()
            density = link_density(sibling, len(text))
            long_prose = len(text) > 80 and density < 0.25
            short_sentence = 0 < len(text) <= 80 and density == 0 and _SENTENCE_END.search(text)
            if long_prose or short_sentence:
                chosen.append(sibling)
    return chosen


def clean_conditionally(root: Node, rules: NoiseRules) -> None:
    """Drop link lists, image galleries and widgets inside the chosen content."""
    nodes = root.select(_CLEAN_CONDITIONALLY)
    for node in reversed(nodes):
        tag = node.tag
        if node.select_first("pre, code") is not None and tag != "figure":
            continue
        text = node.text()
        if tag == "figure":
            continue
        weight = class_weight(node, rules)
        if weight < 0 and not rules.positive.search(node.hints()):
            node.remove()
            continue
        if len(_COMMAS.findall(text)) >= 10:
            continue
        length = len(text.strip())
        paragraphs = len(node.select("p"))
        images = len(node.select("img"))
        items = len(node.select("li")) - 100 if tag in ("ul", "ol") else len(node.select("li"))
        inputs = len(node.select("input"))
        embeds = len(node.select("object, embed, iframe"))
        density = link_density(node, length)
        headings = len(node.select("h1, h2, h3, h4, h5, h6"))
        remove = (
            (images > 1 and paragraphs / images < 0.5 and length < 200 * images)
            or (tag not in ("ul", "ol") and items > paragraphs and length < 500)
            or inputs > paragraphs // 3 + 1
            or (length < 25 and images == 0 and headings == 0 and tag != "table")
            or (weight < 25 and density > 0.33 and length < 2000)
            or (weight >= 25 and density > 0.5)
            or ((embeds == 1 and length < 75) or embeds > 1)
        )
        if remove:
            node.remove()


def find_content(document: Document, rules: NoiseRules) -> list[Node]:
    """The nodes holding the article, in document order (empty when the page has no body)."""
    body = document.body
    if body is None:
        return []
    article_roots = body.select("[itemprop=articleBody]")
    if len(article_roots) == 1 and len(article_roots[0].text().strip()) > 200:
        return article_roots
    candidates = _score_candidates(body, rules)
    if not candidates:
        return [body]
    ranked = _best(candidates)
    top = ranked[0]
    node = _promote(top, ranked, candidates)
    return _siblings(
        node, candidates[node.key].score if node.key in candidates else top.score, candidates, rules
    )
