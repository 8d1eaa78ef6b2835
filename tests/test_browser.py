"""End to end in headless Chromium: the pages a reader opens, on a real archive served by Datasette.

The first test drives Chromium's command line: the article page of a known edit shows the
word diff. The others drive the same Chromium through Playwright (no browser download:
``executable_path`` is Debian's binary) and read what is visible: folded column
descriptions, rows above the fold, times in the reader's zone, no ``None`` and no raw JSON
arrays, marked search snippets, the takedown banner, the feed as a page. Their
screenshots go to test-artifacts/ (and to docs/ with UPDATE_DOCS_SCREENSHOT=1).

Chromium renders the page served by ``archive serve``; the DOM it built must hold the
marked words, and the screenshot must show the insert and delete highlights in their
colours. The screenshot is kept in test-artifacts/; with UPDATE_DOCS_SCREENSHOT=1 it
also replaces docs/article-history.png, the picture in the README.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import datasette_archive as known
import health_archive
import pytest
from datasette_server import archive_serve_command, free_port, running

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
DOCS_SCREENSHOT = REPO / "docs" / "article-history.png"
# Background colours of <del> and <ins> in archive/templates/newsarchive_article.html.
DELETE_BACKGROUND = (0xFB, 0xD9, 0xD9)
INSERT_BACKGROUND = (0xD4, 0xF7, 0xD4)


def chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_command(binary: str, profile: Path, *args: str) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--window-size=1100,760",
        "--hide-scrollbars",
        *args,
    ]


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of a non-interlaced 8-bit PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        filter_type, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                nearest = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + nearest) & 0xFF
        rows.append(bytes(line) if channels == 3 else bytes(
            b for j, b in enumerate(line) if j % 4 != 3
        ))  # fmt: skip
        previous = line
    return width, height, rows


def count_colour(rows: list[bytes], colour: tuple[int, int, int]) -> int:
    needle = bytes(colour)
    total = 0
    for row in rows:
        for x in range(0, len(row), 3):
            if row[x : x + 3] == needle:
                total += 1
    return total


@pytest.mark.slow
def test_chromium_shows_the_word_diff_of_a_known_edit(tmp_path: Path) -> None:
    binary = chromium()
    if binary is None:
        pytest.skip("chromium is not installed (.ci/chromium.sh installs it)")
    archive = known.build(tmp_path / "news.db")
    port = free_port()
    command = archive_serve_command(archive.path, "--host", "127.0.0.1", "--port", str(port))
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "article-history.png"
    screenshot.unlink(missing_ok=True)
    with running(command, port, tmp_path / "serve.log") as server:
        page = f"{server.base}/-/article/{archive.german_id}"
        dom = subprocess.run(
            chromium_command(binary, tmp_path / "profile-dom", "--dump-dom", page),
            capture_output=True,
            text=True,
            timeout=120,
        )
        shot = subprocess.run(
            chromium_command(binary, tmp_path / "profile-shot", f"--screenshot={screenshot}", page),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<del>Mittwoch</del>" in dom.stdout
    assert "<ins>Donnerstag</ins>" in dom.stdout
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]

    width, height, rows = png_pixels(screenshot.read_bytes())
    assert (width, height) == (1100, 760)
    # Both highlights are painted: the diff is on screen, not only in the markup.
    assert count_colour(rows, DELETE_BACKGROUND) > 500
    assert count_colour(rows, INSERT_BACKGROUND) > 2000
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)


# -- the Datasette pages as a reader sees them (Playwright driving Debian's Chromium) ----------

LAPTOP = {"width": 1280, "height": 800}
# The zone the browser is put in: the pages must show times in it, not in UTC.
READER_ZONE = "Asia/Tokyo"
DB = "browsed"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[known.KnownArchive, str]]:
    archive = known.build(tmp_path_factory.mktemp("browsed") / f"{DB}.db")
    port = free_port()
    command = archive_serve_command(archive.path, "--host", "127.0.0.1", "--port", str(port))
    with running(command, port, archive.path.with_name("serve.log")) as server:
        yield archive, server.base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary = chromium()
    if binary is None:
        pytest.skip("chromium is not installed (.ci/chromium.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=binary, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id=READER_ZONE)
    try:
        context.set_default_timeout(10_000)  # a missing element fails in seconds, not 30
        yield context.new_page()
    finally:
        context.close()


def shoot(page: Any, name: str) -> None:
    """Keep a screenshot in test-artifacts/; with UPDATE_DOCS_SCREENSHOT=1 also in docs/."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    page.screenshot(path=str(target))
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(target, REPO / "docs" / name)


def visible_text(page: Any) -> str:
    return str(page.inner_text("body"))


def assert_reads_cleanly(text: str, where: str) -> None:
    assert not re.search(r"\bNone\b", text), f"{where}: Python's None on the page"
    assert "(no title)" not in text, where
    assert not re.search(r'\[\s*"|\[\]', text), f"{where}: a raw JSON array on the page"


