"""Bound how deeply an HTML page nests before it is parsed, as browsers do.

Lexbor's tree builder looks down its stack of open elements at every block start tag, so
a page of 200,000 unclosed ``<div>`` costs time with the square of its depth, and so does
every pass over the tree after it. Browsers cap the depth (Blink at 512): an element that
would be deeper becomes a sibling of the deepest one. We cap at 128: none of the 2,010
pages of ../shared/data nests past 64, and the passes that read a container's whole
subtree (text, census, ``:has``) then cost at most 128 times the page.
:func:`cap_nesting` rewrites the markup to the same effect, in one pass over its tags:
before a start tag that would go past the cap it closes the deepest open element, and it
drops that element's own end tag when it comes. Text, attributes and every tag within the
cap stay as they were.

The open elements are modelled as the HTML standard builds them, closely enough to count:
void elements open nothing, ``<p>``, ``<li>``, ``<td>`` and their kind close one another,
an end tag closes up to the nearest open element of its name (an inline one not past a
block), and raw text (``<script>``, ``<style>``, ...) holds no tags.
"""

from __future__ import annotations

import re

MAX_DEPTH = 128

_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^<>]*?(/?)>|<!--")
_VOID = frozenset(
    [
        "area",
        "base",
        "basefont",
        "bgsound",
        "br",
        "col",
        "embed",
        "frame",
        "hr",
        "image",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "html",
        "head",
        "body",
    ]
)
_RAW_TEXT = {
    name: re.compile(f"</{name}", re.IGNORECASE)
    for name in ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"]
}
# Start tags that close an open <p> (the HTML standard's list).
_CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
        "dd",
        "dt",
    ]
)
# A start tag closes an open element of these names when it is near the top of the stack,
# stopping at the boundaries given.
_CLOSES = {
    "li": (frozenset({"li"}), frozenset({"ul", "ol", "menu"})),
    "dt": (frozenset({"dt", "dd"}), frozenset({"dl"})),
    "dd": (frozenset({"dt", "dd"}), frozenset({"dl"})),
    "option": (frozenset({"option"}), frozenset({"select", "datalist", "optgroup"})),
    "tr": (frozenset({"tr", "td", "th"}), frozenset({"table", "tbody", "thead", "tfoot"})),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "tbody": (frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"}), frozenset({"table"})),
    "thead": (frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"}), frozenset({"table"})),
    "tfoot": (frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"}), frozenset({"table"})),
    "a": (frozenset({"a"}), _CLOSES_P),
}
_NEAR_TOP = 8  # how far down the stack those implicit closes look
_INLINE_REACH = 64  # and how far an inline end tag looks for its element
# Inline end tags do not close past these (the standard's "special" elements, in short).
_SPECIAL = _CLOSES_P | frozenset({"td", "th", "tr", "table", "tbody", "thead", "tfoot"})


def cap_nesting(html: str, max_depth: int = MAX_DEPTH) -> str:
    """``html`` with no element nested deeper than ``max_depth``; unchanged when none was."""
    names: list[str] = []  # the open elements, outermost first, as if nothing were capped
    real: list[bool] = []  # False for those closed early, whose end tag is dropped
    open_count: dict[str, int] = {}
    depth = 0  # elements really open
    parts: list[str] = []
    copied = 0  # html[:copied] is in parts
    position = 0
    while True:
        match = _TOKEN.search(html, position)
        if match is None:
            break
        position = match.end()
        closing, raw_name, self_closing = match.groups()
        if raw_name is None:  # a comment: skip to its end
            end = html.find("-->", position)
            if end < 0:
                break
            position = end + 3
            continue
        name = raw_name.lower()
        if closing:
            count = open_count.get(name, 0)
            if not count:
                continue
            index = _nearest(names, name, name not in _SPECIAL)
            if index < 0:
                continue
            dropped = not real[index]
            for _ in range(len(names) - index):
                popped = names.pop()
                open_count[popped] -= 1
                if real.pop():
                    depth -= 1
            if dropped:
                parts.append(html[copied : match.start()])
                copied = match.end()
            continue
        if name in _VOID or self_closing:
            continue
        raw_end = _RAW_TEXT.get(name)
        if raw_end is not None:
            found = raw_end.search(html, position)
            if found is None:
                break
            position = found.start()
            continue
        if names:
            depth -= _implicit_closes(name, names, real, open_count)
        if depth >= max_depth:
            # Close the deepest open element first: the new one becomes its sibling.
            deepest = len(real) - 1
            while not real[deepest]:
                deepest -= 1
            real[deepest] = False
            depth -= 1
            parts.append(html[copied : match.start()])
            parts.append(f"</{names[deepest]}>")
            copied = match.start()
        names.append(name)
        real.append(True)
        open_count[name] = open_count.get(name, 0) + 1
        depth += 1
    if not parts:
        return html
    parts.append(html[copied:])
    return "".join(parts)


def _nearest(names: list[str], name: str, inline: bool) -> int:
    """Index of the nearest open ``name``; -1 when an inline end tag would pass a block."""
    lowest = max(len(names) - _INLINE_REACH, 0) if inline else 0
    for index in range(len(names) - 1, lowest - 1, -1):
        found = names[index]
        if found == name:
            return index
        if inline and found in _SPECIAL:
            return -1
    return -1


def _implicit_closes(
    name: str, names: list[str], real: list[bool], open_count: dict[str, int]
) -> int:
    """Close what the start tag ``name`` closes by itself; returns how many were really open."""
    closed_real = 0
    target = -1
    if name in _CLOSES_P and open_count.get("p", 0):
        target = _nearest_within(names, frozenset({"p"}), _SPECIAL - {"p"})
    closes = _CLOSES.get(name)
    if target < 0 and closes is not None:
        target = _nearest_within(names, *closes)
    if target < 0:
        return 0
    for _ in range(len(names) - target):
        popped = names.pop()
        open_count[popped] -= 1
        if real.pop():
            closed_real += 1
    return closed_real


def _nearest_within(names: list[str], wanted: frozenset[str], stops: frozenset[str]) -> int:
    """Index of the nearest open element in ``wanted`` near the top, not past ``stops``."""
    lowest = max(len(names) - _NEAR_TOP, 0)
    for index in range(len(names) - 1, lowest - 1, -1):
        found = names[index]
        if found in wanted:
            return index
        if found in stops:
            return -1
    return -1
