"""The extractor's public functions on the seed fixture, a news-like HTML page and bad input."""

from __future__ import annotations

import gc
import io
import json
from pathlib import Path
from typing import cast

import pytest

from scraper.extract import (
    EXTRACTOR_VERSION,
    article_to_json,
    extract_document,
    extract_html,
    extract_jsonl,
    extract_text,
)
from scraper.html import SelectorError, check_selector, page_links

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED = SHARED / "fixtures" / "seed"
GOLDEN = Path(__file__).parent / "golden"
CLEAN_FIELDS = ("paragraphs", "images", "source_url", "comment_count", "language")


@pytest.mark.shared
def test_seed_noisy_text_cleans_to_seed_clean_json() -> None:
    if not (SEED / "article-noisy.txt").exists():
        pytest.skip("../shared/fixtures/seed is absent")
    noisy = (SEED / "article-noisy.txt").read_text(encoding="utf-8")
    expected = json.loads((SEED / "article-clean.json").read_text(encoding="utf-8"))
    for article in (extract_document(noisy), extract_text(noisy)):
        data = article_to_json(article)
        assert {k: data[k] for k in CLEAN_FIELDS} == {k: expected[k] for k in CLEAN_FIELDS}


def test_news_page_html_gives_the_clean_article() -> None:
    """A news page with caption tables, credits, share bar, related links and a comment widget."""
    html = (GOLDEN / "news-de-caption-tables" / "page.html").read_text(encoding="utf-8")
    article = extract_document(html, "https://znews.vn/de/mark-zuckerbergs-seltsame-aktion.html")
    assert len(article.paragraphs) == 15
    assert article.paragraphs[0].startswith("Um Meta im KI-Wettlauf")
    assert article.paragraphs[3] == "Unerwartete Aktion"
    assert article.paragraphs[-1].endswith("das Blatt zu wenden.")
    text = article.text
    for noise in (
        "Foto:",
        "Teilen",
        "Kommentar",
        "Quelle:",
        "Lesen Sie auch",
        "Cookies",
        "Newsletter",
        "Startseite",
        "Schlagworte",
        "Anzeige",
        "Rechte vorbehalten",
    ):
        assert noise not in text
    assert [(i.caption, i.credit) for i in article.images] == [
        ("Mark Zuckerberg suchte persönlich nach Talenten für Meta.", "WSJ"),
        (
            "Mark Zuckerberg überraschte alle, indem er den Kandidaten persönlich "
            "E-Mails schickte.",
            "Bloomberg",
        ),
        (
            "Der CEO von Meta möchte ein neues Expertenteam zusammenstellen, um eine Super-KI zu "
            "entwickeln.",
            "Bloomberg",
        ),
    ]
    assert article.images[1].src == "https://znews.vn/Uploaded/zuckerberg-2.jpg"
    assert article.source_url == (
        "https://znews.vn/hanh-dong-ky-la-cua-mark-zuckerberg-post1563107.html"
    )
    assert article.comment_count == 0
    assert article.language == "de"
    assert article.title == "Mark Zuckerbergs seltsame Aktion"
    assert article.byline == ("Minh Anh",)
    assert article.published == "2025-06-30T08:15:00+07:00"
    assert article.extractor_version == EXTRACTOR_VERSION


@pytest.mark.shared
def test_news_page_html_matches_the_seed_clean_result() -> None:
    if not (SEED / "article-clean.json").exists():
        pytest.skip("../shared/fixtures/seed is absent")
    expected = json.loads((SEED / "article-clean.json").read_text(encoding="utf-8"))
    html = (GOLDEN / "news-de-caption-tables" / "page.html").read_text(encoding="utf-8")
    data = article_to_json(extract_html(html, "https://znews.vn/de/x.html"))
    for key in ("paragraphs", "source_url", "comment_count", "language"):
        assert data[key] == expected[key]
    assert [{k: i[k] for k in ("caption", "credit")} for i in data["images"]] == expected["images"]


def test_markdown_input_keeps_headings_lists_and_quotes_as_paragraphs() -> None:
    text = (
        "# Ein Titel\n\nErster Absatz mit einem [Link](https://example.org) und **Betonung**.\n\n"
        "![Ein Bild](https://example.org/a.jpg)\nDas Bild zeigt etwas. Foto: Agentur\n\n"
        "- Punkt eins\n- Punkt zwei\n\n> Ein Zitat.\n\nTeilen\n\nKommentare (12)\n"
    )
    article = extract_text(text)
    assert article.paragraphs == (
        "Ein Titel",
        "Erster Absatz mit einem Link und Betonung.",
        "Punkt eins",
        "Punkt zwei",
        "Ein Zitat.",
    )
    assert article.images[0].src == "https://example.org/a.jpg"
    assert article.images[0].caption == "Das Bild zeigt etwas."
    assert article.images[0].credit == "Agentur"
    assert article.comment_count == 12