@pytest.mark.slow
@pytest.mark.parametrize("table", ["latest_articles", "versions", "recent_changes", "articles"])
def test_tables_show_rows_above_the_fold_and_read_cleanly(
    page: Any, served: tuple[known.KnownArchive, str], table: str
) -> None:
    _, base = served
    page.goto(f"{base}/{DB}/{table}")
    help_box = page.locator("details.column-help")
    assert help_box.count() == 1 and not help_box.evaluate("d => d.open")
    assert not page.locator("dl.column-descriptions").is_visible()
    first_row = page.locator("table.rows-and-columns tbody tr").first.bounding_box()
    assert first_row is not None and first_row["y"] < LAPTOP["height"], "no row above the fold"
    assert_reads_cleanly(visible_text(page), table)
    # Opening the folded list shows the descriptions.
    page.locator("details.column-help summary").click()
    assert page.locator(".column-help-list dd").first.is_visible()


@pytest.mark.slow
def test_times_are_shown_in_the_readers_zone(
    page: Any, served: tuple[known.KnownArchive, str]
) -> None:
    _, base = served
    page.goto(f"{base}/{DB}/versions")
    first = page.locator("td.col-captured_at time").first
    stored = first.get_attribute("datetime")
    local = datetime.fromisoformat(stored.replace("Z", "+00:00")).astimezone(ZoneInfo(READER_ZONE))
    shown = first.inner_text()
    assert shown != stored and "T" not in shown
    assert f"{local:%H:%M}" in shown and str(local.year) in shown, (shown, stored)
    # The article page too, in its text and in the version pickers.
    archive, _ = served
    page.goto(f"{base}/-/article/{archive.german_id}")
    options = page.locator("select[name=to] option").all_inner_texts()
    assert options and not [o for o in options if re.search(r"\d{4}-\d\d-\d\dT", o)], options
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", visible_text(page))


@pytest.mark.slow
def test_addresses_are_cut_and_the_title_keeps_its_room(
    page: Any, served: tuple[known.KnownArchive, str]
) -> None:
    _, base = served
    page.goto(f"{base}/{DB}/latest_articles")
    url = page.locator("td.col-url").first.bounding_box()
    title = page.locator("td.col-title").first.bounding_box()
    assert url is not None and title is not None
    assert url["width"] <= 230 and title["width"] >= 200, (url, title)
    tags = page.locator("td.col-tags").all_inner_texts()
    assert "Haushalt, Koalition, Opposition" in tags


@pytest.mark.slow
def test_recent_changes_fits_a_laptop_and_marks_the_changed_words(
    page: Any, served: tuple[known.KnownArchive, str]
) -> None:
    _, base = served
    page.goto(f"{base}/{DB}/recent_changes")
    width = page.evaluate("document.querySelector('table.rows-and-columns').scrollWidth")
    assert width <= LAPTOP["width"], f"recent_changes is {width} px wide"
    assert page.locator(".passage del", has_text="Mittwoch").is_visible()
    assert page.locator(".passage ins", has_text="Donnerstag").is_visible()
    assert "Finanzministerin" not in visible_text(page), "the whole article instead of a passage"
    shoot(page, "recent-changes.png")


@pytest.mark.slow
def test_search_results_show_a_marked_snippet(
    page: Any, served: tuple[known.KnownArchive, str]
) -> None:
    _, base = served
    page.goto(f"{base}/{DB}/latest_articles?_search=Verfassungsklage")
    page.get_by_text("Show these results with the matching passages").click()
    mark = page.locator(".snippet mark", has_text="Verfassungsklage")
    assert mark.is_visible()
    background = mark.evaluate("m => getComputedStyle(m).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    assert_reads_cleanly(visible_text(page), "search")
    shoot(page, "search.png")


@pytest.mark.slow
def test_a_takedown_is_announced_above_the_text(
    page: Any, served: tuple[known.KnownArchive, str]
) -> None:
    archive, base = served
    page.goto(f"{base}/-/article/{archive.gone_id}?from=1&to=2")
    banner = page.locator(".removed-banner")
    assert banner.is_visible()
    assert re.fullmatch(r"Removed by the publisher \(HTTP 404\) at .*\d{4}.*", banner.inner_text())
    text_box = page.locator(".article-diff").bounding_box()
    banner_box = banner.bounding_box()
    assert banner_box is not None and text_box is not None
    assert banner_box["y"] < text_box["y"] and banner_box["y"] < LAPTOP["height"] / 2
    assert_reads_cleanly(visible_text(page), "takedown")
    shoot(page, "takedown.png")
    page.goto(f"{base}/-/article/{archive.pulled_id}")
    text = visible_text(page)
    assert "Removed by the publisher (HTTP 410) at" in text and "Never seen live" in text
    assert_reads_cleanly(text, "gone at first sight")


@pytest.mark.slow
def test_the_feed_reads_as_a_page_in_the_browser(
    page: Any, served: tuple[known.KnownArchive, str]
) -> None:
    _, base = served
    page.goto(f"{base}/-/changes.atom")
    text = visible_text(page)
    assert "This is an Atom feed" in text, text[:300]
    # The stylesheet turns the summaries' [-deleted-]{+inserted+} into marked words.
    assert page.locator(".passage del", has_text="Mittwoch").is_visible()
    assert page.locator(".passage ins", has_text="Donnerstag").is_visible()
    assert "[-" not in text.split("like this+}.", 1)[1]
    removed = r"Removed by the publisher \(HTTP 404\) at 20\d\d-\d\d-\d\d \d\d:\d\d UTC"
    assert re.search(removed, text)
    assert "<feed" not in text and "Finanzministerin" not in text
    shoot(page, "feed.png")


# -- /-/sources: each source's health and its last 30 days --------------------------------------

ARTICLES_BAR = (0x2F, 0x6F, 0xB3)  # archive.sources_page.ARTICLES_COLOUR
FAILURES_BAR = (0xC0, 0x39, 0x2B)  # archive.sources_page.FAILURES_COLOUR


@pytest.fixture(scope="module")
def served_health(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, health_archive.HealthArchive]]:
    folder = tmp_path_factory.mktemp("health")
    archive = health_archive.build(folder / "newsroom.db", datetime.now(UTC))
    port = free_port()
    command = archive_serve_command(archive.path, "--host", "127.0.0.1", "--port", str(port))
    with running(command, port, folder / "serve.log") as server:
        yield server.base, archive


