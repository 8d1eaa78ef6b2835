"""Versions that mean something: real edits make versions, page noise never does."""

from __future__ import annotations

import json
import sqlite3
import threading
import unicodedata
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar, TypedDict

import pytest
from archive_helpers import FakeClock, page, story

from archive import diff
from archive.store import Archive
from contract.model import Article, Outcome

URL = "https://news.example/world/2026/flood-waters-rise.html"
BASE = ("Water levels rose by two metres overnight.", "Thousands of homes were evacuated.")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


def versions(path: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [
            dict(r) for r in conn.execute("SELECT * FROM versions ORDER BY article_id, version")
        ]
    finally:
        conn.close()


def record_all(path: Path, clock: FakeClock, articles: list[Article]) -> list[Outcome]:
    outcomes = []
    with Archive.open(path, clock) as archive:
        for number, article in enumerate(articles):
            clock.advance(900)
            body = f"<html>{number}</html>".encode()  # the raw page differs every time
            outcomes.append(archive.record(page(URL, clock, body), article).outcome)
    return outcomes


def test_a_changed_sentence_makes_a_version_with_fields_and_summary(
    path: Path, clock: FakeClock
) -> None:
    edited = (BASE[0], "Thousands of homes were evacuated on Sunday.", "A third paragraph.")
    outcomes = record_all(path, clock, [story(*BASE), story(*edited)])
    assert outcomes == [Outcome.NEW, Outcome.CHANGED]
    first, second = versions(path)
    assert (first["version"], second["version"]) == (1, 2)
    assert json.loads(str(second["changed_fields"])) == ["text"]
    # "evacuated." became "evacuated on Sunday." and a paragraph of three words was added.
    assert (second["words_added"], second["words_removed"]) == (6, 1)
    assert second["summary"] == "text: +6 -1 words"
    assert first["content_hash"] != second["content_hash"]


class StoryChange(TypedDict, total=False):
    """One of story()'s keywords, changed between two fetches."""

    title: str
    byline: tuple[str, ...]
    published: str | None
    captions: tuple[str, ...]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "Flood waters rise in the Mekong delta"}, "title"),
        ({"byline": ("Lan Nguyen", "Minh Tran")}, "byline"),
        ({"published": "2026-11-01T08:00:00+07:00"}, "published"),
        ({"captions": ("Residents wade through a flooded street. Photo: Reuters",)}, "images"),
    ],
)
def test_headline_byline_date_and_caption_edits_are_versions(
    path: Path, clock: FakeClock, change: StoryChange, field: str
) -> None:
    outcomes = record_all(path, clock, [story(*BASE), story(*BASE, **change)])
    assert outcomes == [Outcome.NEW, Outcome.CHANGED]
    assert json.loads(str(versions(path)[1]["changed_fields"])) == [field]


def test_a_revert_is_a_new_version(path: Path, clock: FakeClock) -> None:
    a, b = story(*BASE), story(BASE[0], "Hundreds of homes were evacuated.")
    assert record_all(path, clock, [a, b, a]) == [Outcome.NEW, Outcome.CHANGED, Outcome.CHANGED]
    rows = versions(path)
    assert [r["version"] for r in rows] == [1, 2, 3]
    assert rows[2]["content_hash"] == rows[0]["content_hash"]


def test_markup_and_whitespace_only_changes_are_not_versions(path: Path, clock: FakeClock) -> None:
    spaced = story(
        "Water  levels rose\u00a0by two metres\novernight. ", " Thousands of homes were evacuated."
    )
    decomposed = story(*BASE, title="Flood waters rise in the delta".replace("e", "e\u200b", 1))
    outcomes = record_all(path, clock, [story(*BASE), spaced, decomposed])
    assert outcomes == [Outcome.NEW, Outcome.UNCHANGED, Outcome.UNCHANGED]
    assert len(versions(path)) == 1


def test_unicode_forms_of_the_same_text_are_not_versions(path: Path, clock: FakeClock) -> None:
    composed = story("Người dân sơ tán.", title="Lũ dâng cao")
    decomposed = story(
        unicodedata.normalize("NFD", "Người dân sơ tán."),
        title=unicodedata.normalize("NFD", "Lũ dâng cao"),
    )
    assert decomposed.title != composed.title
    assert record_all(path, clock, [composed, decomposed]) == [Outcome.NEW, Outcome.UNCHANGED]


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param({"comment_count": 57}, id="comment-count-field"),
        pytest.param({"tail": "Comments (12)"}, id="comment-counter-line"),
        pytest.param({"tail": "12,345 views"}, id="view-counter"),
        pytest.param({"tail": "Lượt xem: 1.2K"}, id="view-counter-vi"),
        pytest.param({"tail": "5 minutes ago"}, id="relative-time"),
        pytest.param({"tail": "vor 3 Stunden"}, id="relative-time-de"),
        pytest.param({"tail": "Updated 10:32 AM ET, Nov 1, 2026"}, id="updated-stamp"),
    ],
)
def test_volatile_parts_never_make_a_version(
    path: Path, clock: FakeClock, noise: dict[str, str | int]
) -> None:
    original = story(*BASE, "Comments (3)", "2 minutes ago", comment_count=3)
    paragraphs: tuple[str, ...] = (*BASE, "Comments (3)", "2 minutes ago")
    if "tail" in noise:
        paragraphs = (*BASE, str(noise["tail"]))
    noisy = story(*paragraphs, comment_count=int(noise.get("comment_count", 3)))
    assert record_all(path, clock, [original, noisy]) == [Outcome.NEW, Outcome.UNCHANGED]


