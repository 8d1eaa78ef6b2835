"""Every pass of the extractor is linear in the page (issue 15, defect 1).

A page of 200,000 nested ``<div>`` once ran for 11 minutes: Lexbor's tree builder and the
passes after it cost time with the square of the depth. Nesting is now capped as browsers
cap it. The limits below are generous deadlines against a hang, not timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.extract import extract_document
from scraper.html import parse
from scraper.nesting import MAX_DEPTH, cap_nesting

GOLDEN = Path(__file__).parent / "golden"
STORY = (
    "The harbour wall gave way on Sunday night after three days of storms, and the water "
    "reached the market square before the fire brigade could close the old flood gate."
)
PARAGRAPH = f"<p>{STORY}</p>"


def _depth(html: str) -> int:
    """How deep the parsed page nests (the longest chain of elements)."""
    root = parse(html).root
    assert root is not None
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children() if child.is_element)
    return deepest


def test_pages_within_the_cap_are_left_as_they_are() -> None:
    for page in sorted(GOLDEN.glob("*/page.html")):
        html = page.read_text(encoding="utf-8")
        assert cap_nesting(html) is html, page


def test_capped_nesting_keeps_every_paragraph_apart() -> None:
    # Unclosed <div>s, each holding a paragraph: the common way pages nest too deep.
    lines = [f"Paragraph number {n} of the story, long enough to be prose." for n in range(3000)]
    html = "<html><body>" + "".join(f"<div><p>{line}</p>" for line in lines)
    assert _depth(html) <= MAX_DEPTH + 2
    assert [p.text() for p in parse(html).select("p")] == lines  # none lost, none merged
    article = extract_document(html)
    assert len(article.paragraphs) > 2000 and set(article.paragraphs) <= set(lines)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_200k_nested_divs_through_scraper_extract(tmp_path: Path) -> None:
    path = tmp_path / "deep.html"
    path.write_text(
        "<html><body>" + "<div>" * 200_000 + PARAGRAPH + "</div>" * 200_000 + "</body></html>"
    )
    result = subprocess.run(
        [sys.executable, "-m", "scraper", "extract", str(path)],
        capture_output=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["paragraphs"] == [STORY]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_200k_unclosed_divs() -> None:
    article = extract_document("<html><body>" + "<div>" * 200_000 + PARAGRAPH)
    assert article.paragraphs == (STORY,)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_million_sibling_elements() -> None:
    html = "<html><body><div>" + "<span>x</span>" * 1_000_000 + PARAGRAPH + "</div></body></html>"
    article = extract_document(html)
    assert article.paragraphs[-1] == STORY


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_9_mb_page() -> None:
    html = "<html><body><article>" + PARAGRAPH * 53_000 + "</article></body></html>"
    assert len(html) > 9_000_000
    article = extract_document(html)
    assert len(article.paragraphs) == 53_000
