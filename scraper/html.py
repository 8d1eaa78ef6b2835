"""The HTML layer: the only module that touches selectolax (Lexbor).

Everything else sees :class:`Document` and :class:`Node`, thin typed wrappers,
so a parser swap is a change to this file alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import Final, final
from urllib.parse import urldefrag, urlsplit

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode, SelectolaxError

from scraper.nesting import MAX_DEPTH, cap_nesting
from scraper.urls import absolute_url

# Where a link is navigation rather than an article teaser.
_CHROME_SELECTOR = "nav, header, footer, [role=navigation], [role=banner], [role=contentinfo]"


@final
class Census:
    """What is below a container: one is made per container judged (a plain class:
    compiled, it is built natively, where a NamedTuple's constructor is interpreted)."""

    __slots__ = ("link_chars", "tags")

    def __init__(self, tags: dict[str, int], link_chars: float) -> None:
        self.tags: Final = tags  # descendant elements by tag name (_CENSUS_TAGS only)
        self.link_chars: Final = link_chars  # weighted characters of link text


# Table parts only parse inside a table.
_PROBE_CONTEXTS = ("<body>{}", "<table>{}</table>", "<table><tr>{}</tr></table>")


@cache
def _tag_names_by_id(tags: frozenset[str]) -> dict[int, str]:
    """Lexbor's numbers for standard HTML tag names (the same in every document)."""
    found: dict[str, int] = {}
    for context in _PROBE_CONTEXTS:
        missing = sorted(tag for tag in tags if tag not in found)
        if not missing:
            break
        probe = LexborHTMLParser(context.format("".join(f"<{t}></{t}>" for t in missing)))
        root = probe.root
        for node in root.traverse(include_text=False) if root is not None else ():
            if node.tag in tags:
                found.setdefault(str(node.tag), node.tag_id)
    unknown = sorted(tag for tag in tags if tag not in found)
    if unknown:
        raise ValueError(f"not standard HTML tag names: {unknown}")
    return {tag_id: tag for tag, tag_id in found.items()}


@cache
def _tag_ids(tags: frozenset[str]) -> frozenset[int]:
    return frozenset(_tag_names_by_id(tags))


@cache
def _anchor_id() -> int:
    return next(iter(_tag_names_by_id(frozenset({"a"}))))


@cache
def _html_id() -> int:
    return next(iter(_tag_names_by_id(frozenset({"html"}))))


def _hints(klass: str | None, ident: str | None) -> str:
    """``class id`` lower-cased, "" when the element has neither."""
    return f"{klass or ''} {ident or ''}".lower() if klass or ident else ""


# Every tag a census may be asked about; others are not counted.
_CENSUS_TAGS = frozenset(
    [
        "a",
        "p",
        "img",
        "li",
        "ul",
        "ol",
        "pre",
        "code",
        "object",
        "embed",
        "iframe",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "div",
        "table",
    ]
)


class Node:
    """One element or text node of a parsed document."""

    __slots__ = ("_node",)

    def __init__(self, node: LexborNode) -> None:
        self._node = node

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other._node.mem_id == self._node.mem_id

    def __hash__(self) -> int:
        return int(self._node.mem_id)

    @property
    def key(self) -> int:
        """A stable identity for the node while its document lives."""
        return int(self._node.mem_id)

    @property
    def tag(self) -> str:
        """Lower-case tag name; ``-text`` for text nodes, ``_comment`` for comments."""
        return self._node.tag or ""

    @property
    def is_element(self) -> bool:
        return bool(self._node.is_element_node)

    def attr(self, name: str) -> str | None:
        value = self._node.attributes.get(name)
        return None if value is None else str(value)

    def attr_values(self, *names: str) -> tuple[str | None, ...]:
        """Several attributes at once (one read of the element's attributes)."""
        attributes = self._node.attributes
        if not attributes:
            return (None,) * len(names)
        return tuple([attributes.get(name) for name in names])

    def attributes(self) -> dict[str, str | None]:
        """All attributes as the page has them: None for one without a value (``hidden``)."""
        attributes: dict[str, str | None] = self._node.attributes
        return attributes

    def hints(self) -> str:
        """The class and id of the element, lower-cased, for class/id heuristics."""
        attributes = self._node.attributes
        return _hints(attributes.get("class"), attributes.get("id")) if attributes else ""

    def text(self, separator: str = "") -> str:
        """All text below the node (for a text node, its own text)."""
        return str(self._node.text(deep=True, separator=separator))

    def select(self, css: str) -> list[Node]:
        return [Node(n) for n in self._node.css(css)]

    def count(self, css: str) -> int:
        """How many elements below match ``css`` (no handles are made for them)."""
        return len(self._node.css(css))

    def select_first(self, css: str) -> Node | None:
        found = self._node.css_first(css)
        return None if found is None else Node(found)

    def matches(self, css: str) -> bool:
        return bool(self._node.css_matches(css))

    @property
    def parent(self) -> Node | None:
        parent = self._node.parent
        return None if parent is None else Node(parent)

    def children(self) -> Iterator[Node]:
        """Direct children, text nodes included, in document order."""
        child = self._node.child
        while child is not None:
            yield Node(child)
            child = child.next

    def contents(self) -> list[str | Node]:
        """Direct children in document order: text nodes as their text, elements as
        nodes; comments are left out. One call for what a walker needs of a level."""
        found: list[str | Node] = []
        for child in self._node.iter(include_text=True):
            if child.is_text_node:
                found.append(child.text_content or "")
            elif child.is_element_node:
                found.append(Node(child))
        return found

    def link_chars(self, in_page_weight: float = 1.0, *, large: bool = False) -> float:
        """Characters of link text below the node; in-page (``#``) links weighted apart.

        ``large`` says the subtree is big (a whole content candidate): Lexbor then finds
        the links, and Python sees only those, not every element.
        """
        total = 0.0
        if large:
            anchors = self._node.css("a")
        else:
            anchor = _anchor_id()
            anchors = [n for n in self._node.traverse(include_text=False) if n.tag_id == anchor]
        for node in anchors:
            href = node.attrs.get("href") or ""  # one attribute, not a dict of all
            weight = in_page_weight if href.startswith("#") else 1.0
            total += len(node.text(deep=True)) * weight
        return total

    def contains_tag(self, tags: frozenset[str]) -> bool:
        """Whether any element below the node has one of ``tags`` (stops at the first)."""
        wanted = _tag_ids(tags)
        nodes = self._node.traverse(include_text=False)
        next(nodes, None)
        return any(node.tag_id in wanted for node in nodes)

    def census(self, in_page_weight: float = 1.0) -> Census:
        """Tag counts and weighted link text below the node, in one walk."""
        counts: dict[str, int] = {}
        linked = 0.0
        anchor = _anchor_id()
        names = _tag_names_by_id(_CENSUS_TAGS)
        nodes = self._node.traverse(include_text=False)
        next(nodes, None)
        for node in nodes:
            tag_id = node.tag_id
            name = names.get(tag_id)
            if name is None:
                continue
            counts[name] = counts.get(name, 0) + 1
            if tag_id == anchor:
                href = node.attrs.get("href") or ""  # one attribute, not a dict of all
                weight = in_page_weight if href.startswith("#") else 1.0
                linked += len(node.text(deep=True)) * weight
        return Census(counts, linked)

    def tagged_elements(
        self, tags: frozenset[str], described: frozenset[str]
    ) -> list[TaggedElement]:
        """Elements below the node whose tag is in ``tags``, in document order (the node
        itself excluded): (position, tag, class/id hints, itemprop, node). Hints (as
        :meth:`hints`) and the lower-cased itemprop are read only for ``described`` tags.

        One walk in Python beats a long CSS list of tag names, which Lexbor matches
        in one pass over the tree per name; tag numbers are compared, not names.
        """
        names = _tag_names_by_id(tags)
        found: list[TaggedElement] = []
        nodes = self._node.traverse(include_text=False)
        next(nodes, None)
        for index, node in enumerate(nodes):
            tag = names.get(node.tag_id)
            if tag is None:
                continue
            attributes = node.attributes if tag in described else None
            if not attributes:
                found.append((index, tag, "", "", Node(node)))
                continue
            hints = _hints(attributes.get("class"), attributes.get("id"))
            itemprop = attributes.get("itemprop")
            found.append((index, tag, hints, itemprop.lower() if itemprop else "", Node(node)))
        return found

    def ancestors(self) -> Iterator[Node]:
        parent = self._node.parent
        while parent is not None:
            yield Node(parent)
            parent = parent.parent

    def element_ancestors(self, levels: int) -> list[Node]:
        """Up to ``levels`` ancestors, nearest first, stopping below ``<html>``."""
        found: list[Node] = []
        html = _html_id()
        parent = self._node.parent
        while parent is not None and len(found) < levels:
            if not parent.is_element_node or parent.tag_id == html:
                break
            found.append(Node(parent))
            parent = parent.parent
        return found

    def remove(self) -> None:
        self._node.decompose(recursive=True)

    def unwrap(self) -> None:
        self._node.unwrap()


# (position in document order, tag, class/id hints, itemprop, node): plain tuples, as
# thousands are made per page.
TaggedElement = tuple[int, str, str, str, Node]


class Document:
    """A parsed HTML page."""

    __slots__ = ("_tree",)

    def __init__(self, tree: LexborHTMLParser) -> None:
        self._tree = tree

    @property
    def root(self) -> Node | None:
        root = self._tree.root
        return None if root is None else Node(root)

    @property
    def head(self) -> Node | None:
        head = self._tree.head
        return None if head is None else Node(head)

    @property
    def body(self) -> Node | None:
        body = self._tree.body
        return None if body is None else Node(body)

    def select(self, css: str) -> list[Node]:
        return [Node(n) for n in self._tree.css(css)]

    def select_first(self, css: str) -> Node | None:
        found = self._tree.css_first(css)
        return None if found is None else Node(found)

    def remove(self, css: str) -> int:
        """Remove every element matching ``css``; returns how many were removed."""
        nodes = self._tree.css(css)
        # Deepest last in document order: removing in reverse never touches a freed node.
        for node in reversed(nodes):
            node.decompose(recursive=True)
        return len(nodes)


class SelectorError(ValueError):
    """A CSS selector Lexbor cannot parse; the message names the selector."""


def check_selector(css: str) -> None:
    """Raise :class:`SelectorError` if ``css`` is not a selector Lexbor understands.

    For validating per-site selectors (config.toml ``content``/``remove``) up front.
    """
    try:
        LexborHTMLParser("<p></p>").css(css)
    except (SelectolaxError, ValueError, TypeError) as error:
        raise SelectorError(f"invalid CSS selector {css!r}: {error}") from error


def remove_nodes(nodes: Sequence[Node]) -> None:
    """Remove nodes listed in document order, even when some contain others.

    Removing in reverse order takes descendants before their ancestors, so no
    node is touched after Lexbor has freed it.
    """
    for node in reversed(nodes):
        node._node.decompose(recursive=True)


# Lexbor's tree builder costs time with the square of the nesting of block elements: past
# this many of them in a page, its nesting is capped (scraper/nesting.py) before parsing.
_MANY_BLOCKS = 4096
_BLOCK_STARTS = ("<div", "<DIV", "<Div", "<section", "<blockquote", "<ul", "<ol", "<li", "<dl")


def _parse_tree(html: str, options: int = 0) -> LexborHTMLParser:
    """Lexbor's tree of ``html``, no element nested deeper than browsers nest them (512).

    Every later pass over the tree is then linear in the page. Counting is cheap and
    settles most pages; a page with many block elements has its nesting capped before
    parsing, and a parsed tree whose first or last line of descendants is too deep
    (unclosed ``<div>``, the common case) is parsed again with its nesting capped.
    """
    if not isinstance(html, str):  # Lexbor's own TypeError names what it was given
        return LexborHTMLParser(html, options=options)
    tags = html.count("<")
    if tags <= MAX_DEPTH:
        return LexborHTMLParser(html, options=options)
    if tags > _MANY_BLOCKS and sum(html.count(b) for b in _BLOCK_STARTS) > _MANY_BLOCKS:
        return LexborHTMLParser(cap_nesting(html), options=options)
    tree = LexborHTMLParser(html, options=options)
    root = tree.root
    if root is not None and _nests_deeper(root, MAX_DEPTH):
        return LexborHTMLParser(cap_nesting(html), options=options)
    return tree


def _nests_deeper(root: LexborNode, limit: int) -> bool:
    """Whether the chain of first or of last element children goes deeper than ``limit``."""
    for last in (False, True):
        node: LexborNode | None = root
        depth = 0
        while node is not None:
            depth += 1
            if depth > limit:
                return True
            child = node.last_child if last else node.child
            while child is not None and not child.is_element_node:
                child = child.prev if last else child.next
            node = child
    return False


def parse(html: str) -> Document:
    """Parse an HTML string (already decoded) with Lexbor."""
    # Without DOM mutation events: they only mirror form state (<selectedcontent>),
    # which no article needs, and cost time on every insertion and removal.
    return Document(_parse_tree(html, LexborDocumentOptions.WO_EVENTS))


def page_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) links of a section or front page, in document order, once each.

    Links inside navigation, headers and footers are skipped, and so are
    fragments of the page itself and links back to the page.
    """
    tree = _parse_tree(html)
    for chrome in reversed(tree.css(_CHROME_SELECTOR)):
        chrome.decompose(recursive=True)
    page = urldefrag(base_url)[0]
    seen: set[str] = set()
    links: list[str] = []
    for anchor in tree.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        resolved = absolute_url(base_url, href)
        if resolved is None:
            continue  # a link urllib cannot read (http://[bad): that one only
        absolute = urldefrag(resolved)[0]
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        if absolute == page or absolute in seen or parts.path in ("", "/"):
            continue
        seen.add(absolute)
        links.append(absolute)
    return links