def test_a_sentence_mentioning_a_time_is_content(path: Path, clock: FakeClock) -> None:
    before = story(*BASE, "The dam was built 40 years ago.")
    after = story(*BASE, "The dam was built 50 years ago.")
    assert record_all(path, clock, [before, after]) == [Outcome.NEW, Outcome.CHANGED]


def test_gone_then_back(path: Path, clock: FakeClock) -> None:
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, b"<p>1</p>"), story(*BASE))
        clock.advance(3600)
        gone = archive.record(page(URL, clock, b"Not found", status=404, hint=Outcome.GONE), None)
        clock.advance(3600)
        still = archive.record(page(URL, clock, b"Not found", status=410, hint=Outcome.GONE), None)
        clock.advance(3600)
        back = archive.record(page(URL, clock, b"<p>1</p>"), story(*BASE))
    assert (gone.outcome, gone.version) == (Outcome.GONE, 2)
    assert (still.outcome, still.version) == (Outcome.GONE, None), "gone once, not every check"
    assert (back.outcome, back.version) == (Outcome.CHANGED, 3)
    rows = versions(path)
    assert [r["state"] for r in rows] == ["live", "gone", "back"]
    assert rows[1]["summary"] == "gone (HTTP 404)"
    assert rows[2]["summary"] == "back (unchanged)"
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT state, current_version FROM articles").fetchall() == [("live", 3)]


def test_redirect_to_a_section_page_is_gone(path: Path, clock: FakeClock) -> None:
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, b"<p>1</p>"), story(*BASE))
        section = "https://news.example/world/"
        moved = archive.record(page(URL, clock, b"<h1>World</h1>", final_url=section), story("x"))
    assert moved.outcome == Outcome.GONE
    rows = versions(path)
    assert rows[1]["state"] == "gone"
    assert rows[1]["summary"] == f"gone (redirected to {section})"


def test_a_redirect_to_another_article_is_not_gone(path: Path, clock: FakeClock) -> None:
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, b"<p>1</p>"), story(*BASE))
        renamed = URL.replace("rise", "rise-further")
        moved = archive.record(page(URL, clock, b"<p>1</p>", final_url=renamed), story(*BASE))
    assert moved.outcome == Outcome.UNCHANGED


def test_not_modified_and_failure_make_no_version(path: Path, clock: FakeClock) -> None:
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, b"<p>1</p>"), story(*BASE))
        n = archive.record(page(URL, clock, None, status=304, hint=Outcome.NOT_MODIFIED), None)
        f = archive.record(page(URL, clock, None, status=500, hint=Outcome.FAILED), None)
    assert (n.outcome, f.outcome) == (Outcome.NOT_MODIFIED, Outcome.FAILED)
    assert len(versions(path)) == 1


# -- a parser upgrade is never a publisher edit --------------------------------------------------


def test_new_extractor_on_the_same_bytes_is_not_an_edit(path: Path, clock: FakeClock) -> None:
    body = b"<html><p>Water levels rose.</p><p>Share this</p></html>"
    old = story("Water levels rose.", "Share this", extractor_version="x-1")
    new = story("Water levels rose.", extractor_version="x-2")
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, body), old)
        again = archive.record(page(URL, clock, body), new)
        later = archive.record(page(URL, clock, body + b" "), new)
    assert again.outcome == Outcome.UNCHANGED
    assert later.outcome == Outcome.UNCHANGED
    assert len(versions(path)) == 1
    conn = sqlite3.connect(path)
    assert conn.execute(
        "SELECT version, extractor_version, previous_extractor_version, changed_fields"
        " FROM extractions"
    ).fetchall() == [(1, "x-2", "x-1", '["text"]')]


def test_new_extractor_on_new_bytes_reads_the_old_body_again(path: Path, clock: FakeClock) -> None:
    """Volatile bytes changed too: the old body is re-read with today's extractor to compare."""
    seen: list[tuple[bytes, str]] = []

    def today(body: bytes, content_type: str | None, url: str, source: str | None) -> Article:
        seen.append((body, url))
        return story("Water levels rose.", extractor_version="x-2")

    with Archive.open(path, clock, reextract=today) as archive:
        archive.record(
            page(URL, clock, b"<p>v1 views=10</p>"), story("Water levels rose.", "Share")
        )
        unchanged = archive.record(
            page(URL, clock, b"<p>v1 views=11</p>"),
            story("Water levels rose.", extractor_version="x-2"),
        )
        edited = archive.record(
            page(URL, clock, b"<p>v2 views=12</p>"),
            story("Water levels rose again.", extractor_version="x-2"),
        )
    assert seen == [(b"<p>v1 views=10</p>", URL)]
    assert unchanged.outcome == Outcome.UNCHANGED
    assert (edited.outcome, edited.version) == (Outcome.CHANGED, 2)
    second = versions(path)[1]
    # Compared with what today's extractor read from version 1, not with the old reading.
    assert json.loads(str(second["changed_fields"])) == ["text"]
    assert second["summary"] == "text: +2 -1 words"  # "rose." -> "rose again."