def test_site_selectors_override_the_generic_rules() -> None:
    html = (
        "<html><body><div class='teaser-box'><p>Dies ist der eigentliche Artikeltext, den die "
        "Seite in einem seltsam benannten Kasten versteckt, lang genug für einen Absatz.</p>"
        "<p class='ad-note'>Werbung für etwas ganz anderes, das niemand lesen will.</p></div>"
        "<div class='main'><p>Ein anderer, längerer Text, der wie ein Artikel aussieht, mit "
        "Kommas, vielen Wörtern, und noch mehr Wörtern, damit er gewinnt, wenn nichts "
        "anderes gesagt ist.</p></div></body></html>"
    )
    article = extract_html(html, content=[".teaser-box"], remove=[".ad-note"])
    assert article.paragraphs == (
        "Dies ist der eigentliche Artikeltext, den die Seite in einem seltsam benannten Kasten "
        "versteckt, lang genug für einen Absatz.",
    )


def test_a_page_that_renders_with_scripts_falls_back_to_json_ld_article_body() -> None:
    html = (
        "<html><head><script type='application/ld+json'>"
        '{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Parkbeschluss",'
        ' "articleBody": "Der Stadtrat hat den Park beschlossen.\\nDie Arbeiten beginnen im '
        'Frühjahr, sagte die Bürgermeisterin."}'
        "</script></head><body><div id='app'></div><script>render()</script></body></html>"
    )
    article = extract_html(html)
    assert article.title == "Parkbeschluss"
    assert article.paragraphs == (
        "Der Stadtrat hat den Park beschlossen.",
        "Die Arbeiten beginnen im Frühjahr, sagte die Bürgermeisterin.",
    )


def test_a_refetch_that_changes_only_counters_and_relative_times_reads_the_same() -> None:
    """View counts, "3 hours ago" and comment counters must not look like an edit."""

    def page(views: str, age: str, comments: int) -> str:
        return (
            "<html lang='de'><body><article><h1>Parkbeschluss</h1>"
            f"<p class='meta'>{age}</p><p>{views}</p>"
            "<p>Der Stadtrat hat am Dienstag beschlossen, den alten Güterbahnhof in einen "
            "öffentlichen Park umzuwandeln, und damit einen langen Streit beendet.</p>"
            "<p>Der erste Abschnitt soll im kommenden Frühjahr eröffnen, sagte die Stadt.</p>"
            f"<div class='comment-count'>Kommentare ({comments})</div></article></body></html>"
        )

    first = extract_html(page("12 Aufrufe", "vor 3 Stunden", 0))
    later = extract_html(page("1.204 Aufrufe", "vor 2 Tagen", 5))
    assert first.paragraphs == later.paragraphs
    assert len(first.paragraphs) == 2
    assert (first.comment_count, later.comment_count) == (0, 5)


@pytest.mark.parametrize(
    "dateline",
    [
        "Updated: 8 April 2015 12:46",
        "Submitted on Mon, 2019-01-21 13:49",
        "08.04.2015 12:46",
        "Aktualisiert am 08.04.2015, 12:46 Uhr",
        "Publié le 8 avril 2015 à 12h46",
        "Cập nhật: 08/04/2015 12:46",
        "发布时间：2015年4月8日 12:46",
    ],
)
def test_a_dateline_is_metadata_not_article_text(dateline: str) -> None:
    """A line that is only a (labelled, or timed) date goes; dates in prose and bare
    dates in a table of the article stay."""
    prose = [
        "The harbour reopened on Monday after a month of repairs to the sea wall, the port said.",
        "The first ferry left at 12:46 on 8 April 2015, and the cafes were full by evening.",
    ]
    html = (
        f"<html><body><article><h1>Harbour</h1><p>{dateline}</p>"
        f"<p>{prose[0]}</p><p>{prose[1]}</p>"
        "<table><tr><td>April 2014</td><td>Sea wall cracks</td></tr>"
        "<tr><td>May 2015</td><td>Repairs begin</td></tr></table>"
        "</article></body></html>"
    )
    article = extract_html(html, "https://example.com/harbour")
    assert dateline not in article.paragraphs
    assert article.paragraphs[:2] == tuple(prose)
    assert "April 2014" in " ".join(article.paragraphs)


