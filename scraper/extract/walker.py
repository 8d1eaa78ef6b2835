"""Turn the chosen content nodes into text blocks in reading order.

Block elements start new blocks; inline text is gathered; images, figures and
caption tables become image and caption blocks for the cleaner.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from scraper.extract.blocks import (
    CAPTION,
    CODE,
    HEADING,
    IMAGE,
    ITEM,
    PARAGRAPH,
    QUOTE,
    Block,
    Kind,
    normalise_space,
)
from scraper.extract.ruleset import HINT_CAPTION, HINT_CREDIT, HintCache
from scraper.html import Node
from scraper.urls import absolute_url

_BLOCK_KIND = {
    "p": PARAGRAPH,
    "div": PARAGRAPH,
    "section": PARAGRAPH,
    "article": PARAGRAPH,
    "main": PARAGRAPH,
    "header": PARAGRAPH,
    "footer": PARAGRAPH,
    "aside": PARAGRAPH,
    "center": PARAGRAPH,
    "address": PARAGRAPH,
    "details": PARAGRAPH,
    "summary": PARAGRAPH,
    "table": PARAGRAPH,
    "tbody": PARAGRAPH,
    "thead": PARAGRAPH,
    "tfoot": PARAGRAPH,
    "tr": PARAGRAPH,
    "td": PARAGRAPH,
    "th": PARAGRAPH,
    "ul": ITEM,
    "ol": ITEM,
    "dl": ITEM,
    "li": ITEM,
    "dt": ITEM,
    "dd": ITEM,
    "h1": HEADING,
    "h2": HEADING,
    "h3": HEADING,
    "h4": HEADING,
    "h5": HEADING,
    "h6": HEADING,
    "blockquote": QUOTE,
    "pre": CODE,
    "figcaption": CAPTION,
    "caption": CAPTION,
    "hr": PARAGRAPH,
}
_SKIP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "meta",
        "link",
        "#comment",
        "_comment",
    }
)
_CAPTION_TABLE_MAX_CHARS = 600
# Block elements that usually hold only inline text: worth checking for the fast path.
_LEAF_CANDIDATES = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "td", "th", "pre", "blockquote"}
)
# Inline elements that sites use as caption or credit containers.
_MAY_BE_CAPTION = frozenset({"span", "small", "em", "i", "cite", "font", "figcaption"})
# Elements that make a block more than one run of inline text.
_STRUCTURE = frozenset(
    {"br", "img", "figure", "table", "picture"} | {t for t in _BLOCK_KIND if t != "hr"} | {"hr"}
)


@dataclass
class _Walk:
    base_url: str | None
    hint_cache: HintCache
    blocks: list[Block] = field(default_factory=list)
    buffer: list[str] = field(default_factory=list)

    def is_caption(self, hints: str) -> bool:
        """Whether the class/id names a caption or credit container."""
        return bool(self.hint_cache.flags(hints) & HINT_CAPTION)

    def flush(self, kind: Kind) -> None:
        if self.buffer:
            text = (
                normalise_space("".join(self.buffer))
                if kind is not CODE
                else "".join(self.buffer).strip("\n")
            )
            self.buffer.clear()
            if text:
                self.blocks.append(Block(text, kind))

    def image(self, node: Node) -> None:
        *sources, srcset, data_srcset, alt = node.attr_values(*_IMAGE_ATTRIBUTES)
        src = _image_src(sources, srcset or data_srcset)
        if src is not None:
            src = absolute_url(self.base_url, src)
        if src is None:
            return
        self.blocks.append(Block("", IMAGE, src=src, alt=normalise_space(alt or "") or None))


# Where pages put an image's address (lazy loaders move it out of src), then its
# srcset spellings and its alt text: read in one go.
_IMAGE_SOURCES = ("src", "data-src", "data-original", "data-lazy-src")
_IMAGE_ATTRIBUTES = (*_IMAGE_SOURCES, "srcset", "data-srcset", "alt")


def _image_src(sources: list[str | None], srcset: str | None) -> str | None:
    for source in sources:
        value = (source or "").strip()
        if value and not value.startswith("data:"):
            return value
    srcset = (srcset or "").strip()
    if srcset:
        return srcset.split(",")[0].split()[0]
    return None


def _caption_blocks(node: Node, hint_cache: HintCache) -> tuple[str, str | None]:
    """Caption text and a credit named apart by markup (``<span class=credit>``)."""
    credit = None
    for part in node.select("*"):
        if hint_cache.flags(part.hints()) & HINT_CREDIT:
            credit = normalise_space(part.text()) or None
            if credit:
                part.remove()
            break
    return normalise_space(node.text(" ")), credit


def _is_caption_table(node: Node) -> bool:
    if node.select_first("img") is None:
        return False
    rows = node.select("tr")
    return len(rows) <= 3 and len(node.text().strip()) <= _CAPTION_TABLE_MAX_CHARS


def _is_table_figure(node: Node) -> bool:
    """A figure holding a table and no image (Gutenberg's ``wp-block-table``): its
    cells are text of the article, not an image caption."""
    return node.select_first("table") is not None and node.select_first("img, picture") is None


def _inner_kind(outer: Kind, own: Kind) -> Kind:
    """A paragraph inside a quote or list item is part of that quote or item."""
    return outer if own is PARAGRAPH and outer in (QUOTE, ITEM) else own


def _walk(root: Node, root_kind: Kind, walk: _Walk) -> None:
    """Depth-first over ``root``'s children with an explicit stack: pages nest deeper
    than Python's recursion limit (thousands of unclosed ``<div>`` are not rare)."""
    # Each level: its contents still to visit, the block kind text there belongs to,
    # and the kind to flush when the level ends (None for inline elements).
    stack: list[tuple[Iterator[str | Node], Kind, Kind | None]] = [
        (iter(root.contents()), root_kind, None)
    ]
    buffer = walk.buffer
    while stack:
        contents, kind, flush_on_exit = stack[-1]
        for child in contents:
            if isinstance(child, str):  # text: the commonest case, kept out of the call below
                if buffer or not child.isspace():  # layout whitespace before a block is nothing
                    buffer.append(child)
                continue
            nested = _visit(child, kind, walk)
            if nested is not None:
                stack.append((iter(child.contents()), *nested))
                break
        else:
            stack.pop()
            if flush_on_exit is not None:
                walk.flush(flush_on_exit)


def _visit(child: Node, kind: Kind, walk: _Walk) -> tuple[Kind, Kind | None] | None:
    """Handle one child; returns (kind, kind to flush at its end) when its children follow."""
    tag = child.tag
    if tag in _SKIP:
        return None
    if tag == "br":
        walk.flush(kind)
        return None
    if tag == "img":
        walk.flush(kind)
        walk.image(child)
        return None
    if (tag == "figure" and not _is_table_figure(child)) or (
        tag == "table" and _is_caption_table(child)
    ):
        walk.flush(kind)
        _figure(child, walk)
        return None
    child_kind = _BLOCK_KIND.get(tag)
    if child_kind is None:
        hints = child.hints() if tag in _MAY_BE_CAPTION else ""
        if hints and walk.is_caption(hints) and child.select_first("img") is None:
            walk.flush(kind)
            text, credit = _caption_blocks(child, walk.hint_cache)
            if text or credit:
                walk.blocks.append(Block(text, CAPTION, credit=credit))
            return None
        return (kind, None)  # inline: its text joins the current block
    walk.flush(kind)
    if child_kind is not CAPTION and tag in _LEAF_CANDIDATES and not child.contains_tag(_STRUCTURE):
        _leaf(child, kind, child_kind, walk)
        return None
    if child_kind is CODE:
        walk.buffer.append(child.text())
        walk.flush(CODE)
        return None
    if child_kind is CAPTION or (
        child_kind is PARAGRAPH
        and walk.is_caption(child.hints())
        and child.select_first("img") is None
    ):
        text, credit = _caption_blocks(child, walk.hint_cache)
        if text or credit:
            walk.blocks.append(Block(text, CAPTION, credit=credit))
        return None
    inner = _inner_kind(kind, child_kind)
    return (inner, inner)


def _leaf(child: Node, kind: Kind, child_kind: Kind, walk: _Walk) -> None:
    """A block with only inline content below: Lexbor gives its text in one call."""
    hints = child.hints()
    text = child.text()
    if child_kind is CODE:
        walk.blocks.append(Block(text.strip("\n"), CODE))
    elif hints and walk.is_caption(hints):
        caption, credit = _caption_blocks(child, walk.hint_cache)
        if caption or credit:
            walk.blocks.append(Block(caption, CAPTION, credit=credit))
    else:
        text = normalise_space(text)
        if text:
            walk.blocks.append(Block(text, _inner_kind(kind, child_kind)))


def _figure(node: Node, walk: _Walk) -> None:
    """An image with its caption: the caption is whatever text the figure holds."""
    images = node.select("img")
    for image in images:
        walk.image(image)
    caption_node = node.select_first("figcaption, caption")
    if caption_node is None:
        for candidate in node.select("*"):
            if walk.is_caption(candidate.hints()):
                caption_node = candidate
                break
    if caption_node is not None:
        text, credit = _caption_blocks(caption_node, walk.hint_cache)
    else:
        text, credit = normalise_space(node.text(" ")), None
    if text or credit:
        walk.blocks.append(Block(text, CAPTION, credit=credit))


def html_blocks(roots: Iterable[Node], base_url: str | None, hint_cache: HintCache) -> list[Block]:
    """Blocks of the content nodes, in document order."""
    walk = _Walk(base_url=base_url, hint_cache=hint_cache)
    for root in roots:
        kind = _BLOCK_KIND.get(root.tag, PARAGRAPH)
        if kind is CAPTION:
            kind = PARAGRAPH
        if (root.tag == "figure" and not _is_table_figure(root)) or (
            root.tag == "table" and _is_caption_table(root)
        ):
            _figure(root, walk)
            continue
        _walk(root, kind, walk)
        walk.flush(kind)
    return walk.blocks