def failures_per_day(archive: health_archive.HealthArchive, source: str) -> list[int]:
    """The failed runs the builder wrote, a count per UTC day over the page's 30 days."""
    today = archive.now.astimezone(UTC).date()
    days = [today - timedelta(days=health_archive.DAYS - 1 - i) for i in range(health_archive.DAYS)]
    failed = [at.astimezone(UTC).date() for at in archive.failed_runs[source]]
    return [failed.count(day) for day in days]


@pytest.mark.slow
def test_the_sources_page_shows_each_state_and_its_charts(
    page: Any, served_health: tuple[str, health_archive.HealthArchive]
) -> None:
    base, archive = served_health
    page.goto(base + "/")
    page.get_by_role("link", name="Source health").first.click()
    page.wait_for_url("**/-/sources")
    rows = page.locator("tr.source-row")
    # Worst first, one row per source.
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.state)") == [
        "failing", "quiet", "never_ran", "healthy",
    ]  # fmt: skip
    for state in ("failing", "quiet", "never ran", "healthy"):
        assert page.locator(".state", has_text=state).first.is_visible()
    failing = page.locator("tr[data-source='city-wire']")
    assert failing.locator(".error").inner_text() == health_archive.WIRE_ERROR
    assert "the last 12 runs failed" in failing.inner_text()
    assert "no new article for 10 d" in page.locator("tr[data-source='weekly-review']").inner_text()
    # Two charts a row, a bar a day; the busiest day fills its chart.
    for row in range(rows.count()):
        assert rows.nth(row).locator("svg.sparkline").count() == 2
        assert rows.nth(row).locator("svg.sparkline rect").count() == 60
    harbour = page.locator("tr[data-source='harbour-daily'] .chart-articles rect")
    heights = harbour.evaluate_all("bars => bars.map(b => b.getBBox().height)")
    assert max(heights) == 28 and min(heights) >= 1
    wire_failures = failing.locator(".chart-failures rect").evaluate_all(
        "bars => bars.map(b => Number(b.dataset.count))"
    )
    # Each failed run in the bar of its day, whatever the time of day the test runs at.
    assert sum(wire_failures) == 12 and wire_failures[0] == 0
    assert wire_failures == failures_per_day(archive, "city-wire")
    width = page.evaluate("document.querySelector('table.sources').scrollWidth")
    assert width <= LAPTOP["width"], f"/-/sources is {width} px wide"
    assert_reads_cleanly(visible_text(page), "/-/sources")
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", visible_text(page)), "times not localised"
    # Both charts are painted, in their colours.
    _, _, pixels = png_pixels(page.screenshot(full_page=False))
    assert count_colour(pixels, ARTICLES_BAR) > 1000
    assert count_colour(pixels, FAILURES_BAR) > 100
    shoot(page, "sources.png")


@pytest.mark.slow
def test_the_sources_charts_need_no_javascript(
    browser: Any, served_health: tuple[str, health_archive.HealthArchive]
) -> None:
    base, _ = served_health
    context = browser.new_context(viewport=LAPTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base + "/-/sources")
        bars = page.locator("tr[data-source='harbour-daily'] .chart-articles rect")
        assert bars.count() == 30
        assert bars.last.bounding_box() is not None
        assert (
            page.locator("script[src]").evaluate_all(
                "scripts => scripts.map(s => s.src).filter(s => !s.includes('/-/static/'))"
            )
            == []
        )
    finally:
        context.close()
