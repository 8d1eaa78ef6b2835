"""``scraper reparse``: a parser change is recorded beside the publisher's history, never in it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from archive_helpers import FakeClock, page

from archive.db import open_reader
from archive.history import format_history, history
from archive.store import Archive
from contract.model import Article, Outcome
from scraper.extract import EXTRACTOR_VERSION, extract_document
from scraper.reparse import reextractor, reparse

URL = "https://news.example/world/2026/flood.html"
HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Flood waters rise in the delta</title></head><body><article>
<h1>Flood waters rise in the delta</h1>
<p>Water levels in the Mekong delta rose by two metres overnight, forcing thousands of families
from their homes as the river burst its banks in three provinces.</p>
<p>{sentence}</p>
<p>Officials said the water was expected to stay high until the end of the week.</p>
</article></body></html>"""


def old_extractor(html: str) -> Article:
    """What a worse, older extractor made of the page: it kept a share-bar line."""
    today = extract_document(html, URL)
    return replace(
        today, paragraphs=(*today.paragraphs, "Share on Facebook"), extractor_version="2020.1"
    )


def snapshot(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM versions ORDER BY id").fetchall()
    finally:
        conn.close()


def test_reparse_records_parser_changes_and_keeps_publisher_history(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    first = HTML.format(sentence="Thousands of homes were evacuated.")
    second = HTML.format(sentence="Hundreds of homes were evacuated on Sunday.")
    with Archive.open(path, clock) as archive:
        for html in (first, second):
            clock.advance(3600)
            archive.record(page(URL, clock, html.encode()), old_extractor(html))
    before = snapshot(path)

    report = reparse(path, clock=clock, show_progress=False)
    assert (report.read, report.changed, report.failed) == (2, 2, ())
    assert snapshot(path) == before, "the publisher's history must not move"

    conn = open_reader(path)
    entry = history(conn, URL)
    assert [v.summary for v in entry.versions] == ["first version", "text: +4 -2 words"]
    assert [
        (e.version, e.extractor_version, e.changed_fields, e.summary) for e in entry.extractions
    ] == [
        (1, EXTRACTOR_VERSION, ("text",), "text: +0 -3 words"),
        (2, EXTRACTOR_VERSION, ("text",), "text: +0 -3 words"),
    ]
    assert "parser changes (same raw page, read by a newer extractor)" in format_history(entry)
    conn.close()

    again = reparse(path, clock=clock, show_progress=False)
    assert again.read == 0, "pages already read by today's extractor are skipped"


def test_daemon_after_an_upgrade_sees_no_false_edit(tmp_path: Path) -> None:
    """The first fetch after an extractor upgrade compares like with like."""
    path = tmp_path / "archive.db"
    clock = FakeClock()
    html = HTML.format(sentence="Thousands of homes were evacuated.")
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, html.encode()), old_extractor(html))
    noisy = html.replace("</article>", "</article><!-- served in 12ms -->")
    with Archive.open(path, clock, reextract=reextractor()) as archive:
        clock.advance(3600)
        today = extract_document(noisy, URL)
        recorded = archive.record(page(URL, clock, noisy.encode()), today)
    assert recorded.outcome == Outcome.UNCHANGED
    assert len(snapshot(path)) == 1