def test_continue_reading_interstitials_between_paragraphs_are_not_article_text() -> None:
    """Lines that sites put between a story's parts around an ad are furniture."""
    parts = [
        "The harbour reopened on Monday after a month of repairs to the sea wall, the port said.",
        "Fishing boats were the first to return, followed by the ferry to the islands at noon.",
        "The repairs cost more than planned, and the council will discuss the bill next week.",
        "Residents said they were glad to see the boats back, and the cafes were full by evening.",
    ]
    interstitials = [
        "Continue reading the main story",
        "Story continues below advertisement",
        "Article continues below",
    ]
    body = "".join(
        f"<p>{part}</p><div class='interrupter'><a href='#p{i}'>{line}</a></div>"
        for i, (part, line) in enumerate(zip(parts, interstitials, strict=False))
    )
    last = f"<p>{parts[-1]}</p>"
    html = f"<html lang=en><body><article><h1>Harbour</h1>{body}{last}</article></body></html>"
    article = extract_html(html, "https://example.com/harbour")
    assert article.paragraphs == tuple(parts)


def test_a_commenters_name_is_not_the_articles_byline() -> None:
    """A reader comment's byline, even one earlier in the page, names a commenter."""
    prose = "<p>The ferry timetable changes on Monday, with two more crossings each day.</p>" * 4
    in_a_list = (
        "<aside><ul class='comments-list'><li class='comment'><div class='byline'>J</div>"
        "<p>About time.</p></li></ul></aside>"
    )
    # "article" in the class does not make the comments an article.
    in_article_comments = (
        "<div class='article-comments'><div class='byline'>Sky</div><p>Finally.</p></div>"
    )

    def page(comments: str, article_class: str = "story") -> str:
        return (
            f"<html lang=en><body>{comments}<article class='{article_class}'><h1>Ferry</h1>"
            f"<p class='byline'>By Maria Lopez</p>{prose}</article></body></html>"
        )

    assert extract_html(page(in_a_list)).byline == ("Maria Lopez",)
    assert extract_html(page(in_article_comments)).byline == ("Maria Lopez",)
    # "commentary" holds the word comment, but an opinion article is not a comment.
    assert extract_html(page(in_a_list, "commentary-article")).byline == ("Maria Lopez",)


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("Joe Wee Monday, February 29, 2016 @ 11:10 PM UTC", ("Joe Wee",)),
        ("Von Max Muster, Montag, 4. März 2025", ("Max Muster",)),
        ("Par Claire Dubois, le mardi 4 mars 2025", ("Claire Dubois",)),
        ("By Ana Ruiz and Luis Gómez, March 4, 2025", ("Ana Ruiz", "Luis Gómez")),
    ],
)
def test_a_date_after_the_byline_names_is_not_a_name(line: str, names: tuple[str, ...]) -> None:
    prose = "<p>The ferry timetable changes on Monday, with two more crossings each day.</p>" * 4
    html = (
        f"<html><body><article><h1>Ferry</h1><div class='article-author'>{line}</div>"
        f"{prose}</article></body></html>"
    )
    assert extract_html(html).byline == names


def test_hidden_elements_are_not_article_text_but_visible_ones_are() -> None:
    """hidden, aria-hidden=true, ARIA landmarks and display:none go; their look-alikes stay."""
    prose = "The council voted on Tuesday to keep the library open, after a long debate. "
    hidden = [
        "<p hidden>Bare hidden attribute text.</p>",
        '<p hidden="">Empty hidden attribute text.</p>',
        '<div aria-hidden="true"><p>Screen-reader-hidden text.</p></div>',
        '<div role="navigation"><p>Landmark navigation text.</p></div>',
        '<p style="color:red;display:none">Styled-away text.</p>',
        '<span style="visibility: hidden">Invisible span text.</span>',
    ]
    visible = [
        '<p aria-hidden="false">Announced paragraph stays.</p>',
        '<p role="note">A note paragraph stays.</p>',
        '<p style="display: block">A block paragraph stays.</p>',
    ]
    html = (
        "<html lang=en><body><article><h1>Library</h1>"
        + "".join(f"<p>{prose * 3}</p>{h}{v}" for h, v in zip(hidden, visible * 2, strict=True))
        + "</article></body></html>"
    )
    text = extract_html(html, "https://example.com/library").text
    for gone in (
        "Bare hidden",
        "Empty hidden",
        "Screen-reader",
        "Landmark",
        "Styled-away",
        "Invisible",
    ):
        assert gone not in text
    for kept in ("Announced paragraph", "A note paragraph", "A block paragraph"):
        assert kept in text


