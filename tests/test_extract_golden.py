"""Golden files: each tests/golden/<case>/page.html must extract to the reviewed expected.json.

There is one page per kind of noise (``noise-*``: navigation, header/footer, share and
follow bars, related articles, read-more teasers, newsletter prompts, cookie banners,
ads, author boxes, tag lists, comments and counters, captions and credits, breadcrumbs,
print/email links) and one per language convention (``lang-*``: en, de, fr, es, vi, zh,
ja captions, credits, source lines and comment counters). ``layout-*`` pages are
publisher layouts that fooled the extractor once (paragraphs classed "paywall", a
Blogger post written as lines of divs between photos, a subscribers-only teaser,
a lead written as a div beside the body, a whole page laid out as a table of link
cells whose few prose cells are its text, paragraphs written as unclosed divs, the
first paragraphs inside an unclosed caption). ``builder-*`` pages are laid out by a page
builder (Elementor, Divi, WPBakery, Gutenberg blocks, Blogger's widgets), ``hidden-*``
pages keep their text where a simple cleaner drops it (``<noscript>``, also one that
an unclosed tag inside makes hold the rest of the page); ``choice-*`` pages hold a block
that must never be taken for the article (a comment thread longer than the article, a
footer with an address, an author bio, a shop's cart notice). All were written for
these tests.
``absent.txt`` lists noise that must never reach the text, whatever the expected
file says.

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


@pytest.mark.parametrize("case", CASES)
def test_golden_page_text_has_none_of_its_noise(case: str) -> None:
    absent_path = GOLDEN / case / "absent.txt"
    if not absent_path.exists():
        pytest.skip("no absent.txt for this case")
    text = "\n".join(_output(case)["paragraphs"])  # type: ignore[arg-type]
    for phrase in filter(None, absent_path.read_text(encoding="utf-8").splitlines()):
        assert phrase not in text, f"{case}: noise {phrase!r} reached the text"


def test_every_kind_of_noise_and_language_has_a_golden_page() -> None:
    kinds = {
        "nav",
        "header-footer",
        "share-follow",
        "related",
        "read-more",
        "newsletter",
        "cookie-banner",
        "ads",
        "author-box",
        "tag-list",
        "comments",
        "captions-credits",
        "breadcrumbs",
        "print-email",
    }
    languages = {"en", "de", "fr", "es", "vi", "zh", "ja"}
    builders = {"elementor", "divi", "wpbakery", "gutenberg"}
    assert {f"builder-{name}" for name in builders} | {"hidden-noscript"} <= set(CASES)
    assert {f"choice-{kind}" for kind in ("comments", "footer", "bio", "cart")} <= set(CASES)
    assert {f"noise-{k}" for k in kinds} <= set(CASES)
    assert {f"lang-{code}" for code in languages} <= set(CASES)
