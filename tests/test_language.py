"""Language of a page that does not state one, and of a tag that does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.language import detect_language, normalise_language

TEXTS = {
    "en": "The city council voted on Tuesday to raise parking fees in the old town by ten percent.",
    "de": "Der Stadtrat hat am Dienstag beschlossen, die Parkgebühren in der Altstadt zu erhöhen.",
    "fr": "Le conseil municipal a voté mardi une hausse de dix pour cent des tarifs de parking.",
    "es": "El ayuntamiento votó el martes subir un diez por ciento las tarifas de aparcamiento.",
    "vi": "Hội đồng thành phố đã bỏ phiếu hôm thứ Ba để tăng phí đỗ xe ở khu phố cổ.",
    "zh": "市议会周二投票决定将老城区的停车费提高百分之十，以减少市中心的交通拥堵。",
    "ja": "市議会は火曜日、旧市街の駐車料金を10パーセント引き上げることを決めた。",
}


@pytest.mark.parametrize(("expected", "text"), sorted(TEXTS.items()))
def test_the_language_of_an_unlabelled_text_is_detected(expected: str, text: str) -> None:
    assert detect_language(text) == expected


def test_only_the_start_of_a_long_text_is_read() -> None:
    # A German article with an English appendix far down is German.
    assert detect_language(TEXTS["de"] * 5 + TEXTS["en"] * 50) == "de"


def test_a_language_with_a_withdrawn_iso_code_gets_its_current_one() -> None:
    # CLD2 says "iw" for Hebrew, withdrawn from ISO 639-1 in 1989.
    hebrew = "מועצת העיר הצביעה ביום שלישי על העלאת דמי החניה בעיר העתיקה בעשרה אחוזים."
    assert detect_language(hebrew) == "he"


def test_control_characters_surrogates_and_noncharacters_do_not_stop_detection() -> None:
    # CLD2 refuses the whole text for any one of these (scraped text has them all).
    noisy = "\x00\x0b\x85\x7f\ud800\ufdd0\uffff\U0010fffe".join(TEXTS["en"].split(" ", 3))
    assert detect_language(noisy) == "en"


@given(st.text(st.characters(codec=None, exclude_categories=()), min_size=20))
def test_any_text_gives_a_language_code_or_none(text: str) -> None:
    code = detect_language(text)
    assert code is None or (code.isascii() and code.isalpha() and code.islower())
    assert code is None or 2 <= len(code) <= 3


def test_too_little_text_has_no_language() -> None:
    assert detect_language("  short text  ") is None


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en-US", "en"),
        ("de_DE", "de"),
        (" FR ", "fr"),
        ("zh-Hant-TW", "zh"),
        ("", None),
        (None, None),
        ("english", None),
        ("12", None),
    ],
)
def test_a_stated_language_tag_gives_its_primary_subtag(
    tag: str | None, expected: str | None
) -> None:
    assert normalise_language(tag) == expected
