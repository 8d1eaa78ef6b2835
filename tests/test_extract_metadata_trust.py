"""Metadata a reader trusts (issue 14): one golden page per field, written for these tests.

Each page states a field the careless ways real pages do; the test names what a reader
must see instead.
"""

from __future__ import annotations

import json

from scraper.extract import extract_html

STORY = (
    "The harbour wall gave way on Sunday night after three days of storms, and the water "
    "reached the market square before the fire brigade could close the old flood gate. "
)
BODY = f"<article><h1>Harbour wall gives way</h1><p>{STORY * 2}</p><p>{STORY}</p></article>"
URL = "https://paper.test/2026/harbour-wall.html"


def page(head: str, body: str = BODY) -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_title_entities_are_decoded_even_when_escaped_twice() -> None:
    article = extract_html(
        page(
            "<title>Our BI Research Shows &amp;#8211; A Mix &amp;amp; Match | Paper</title>"
            '<meta property="og:title" content="Our BI Research Shows &amp;#8211; A Mix '
            '&amp;amp; Match">'
        ),
        URL,
    )
    assert article.title == "Our BI Research Shows – A Mix & Match"


def test_description_and_section_entities_are_decoded() -> None:
    article = extract_html(
        page(
            '<meta name="description" content="Storms &amp;amp; floods: the &amp;quot;wall'
            '&amp;quot; failed &amp;#8212; again">'
            '<meta property="article:section" content="Home &amp;amp; Garden">'
        ),
        URL,
    )
    assert article.description == 'Storms & floods: the "wall" failed — again'
    assert article.section == "Home & Garden"


def test_tags_are_decoded_deduplicated_and_never_paths_or_the_headline() -> None:
    tags = [
        "Politics",
        "politics",
        "POLITICS",
        "/article",
        "news/politics/",
        "https://paper.test/tag/x",
        "&quot;Harbour&quot",
        "harbour",
        "Harbour wall gives way",
        "AC/DC",
        "Flood &amp;amp; Storm",
    ]
    article = extract_html(
        page(
            '<meta property="og:title" content="Harbour wall gives way">'
            + "".join(f'<meta property="article:tag" content="{t}">' for t in tags)
        ),
        URL,
    )
    assert article.tags == ("Politics", "Harbour", "AC/DC", "Flood & Storm")


def test_json_ld_keywords_get_the_same_checks() -> None:
    article = extract_html(
        page(
            ld(
                {
                    "@type": "NewsArticle",
                    "headline": "Harbour wall gives way",
                    "keywords": ["Storms", "storms", "/news", "Harbour wall gives way"],
                }
            )
        ),
        URL,
    )
    assert article.tags == ("Storms",)


def test_site_name_is_never_an_address() -> None:
    for stated in ("https://www.paper.test/", "www.paper.test", "paper.test", "@thepaper"):
        article = extract_html(
            page(
                f'<meta property="og:site_name" content="{stated}">'
                '<meta name="application-name" content="The Harbour Paper">'
            ),
            URL,
        )
        assert article.site_name == "The Harbour Paper", stated


def test_site_name_is_never_the_section() -> None:
    article = extract_html(
        page(
            ld(
                {
                    "@type": "NewsArticle",
                    "headline": "Harbour wall gives way",
                    "articleSection": "U.S.",
                    "publisher": {"@type": "Organization", "name": "U.S."},
                }
            )
            + '<meta property="og:site_name" content="The Harbour Paper">'
        ),
        URL,
    )
    assert article.section == "U.S."
    assert article.site_name == "The Harbour Paper"


def test_site_name_entities_are_decoded() -> None:
    article = extract_html(
        page('<meta property="og:site_name" content="Smith &amp;amp; Sons Gazette">'), URL
    )
    assert article.site_name == "Smith & Sons Gazette"


def test_byline_is_the_person_not_the_station() -> None:
    article = extract_html(
        page(
            ld(
                {
                    "@type": "NewsArticle",
                    "headline": "Harbour wall gives way",
                    "author": [
                        {"@type": "Organization", "name": "WTOP"},
                        {"@type": "Person", "name": "Jane Doe"},
                        {"@type": "Organization", "name": "Harbour News Radio"},
                    ],
                }
            )
        ),
        URL,
    )
    assert article.byline == ("Jane Doe",)


def test_byline_stated_as_the_site_reads_the_reporter_from_the_page() -> None:
    body = BODY.replace(
        "<h1>Harbour wall gives way</h1>",
        '<h1>Harbour wall gives way</h1><div class="byline">By <a rel="author" '
        'href="/staff/jane">Jane Doe</a></div>',
    )
    article = extract_html(
        page(
            '<meta name="author" content="KSL.com">'
            '<meta property="og:site_name" content="KSL.com">',
            body,
        ),
        URL,
    )
    assert article.byline == ("Jane Doe",)


def test_a_staff_line_alone_stays_the_byline_and_names_are_decoded() -> None:
    article = extract_html(page('<meta name="author" content="Staff Report">'), URL)
    assert article.byline == ("Staff Report",)
    article = extract_html(page('<meta name="author" content="Zoë O&amp;#8217;Brien">'), URL)
    assert article.byline == ("Zoë O’Brien",)


def test_image_button_text_is_never_body_text_or_caption() -> None:
    body = (
        f"<article><h1>Harbour wall gives way</h1><p>{STORY * 2}</p>"
        '<figure><img src="/a.jpg"><button>Enlarge Image</button>'
        "<figcaption>The broken wall. Photo: Harbour Press</figcaption></figure>"
        '<figure><img src="/b.jpg"><b class="toggle">toggle caption</b>'
        "<div>Crowds on the quay at dawn. Photo: AP</div></figure>"
        '<div class="image"><img src="/c.jpg"><a href="#">Enlarge this image</a></div>'
        f"<p>Enlarge Image</p><p>{STORY}</p></article>"
    )
    article = extract_html(page("", body), URL)
    assert not any("nlarge" in p or "toggle" in p for p in article.paragraphs)
    assert [image.caption for image in article.images] == [
        "The broken wall.",
        "Crowds on the quay at dawn.",
        None,
    ]
