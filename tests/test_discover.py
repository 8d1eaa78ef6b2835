"""Finding article URLs in feeds, sitemaps and section pages."""

from __future__ import annotations

import gzip
import re

import pytest

from scraper.discover import (
    DiscoveryError,
    article_links,
    feed_links,
    looks_like_section,
    normalise_url,
    parse_sitemap,
)
from scraper.kinds import KINDS


def sniff(body: bytes, content_type: str | None) -> str | None:
    """The name of the kind an ``auto`` source's first response is taken for."""
    kind = KINDS.sniff(body, content_type)
    return None if kind is None else kind.name


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Paper</title>
<entry><title>One</title><link href="/2026/one.html?utm_source=rss#top"/><id>1</id></entry>
<entry><title>Two</title><link href="https://paper.test/2026/two.html"/><id>2</id></entry>
<entry><title>One again</title><link href="/2026/one.html"/><id>3</id></entry>
</feed>"""

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://paper.test/old.html</loc><lastmod>2026-01-01</lastmod></url>
<url><loc>https://paper.test/new.html</loc>
  <news:news><news:publication_date>2026-11-28T10:00:00Z</news:publication_date></news:news></url>
</urlset>"""

INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://paper.test/sitemap-2025.xml</loc><lastmod>2025-12-31</lastmod></sitemap>
<sitemap><loc>https://paper.test/sitemap-2026.xml</loc><lastmod>2026-11-28</lastmod></sitemap>
</sitemapindex>"""


def test_sniff_tells_feeds_sitemaps_and_pages_apart() -> None:
    assert sniff(ATOM, "application/xml") == "feed"
    assert sniff(b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>', None) == "feed"
    assert sniff(SITEMAP, "text/xml") == "sitemap"
    assert sniff(gzip.compress(SITEMAP), "application/octet-stream") == "sitemap"
    assert sniff(b"<!DOCTYPE html><html><body>x</body></html>", None) == "article"
    assert sniff(b"%PDF-1.7 binary", "application/pdf") is None


def test_feed_links_are_absolute_deduplicated_and_untracked() -> None:
    links = feed_links(ATOM, "https://paper.test/feed.atom")
    assert links == ["https://paper.test/2026/one.html", "https://paper.test/2026/two.html"]


def test_html_is_not_a_feed() -> None:
    with pytest.raises(DiscoveryError, match="not an RSS or Atom feed"):
        feed_links(b"<html><body>hello</body></html>", "https://paper.test/feed")


def test_sitemap_pages_come_newest_first_even_gzipped() -> None:
    expected = ("https://paper.test/new.html", "https://paper.test/old.html")
    assert parse_sitemap(SITEMAP, "https://paper.test/sitemap.xml").pages == expected
    assert parse_sitemap(gzip.compress(SITEMAP), "https://paper.test/s.xml.gz").pages == expected


def test_sitemap_index_lists_child_sitemaps_newest_first() -> None:
    index = parse_sitemap(INDEX, "https://paper.test/sitemap.xml")
    assert index.pages == ()
    assert index.sitemaps[0] == "https://paper.test/sitemap-2026.xml"


def test_broken_sitemaps_give_a_clear_error() -> None:
    with pytest.raises(
        DiscoveryError, match=re.escape("https://paper.test/s.xml: not a readable sitemap")
    ):
        parse_sitemap(b"<urlset><url>", "https://paper.test/s.xml")
    with pytest.raises(DiscoveryError, match="root element <html>"):
        parse_sitemap(b"<html></html>", "https://paper.test/s.xml")
    bomb = b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">
    <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
    <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
    <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
    <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
    ]><urlset><url><loc>&i;</loc></url></urlset>"""
    with pytest.raises(DiscoveryError):
        parse_sitemap(bomb, "https://paper.test/bomb.xml")


def test_normalise_url_drops_fragments_and_tracking_only() -> None:
    assert (
        normalise_url("HTTPS://Paper.Test/a?id=7&utm_medium=x&fbclid=abc#comments")
        == "https://paper.test/a?id=7"
    )
    assert normalise_url("https://paper.test") == "https://paper.test/"


def test_section_pages_are_recognised() -> None:
    assert looks_like_section("https://paper.test/", text_chars=5000, article_links=3)
    assert looks_like_section("https://paper.test/world", text_chars=400, article_links=40)
    assert not looks_like_section("https://paper.test/world/story-1", 4000, article_links=40)


def test_section_pages_yield_only_article_links_of_the_same_site() -> None:
    links = [
        "https://www.paper.test/2026/11/28/harbour-wall-to-be-rebuilt",
        "https://paper.test/world/story/48213",
        "https://znews.vn/hanh-dong-ky-la-cua-mark-zuckerberg-post1563107.html",
        "https://paper.test/world",
        "https://paper.test/tag/harbour-wall-news",
        "https://paper.test/author/jane-reporter-smith",
        "https://other.test/2026/11/28/someone-elses-long-story",
        "https://paper.test/about-us",
    ]
    found = article_links(links, "https://paper.test/world")
    assert found == links[:2]
    assert article_links(links[2:3], "https://znews.vn/cong-nghe.html") == links[2:3]


FEEDS = [
    ATOM,
    b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://p.test/</link>
<item><title>a</title><link>https://p.test/a</link></item>
<item><title>b</title><guid>https://p.test/b-guid</guid></item>
<item><title>c</title><guid isPermaLink="false">tag:p.test,c</guid></item>
<item><title>d</title><link> /relative/d </link></item></channel></rss>""",
    b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://p.test/"><title>T</title>
<link>https://p.test/</link></channel>
<item rdf:about="https://p.test/one"><title>one</title><link>https://p.test/one</link></item>
<item rdf:about="https://p.test/two"><title>two</title><link>https://p.test/two</link></item>
</rdf:RDF>""",
    b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title>x</title><link rel="enclosure" href="https://p.test/x.mp3"/>
<link rel="alternate" href="https://p.test/x"/></entry>
<entry><title>y</title><link rel="self" href="https://p.test/y.atom"/></entry></feed>""",
    # Broken XML (an unescaped &): feedparser's recovery still finds the entries.
    b"""<rss version="2.0"><channel><title>A & B</title>
<item><title>Tom & Jerry</title><link>https://p.test/tom</link></item></channel></rss>""",
]


@pytest.mark.parametrize("feed", FEEDS)
def test_the_streamed_feed_reader_finds_what_feedparser_finds(feed: bytes) -> None:
    from scraper.feeds import entry_links, parse_feed

    url = "https://p.test/feed.xml"
    assert entry_links(feed, url) == [entry.url for entry in parse_feed(feed, url).entries]
    assert entry_links(feed, url)
