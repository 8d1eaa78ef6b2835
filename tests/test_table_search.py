"""The search box of latest_articles and articles reads the newest matches, and says how many
match in all: a real ``archive serve`` on a real archive, its window set small by a
``--metadata`` file as a deployment would."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from archive_helpers import FakeClock, page, story
from datasette_server import Server, archive_serve_command, free_port, running

from archive.store import Archive

DB = "news"
MATCHING = 7
WINDOW = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("table-search")
    path = folder / f"{DB}.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        for i in range(MATCHING + 4):
            clock.advance(60)
            words = "harbour" if i % 3 != 2 or i >= MATCHING + 2 else "river"
            url = f"https://news.example/story/{i}"
            body = f"<p>story {i}</p>".encode()
            archive.record(page(url, clock, body), story(f"Story {i} is about the {words}."))
    metadata = folder / "ours.json"
    window = {"newest_search": {"window": WINDOW}}
    tables = {"latest_articles": window, "articles": window}
    metadata.write_text(json.dumps({"databases": {DB: {"tables": tables}}}), encoding="utf-8")
    port = free_port()
    command = archive_serve_command(path, "--port", str(port), "--metadata", str(metadata))
    with running(command, port, folder / "datasette.log") as started:
        yield started


@pytest.mark.parametrize(("table", "key"), [("latest_articles", "article_id"), ("articles", "id")])
def test_a_common_word_shows_the_newest_matches_and_counts_them_all(
    server: Server, table: str, key: str
) -> None:
    found = server.json(f"/{DB}/{table}.json?_search=harbour&_col={key}")
    ids = [row[0] if isinstance(row, list) else row[key] for row in found["rows"]]
    harbour = [i for i in range(MATCHING + 4) if i % 3 != 2 or i >= MATCHING + 2]
    newest = sorted((i + 1 for i in harbour), reverse=True)[:WINDOW]  # article ids from 1
    assert sorted(ids, reverse=True) == newest
    assert found["filtered_table_rows_count"] == WINDOW
    assert f"the newest {WINDOW} of {len(harbour)} matches" in found["human_description_en"]
    page_html = server.text(f"/{DB}/{table}?_search=harbour")
    assert f"of {len(harbour)} matches" in page_html
    assert 'name="_search"' in page_html and 'value="harbour"' in page_html


def test_a_rare_word_shows_every_match_without_a_window_note(server: Server) -> None:
    found = server.json(f"/{DB}/latest_articles.json?_search=river")
    river = [i + 1 for i in range(MATCHING + 4) if not (i % 3 != 2 or i >= MATCHING + 2)]
    assert found["filtered_table_rows_count"] == len(river) <= WINDOW
    assert sorted(row[0] for row in found["rows"]) == river
    assert "newest" not in found["human_description_en"]


def test_a_filter_narrows_the_newest_matches(server: Server) -> None:
    found = server.json(f"/{DB}/latest_articles.json?_search=harbour&source=news")
    assert found["filtered_table_rows_count"] == WINDOW
    none = server.json(f"/{DB}/latest_articles.json?_search=harbour&source=elsewhere")
    assert none["filtered_table_rows_count"] == 0


def test_the_search_box_is_offered_on_both_pages(server: Server) -> None:
    for table in ("latest_articles", "articles"):
        assert 'name="_search"' in server.text(f"/{DB}/{table}"), table
