"""``scraper extract`` from a file, standard input, a URL and a JSON-lines stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from newsserver import article_page, serve_site

from scraper.cli import main

SEED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "seed"
GOLDEN_PAGE = Path(__file__).parent / "golden" / "news-de-caption-tables" / "page.html"
CLEAN_FIELDS = ("paragraphs", "images", "source_url", "comment_count", "language")
STORY = [
    "The river rose by two metres overnight and flooded the lower town for the first time.",
    "Firefighters moved three hundred people to the school on the hill before dawn.",
]


@pytest.mark.shared
def test_extract_the_seed_file_prints_the_clean_article() -> None:
    if not SEED.exists():
        pytest.skip("../shared/fixtures/seed is absent")
    result = CliRunner().invoke(main, ["extract", str(SEED / "article-noisy.txt")])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    expected = json.loads((SEED / "article-clean.json").read_text(encoding="utf-8"))
    assert {k: printed[k] for k in CLEAN_FIELDS} == {k: expected[k] for k in CLEAN_FIELDS}


def test_extract_html_from_standard_input() -> None:
    page = GOLDEN_PAGE.read_bytes()
    result = CliRunner().invoke(main, ["extract", "-"], input=page)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["paragraphs"][0].startswith("Um Meta im KI-Wettlauf")
    assert printed["comment_count"] == 0
    assert all("Foto:" not in p for p in printed["paragraphs"])


def test_extract_a_url_from_a_local_server() -> None:
    with serve_site() as site:
        site.set("/story", article_page("Flood in the lower town", STORY, comments=4))
        result = CliRunner().invoke(main, ["extract", site.url("/story")])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["title"] == "Flood in the lower town"
    assert printed["paragraphs"] == STORY


def test_extract_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["extract", str(tmp_path / "nope.html")])
    assert result.exit_code != 0
    assert "nope.html" in result.output and "No such file" in result.output


def test_extract_jsonl_keeps_order_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"id": 1, "url": "https://a.test/1", "html": article_page("One", STORY)}),
        "this is not json",
        json.dumps({"id": 3, "url": "https://a.test/3", "html": article_page("Three", STORY[:1])}),
    ]
    result = CliRunner().invoke(main, ["extract", "--jsonl"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 3
    assert out[0]["id"] == 1 and out[0]["title"] == "One"
    assert out[0]["text"] == "\n\n".join(STORY)
    assert "error" in out[1]
    assert out[2]["id"] == 3 and out[2]["text"] == STORY[0]
