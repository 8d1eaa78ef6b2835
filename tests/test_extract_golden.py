"""Golden files: each tests/golden/<case>/page.html must extract to the reviewed expected.json.

Run with UPDATE_GOLDEN=1 to rewrite expected.json after a deliberate change, then
review the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scraper.extract import article_to_json, extract_html

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "page.html").is_file())


def _output(case: str) -> dict[str, object]:
    html = (GOLDEN / case / "page.html").read_text(encoding="utf-8")
    data = article_to_json(extract_html(html, f"https://news.example/{case}/article.html"))
    data.pop("extractor_version")  # a version bump alone is not a change of output
    return data


@pytest.mark.parametrize("case", CASES)
def test_golden_page_extracts_to_expected(case: str) -> None:
    expected_path = GOLDEN / case / "expected.json"
    actual = _output(case)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text(
            json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert actual == expected