def test_dublin_core_meta_in_its_dotted_spellings_is_read() -> None:
    """DC.Date.Issued, dcterms.modified, DC.publisher, dc.language: as publishers write them."""
    html = (
        "<html><head>"
        '<meta name="DC.Date.Issued" content="2014-12-15">'
        '<meta name="dcterms.modified" content="2015-01-02T10:00:00+01:00">'
        '<meta name="DC.publisher" content="Internet Engineering Task Force">'
        '<meta name="dc.language" content="en-GB">'
        "</head><body><article><h1>A protocol</h1>"
        + "<p>This draft describes a protocol by which client-side applications talk to a "
        "storage server on another domain, and how access is granted.</p>"
        * 4
        + "</article></body></html>"
    )
    article = extract_html(html, "https://example.org/draft")
    assert article.published == "2014-12-15"
    assert article.modified == "2015-01-02T10:00:00+01:00"
    assert article.site_name == "Internet Engineering Task Force"
    assert article.language == "en"


def test_extraction_leaves_the_cycle_collector_as_it_found_it() -> None:
    """extract_html pauses the collector while it works, and restores its state, even on error."""
    page = (
        "<html><body><article><p>" + "Words of the article, " * 20 + "</p></article></body></html>"
    )
    assert gc.isenabled()
    extract_html(page)
    assert gc.isenabled()
    with pytest.raises(TypeError):  # fails inside the extraction, not before it
        extract_html(cast(str, None))
    assert gc.isenabled()
    gc.disable()
    try:
        extract_html(page)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_bad_site_selector_is_named_in_the_error() -> None:
    with pytest.raises(SelectorError, match=r"div\[\["):
        extract_html("<p>Ein Absatz.</p>", content=["div[["])
    with pytest.raises(SelectorError, match="::bogus"):
        check_selector("::bogus(")
    check_selector("article .body > p")  # a good one passes


def test_jsonl_stream_answers_every_line_in_order_and_survives_bad_lines() -> None:
    page = (GOLDEN / "news-de-caption-tables" / "page.html").read_text(encoding="utf-8")
    lines = [
        json.dumps({"id": 1, "url": "https://znews.vn/de/a.html", "html": page}).encode(),
        b"this is not json",
        json.dumps({"id": "three", "url": "https://znews.vn/de/b.html"}).encode(),
        json.dumps({"id": 4, "html": "<p>Kurzer Text.</p>"}).encode(),
    ]
    out = io.BytesIO()
    extract_jsonl(lines, out)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r.get("id") for r in results] == [1, None, "three", 4]
    assert results[0]["title"] == "Mark Zuckerbergs seltsame Aktion"
    assert results[0]["text"].startswith("Um Meta im KI-Wettlauf")
    assert results[0]["comment_count"] == 0
    assert "error" in results[1] and "line 2" in results[1]["error"]
    assert "html" in results[2]["error"]
    assert results[3]["text"] == "Kurzer Text."


def test_empty_and_garbage_input_gives_an_empty_article_not_an_error() -> None:
    assert extract_html("").paragraphs == ()
    assert extract_html("<html><head><title>Nur ein Titel</title></head></html>").paragraphs == ()
    assert extract_document("<div><span></span></div>").paragraphs == ()
    assert extract_text("").paragraphs == ()
    assert extract_document("\x00\x01 <<<>>>").text == "\x00\x01 <<<>>>"  # text stays text


def test_related_posts_and_likes_bars_are_noise_though_their_names_say_post() -> None:
    # Jetpack (WordPress): "post" in these names would rescue them as possible content.
    prose = "The council voted on Tuesday to turn the old freight yard into a park. " * 4
    html = f"""<html><body><article class="post hentry"><div class="entry-content">
      <p>{prose}</p>
      <div class="sharedaddy sd-block sd-like" id="like-post-wrapper-1">
        <h3 class="sd-title">Like this:</h3><span>Like Loading...</span></div>
      <div id="jp-relatedposts" class="jp-relatedposts">
        <h3 class="jp-relatedposts-headline">Related</h3>
        <div class="jp-relatedposts-post"><h4>Another story about the park board</h4>
          <p class="jp-relatedposts-post-excerpt">The park board met again, and again, and
          argued about benches, trees, lamps, paths, fences, fountains and the budget.</p>
          <p class="jp-relatedposts-post-date">March 17, 2016</p></div>
      </div></div></article></body></html>"""
    assert extract_html(html).paragraphs == (prose.strip(),)