# -- word diff ------------------------------------------------------------------------------------


def test_word_diff_marks_deleted_and_inserted_words() -> None:
    result = diff.diff_words(
        "Thousands of homes were evacuated.\n\nThe river peaked at noon.",
        "Hundreds of homes were evacuated on Sunday.\n\nThe river peaked at noon.",
    )
    assert diff.render_terminal(result) == (
        "[-Thousands-]{+Hundreds+} of homes were [-evacuated.-]{+evacuated on Sunday.+}"
        "\n\nThe river peaked at noon."
    )
    assert (result.words_added, result.words_removed) == (4, 2)
    coloured = diff.render_terminal(result, colour=True)
    assert "\x1b[31;9mThousands\x1b[0m" in coloured and "[-" not in coloured


# -- end to end: real pages from a real server through the real extractor -------------------------

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Delta News</title>
<meta property="og:title" content="{title}">
<meta name="author" content="Lan Nguyen">
<meta property="article:published_time" content="2026-11-01T07:00:00+07:00">
</head><body>
<header><nav><a href="/?sid={session}">Home</a> <a href="/world/?sid={session}">World</a></nav>
<p class="updated">Updated {minutes} minutes ago</p></header>
<div class="ad">Advertisement: {ad}</div>
<article>
<h1>{title}</h1>
<p class="byline">By Lan Nguyen</p>
<time datetime="2026-11-01T07:00:00+07:00">1 November 2026</time>
<p>Water levels in the Mekong delta rose by two metres overnight, forcing thousands of families
from their homes as the river burst its banks in three provinces.</p>
<p>{sentence}</p>
<p>Officials said the water was expected to stay high until the end of the week, and that
schools in the region would stay closed until further notice.</p>
<p>Rescue teams used boats to reach villages cut off by the flood, and the army sent trucks
with rice, drinking water and medicine to the worst-hit districts.</p>
</article>
<div class="comments"><h3>Comments ({comments})</h3><span>{views} views</span></div>
<aside class="related"><h3>Related</h3><ul><li><a href="/a/{teaser}?sid={session}">{teaser}</a></li>
</ul></aside>
<footer>© Delta News</footer></body></html>"""

STEADY = {
    "title": "Flood waters rise in the delta",
    "sentence": "Thousands of homes were evacuated on Sunday, the provincial government said.",
    "session": "a1b2",
    "minutes": 5,
    "ad": "Buy a boat",
    "comments": 3,
    "views": 120,
    "teaser": "Storm season begins early",
}


class _Pages(BaseHTTPRequestHandler):
    current: ClassVar[dict[str, object]] = {}

    def do_GET(self) -> None:
        body = PAGE.format(**type(self).current).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Pages]]]:
    handler = type("Pages", (_Pages,), {"current": dict(STEADY)})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/world/2026/flood.html", handler
    httpd.shutdown()
    httpd.server_close()


def fetch_and_record(archive: Archive, clock: FakeClock, url: str) -> Outcome:
    from scraper.extract import extract_document

    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read()
    article = extract_document(body.decode("utf-8"), url)
    clock.advance(900)
    return archive.record(replace(page(url, clock, body), source="delta"), article).outcome


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param({"comments": 48}, id="comment-count"),
        pytest.param({"views": 98_765}, id="view-count"),
        pytest.param({"minutes": 47}, id="relative-updated-stamp-outside-article"),
        pytest.param({"teaser": "Five things to know about the flood"}, id="rotating-teaser"),
        pytest.param({"ad": "Cheap flights to Hanoi"}, id="ad"),
        pytest.param({"session": "zz99"}, id="session-token-in-links"),
    ],
)
def test_page_noise_through_the_real_extractor_makes_no_version(
    path: Path, clock: FakeClock, server: tuple[str, type[_Pages]], noise: dict[str, object]
) -> None:
    url, handler = server
    with Archive.open(path, clock) as archive:
        assert fetch_and_record(archive, clock, url) == Outcome.NEW
        handler.current = {**STEADY, **noise}
        assert fetch_and_record(archive, clock, url) == Outcome.UNCHANGED
        # ...while a real edit on the same page still is one.
        handler.current = {**STEADY, **noise, "sentence": "Hundreds of homes were evacuated."}
        assert fetch_and_record(archive, clock, url) == Outcome.CHANGED
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM bodies").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM versions").fetchone() == (2,)
