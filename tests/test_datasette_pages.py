"""The Datasette pages as a reader reads them: served by a real ``archive serve`` on a real file.

What the HTML holds: folded column descriptions, plain lists, ``<time>`` elements, cut
addresses, changed passages in recent_changes and the feed, search snippets. The browser
checks of the same pages (what is visible) are in test_browser.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlencode
from xml.etree import ElementTree

import datasette_archive as known
import feedparser
import pytest
from datasette_server import Server, archive_serve_command, free_port, running

DB = "pages"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> known.KnownArchive:
    return known.build(tmp_path_factory.mktemp("pages") / f"{DB}.db")


@pytest.fixture(scope="module")
def server(archive: known.KnownArchive) -> Iterator[Server]:
    port = free_port()
    command = archive_serve_command(archive.path, "--host", "127.0.0.1", "--port", str(port))
    with running(command, port, archive.path.with_name("serve.log")) as started:
        yield started


def cells(page: str, column: str) -> list[str]:
    return re.findall(rf'<td class="col-{column} type-\w+">(.*?)</td>', page, flags=re.S)


@pytest.mark.parametrize("table", ["versions", "latest_articles", "recent_changes", "articles"])
def test_column_descriptions_are_folded_away_above_the_rows(server: Server, table: str) -> None:
    page = server.text(f"/{DB}/{table}")
    folded = page.split('<details class="column-help">', 1)
    assert len(folded) == 2, "the descriptions are in a closed <details>"
    assert "What the" in folded[1].split("</summary>", 1)[0]
    assert "dl.column-descriptions { display: none; }" in page


def test_tags_and_bylines_read_as_plain_lists_and_stay_json_in_the_data(
    server: Server, archive: known.KnownArchive
) -> None:
    page = server.text(f"/{DB}/latest_articles")
    assert "Haushalt, Koalition, Opposition" in cells(page, "tags")
    assert "Anna Schmidt" in cells(page, "byline")
    assert not [c for c in cells(page, "tags") + cells(page, "byline") if "[" in c]
    rows = server.json(f"/{DB}/latest_articles.json?_shape=array&article_id={archive.german_id}")
    assert rows[0]["tags"] == '["Haushalt", "Koalition", "Opposition"]'
    assert rows[0]["byline"] == '["Anna Schmidt"]'


@pytest.mark.parametrize("tag", ["Koalition", "Cửu Long", "<script>tag</script>", "nowhere"])
def test_a_tag_from_the_facet_shows_exactly_the_articles_with_it(server: Server, tag: str) -> None:
    every = server.json(f"/{DB}/latest_articles.json?_shape=array&_size=max")
    expected = sorted(r["article_id"] for r in every if tag in json.loads(r["tags"] or "[]"))
    query = urlencode({"tags__arraycontains": tag})
    shown = server.json(f"/{DB}/latest_articles.json?{query}&_shape=objects")
    assert sorted(r["article_id"] for r in shown["rows"]) == expected
    assert shown["filtered_table_rows_count"] == len(expected)
    if expected:  # the facets count the filtered rows
        facet = shown["facet_results"]["tags"]["results"]
        assert {v["value"]: v["count"] for v in facet}[tag] == len(expected)
    html = server.text(f"/{DB}/latest_articles?{query}")
    assert f"{len(expected)} row" in html


def test_times_are_time_elements_and_iso_in_the_data(server: Server) -> None:
    page = server.text(f"/{DB}/versions")
    captured = cells(page, "captured_at")
    assert captured and all(
        re.fullmatch(r'<time datetime="(\S+Z)" title="\1">\1</time>', c) for c in captured
    ), captured[:2]
    assert "toLocaleString" in page  # the script that shows them in the reader's time zone
    rows = server.json(f"/{DB}/versions.json?_shape=array&_size=1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0]["captured_at"])


def test_addresses_are_cut_to_fit_with_the_whole_address_in_a_tooltip(server: Server) -> None:
    page = server.text(f"/{DB}/latest_articles")
    url = f'<a class="cut" href="{known.GERMAN_URL}" title="{known.GERMAN_URL}" rel="nofollow">'
    assert url in page
    assert "text-overflow: ellipsis" in page


def test_recent_changes_carries_the_changed_passage_not_the_article(server: Server) -> None:
    page = server.text(f"/{DB}/recent_changes")
    header = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert header.count("<th ") <= 8, "narrow enough for a laptop screen"
    german = next(c for c in cells(page, "summary") if "Mittwoch" in c)
    passage = german.split('<div class="passage">', 1)[1]
    assert "<del>Mittwoch</del> <ins>Donnerstag</ins>" in passage
    assert "<ins>Die Opposition kündigte eine Verfassungsklage an.</ins>" in passage
    # Words far from any change are left out.
    assert "Finanzministerin" not in passage and "…" in passage
    assert "changed_fields" not in header and '["text"]' not in page


def test_feed_entries_carry_the_changed_passage_and_a_stylesheet(server: Server) -> None:
    status, body, _ = server.get("/-/changes.atom")
    assert status == 200
    assert body.splitlines()[1] == '<?xml-stylesheet type="text/xsl" href="/-/changes.xsl"?>'
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    german = next(e for e in feed.entries if "Haushaltsstreit" in e.title)
    assert "[-Mittwoch-]{+Donnerstag+}" in german.summary
    assert "{+Die Opposition kündigte eine Verfassungsklage an.+}" in german.summary
    html = german.content[0].value
    assert "<del>Mittwoch</del>" in html and "Finanzministerin" not in html
    assert len(html) < 600
    gone = next(e for e in feed.entries if e.title.startswith("disappeared"))
    assert gone.summary.startswith("Removed by the publisher (HTTP 404) at 20")
    status, xsl, headers = server.get("/-/changes.xsl")
    assert status == 200 and headers["content-type"].startswith("text/xsl")
    root = ElementTree.fromstring(xsl)
    assert root.tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"


def test_a_feed_without_changes_is_not_dated_1970(
    server: Server, archive: known.KnownArchive
) -> None:
    feed = feedparser.parse(server.text(f"/-/changes.atom?article={archive.vietnamese_id}"))
    assert feed.entries == []
    assert not feed.feed.updated.startswith("1970")


@pytest.mark.parametrize(
    ("words", "marked"),
    [("Verfassungsklage", "Verfassungsklage"), ("nguoi dan", "Người"), ("attacker", "attacker")],
)
def test_search_results_show_a_snippet_with_the_matches_marked(
    server: Server, words: str, marked: str
) -> None:
    page = server.text("/-/search?" + urlencode({"q": words, "db": DB}))
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', page, flags=re.S)
    assert len(snippets) == 1, page[-3000:]
    assert f"<mark>{marked}</mark>" in snippets[0]
    assert "<script>" not in snippets[0]


@pytest.mark.parametrize(("typed", "marked"), [("Mueller", "Müller"), ("strassen", "Straßen")])
def test_a_match_typed_without_umlauts_is_shown_in_the_articles_own_spelling(
    server: Server, typed: str, marked: str
) -> None:
    page = server.text("/-/search?" + urlencode({"q": typed, "db": DB}))
    (snippet,) = re.findall(r'<p class="snippet">(.*?)</p>', page, flags=re.S)
    assert f"<mark>{marked}</mark>" in snippet
    assert "tragfähigen Kompromiss für" in snippet and "fuer" not in snippet
    # The folded copy's second half (only ß spelled out) is not shown as more text.
    assert snippet.count("Die Koalition") <= 1


def test_search_escapes_what_it_shows_and_links_from_the_table(server: Server) -> None:
    page = server.text("/-/search?" + urlencode({"q": "attacker", "db": DB}))
    assert "&lt;script&gt;alert(" in page and '<script>alert("archived-xss")' not in page
    assert "<script>alert('title-xss')" not in page
    table = server.text(f"/{DB}/latest_articles?_search=attacker")
    assert 'href="/-/search?q=attacker&amp;db=pages"' in table
    status, _, _ = server.get('/-/search?q="unbalanced')
    assert status == 200


def test_the_home_page_leads_to_the_search_page(server: Server) -> None:
    home = server.text("/")
    assert f'href="/-/search?db={DB}"' in home
    page = server.text(f"/-/search?db={DB}")
    assert '<input type="search" name="q"' in page and "snippet" not in page.split("<body", 1)[1]