def test_links_urllib_cannot_parse_are_dropped_not_fatal_to_the_page() -> None:
    prose = "The council voted on Tuesday to turn the old freight yard into a park. " * 4
    html = (
        '<html><head><link rel="canonical" href="http://[bad/">'
        '<meta property="og:image" content="https://[::1/top.jpg"></head><body><article>'
        f'<p>{prose}</p><img src="http://[broken/a.jpg" alt="broken">'
        '<img src="/img/b.jpg" alt="kept"></article></body></html>'
    )
    article = extract_html(html, "https://news.example/2026/park.html")
    assert article.paragraphs == (prose.strip(),)
    assert [image.src for image in article.images] == ["https://news.example/img/b.jpg"]
    assert article.canonical_url is None
    assert article.top_image is None


def test_absurdly_deep_pages_are_read_without_hitting_the_recursion_limit() -> None:
    sentence = "Deep text, with commas, and enough characters to count as a paragraph."
    nested_blocks = "<html><body>" + "<div>" * 3000 + f"<p>{sentence}</p>" + "</div>" * 3000
    nested_inline = "<html><body><p>" + "<span>" * 3000 + sentence + "</span>" * 3000
    nested_json = (
        "<html><head><script type='application/ld+json'>"
        + "[" * 5000
        + "]" * 5000
        + f"</script></head><body><p>{sentence}</p></body></html>"
    )
    for html in (nested_blocks, nested_inline, nested_json):
        assert extract_html(html).paragraphs == (sentence,)


def test_unparseable_dates_are_left_empty() -> None:
    html = (
        "<html><head><meta property='article:published_time' content='gestern'>"
        "<meta property='article:modified_time' content='2024-02-30T10:00:00Z'></head>"
        "<body><p>Ein Absatz mit genug Text, um als Artikel zu gelten, und mit Kommas.</p>"
        "</body></html>"
    )
    article = extract_html(html)
    assert article.published is None
    assert article.modified is None


def test_page_links_lists_article_links_in_order_without_chrome() -> None:
    html = (
        "<html><body><nav><a href='/politik'>Politik</a></nav>"
        "<header><a href='/about'>Über uns</a></header>"
        "<main><a href='/a/1.html'>Eins</a><a href='#top'>Oben</a>"
        "<a href='https://other.example/b/2.html#x'>Zwei</a><a href='/a/1.html'>Eins nochmal</a>"
        "<a href='mailto:x@example.org'>Mail</a><a href='/section/'>Hier</a>"
        "<a href='http://[broken/c.html'>Kaputt</a><a href='/a/3.html'>Drei</a></main>"
        "<footer><a href='/impressum'>Impressum</a></footer></body></html>"
    )
    assert page_links(html, "https://news.example/section/") == [
        "https://news.example/a/1.html",
        "https://other.example/b/2.html",
        "https://news.example/a/3.html",  # a link urllib cannot read costs only itself
    ]


def test_the_article_body_a_page_states_is_found_as_css_would_find_it() -> None:
    # One query serves metadata and the scan; it must pick what [itemprop=articleBody]
    # in <body> picks: exact case, whole value, nothing from <head>.
    from scraper.extract.metadata import stated_nodes
    from scraper.html import parse

    document = parse(
        "<html><head><meta itemprop=articleBody content='in head'></head><body>"
        "<div itemprop='articlebody'>lower case</div><div itemprop='articleBody'>stated</div>"
        "<div itemprop='articleBody text'>two words</div><time itemprop=articleBody>t</time>"
        "</body></html>"
    )
    found = [node.text() for node in stated_nodes(document).article_bodies]
    body = document.body
    assert body is not None
    assert found == [node.text() for node in body.select("[itemprop=articleBody]")]
    assert found == ["stated", "t"]


def test_page_builder_prefixes_do_not_make_their_blocks_noise() -> None:
    from scraper.extract.ruleset import HINT_NEGATIVE, HINT_UNLIKELY, noise_rules

    words = noise_rules().hint_words
    noise = HINT_UNLIKELY | HINT_NEGATIVE
    # A builder's own words say where a block sits: a text widget is not a sidebar widget.
    assert (
        not words.flags("elementor-element elementor-widget elementor-widget-text-editor") & noise
    )
    assert not words.flags("elementor-widget-container") & noise
    # What follows the prefix still counts, and so does a plain WordPress widget.
    assert words.flags("elementor-widget-share-buttons") & HINT_UNLIKELY
    assert words.flags("et_pb_module et_pb_promo") & HINT_UNLIKELY
    assert words.flags("widget widget_recent_entries") & HINT_UNLIKELY
