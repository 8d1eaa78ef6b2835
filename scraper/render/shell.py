"""The ``auto`` test: does the plain page need a browser to show its article?

A page is rendered when it has little readable text and one of these:

- a ``<noscript>`` that asks for JavaScript ("enable JavaScript", "requires JavaScript");
- a known single-page-app root (``#root``, ``#app``, ``#__next``, ...) with nothing in it;
- scripts and nothing else to read: an app shell.

A page with an article's worth of text is never rendered: ``auto`` keeps the plain path
(and its speed) for every page that does not need more.
"""

from __future__ import annotations

import re

from scraper.decode import DecodeError, decode_html
from scraper.html import parse

ENOUGH_TEXT = 400  # characters of readable text: an article is there, no browser needed
SPA_ROOTS = (
    "#root",
    "#app",
    "#__next",
    "#__nuxt",
    "#___gatsby",
    "#svelte",
    "[data-reactroot]",
    "[ng-app]",
    "app-root",
)
_ASKS_FOR_JS = re.compile(
    r"(enable|requires?|need|turn on|activate|allow)\W+(\w+\W+){0,3}javascript|javascript\W+"
    r"(\w+\W+){0,3}(required|disabled|enabled|needed)",
    re.IGNORECASE,
)
_NOT_TEXT = "script, style, noscript, template, svg"


def render_reason(body: bytes, content_type: str | None) -> str | None:
    """Why the page needs rendering, in a few words; None when the plain page will do."""
    try:
        html = decode_html(body, content_type)
    except DecodeError:
        return None
    document = parse(html)
    root = document.body
    if root is None:
        return None
    asks = any(_ASKS_FOR_JS.search(n.text(" ")) for n in document.select("noscript"))
    scripts = document.select("script")
    empty_root = next(
        (css for css in SPA_ROOTS for n in document.select(css) if not n.text().strip()), None
    )
    for node in root.select(_NOT_TEXT):
        node.remove()
    text = " ".join(root.text(" ").split())
    if len(text) >= ENOUGH_TEXT:
        return None
    if asks:
        return "a <noscript> asks for JavaScript"
    if empty_root is not None:
        return f"empty app root {empty_root}"
    if scripts:
        return f"an app shell: {len(text)} characters of text and {len(scripts)} scripts"
    return None
