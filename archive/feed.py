"""The Atom feed of changes, as XML: entries carry the changed passage, not the whole article.

Each entry's summary is the passage as plain text (``[-deleted-]{+inserted+}``), which
any feed reader shows; its content is the same passage as HTML with ``<del>``/``<ins>``.
An ``xml-stylesheet`` instruction names an XSL stylesheet (``feed.xsl``, served beside
the feed) so that a browser opening the feed shows a readable page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

ATOM = "http://www.w3.org/2005/Atom"
STYLESHEET = Path(__file__).with_name("feed.xsl")


@dataclass(frozen=True)
class FeedEntry:
    title: str
    link: str
    updated: str  # ISO-8601
    summary: str  # plain text: the changed passage, [-old-]{+new+}
    html: str  # the same passage as sanitised HTML


@dataclass(frozen=True)
class Feed:
    title: str
    self_link: str
    updated: str
    entries: tuple[FeedEntry, ...]
    stylesheet: str | None = None  # address of the XSL stylesheet


def _text(parent: ElementTree.Element, tag: str, text: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = text
    return element


def atom(feed: Feed) -> str:
    ElementTree.register_namespace("", ATOM)
    root = ElementTree.Element(f"{{{ATOM}}}feed")
    _text(root, "title", feed.title)
    _text(root, "id", feed.self_link)
    ElementTree.SubElement(root, f"{{{ATOM}}}link", rel="self", href=feed.self_link)
    _text(root, "updated", feed.updated)
    author = ElementTree.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "newsarchive")
    for item in feed.entries:
        entry = ElementTree.SubElement(root, f"{{{ATOM}}}entry")
        _text(entry, "title", item.title)
        _text(entry, "id", item.link)
        _text(entry, "updated", item.updated)
        ElementTree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=item.link)
        _text(entry, "summary", item.summary)
        content = _text(entry, "content", item.html)  # escaped by ElementTree, type says HTML
        content.set("type", "html")
    head = "<?xml version='1.0' encoding='utf-8'?>\n"
    if feed.stylesheet is not None:
        head += f'<?xml-stylesheet type="text/xsl" href={quoteattr(feed.stylesheet)}?>\n'
    return head + ElementTree.tostring(root, encoding="unicode")
