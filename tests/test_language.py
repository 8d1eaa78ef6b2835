"""Language of a page that does not state one, and of a tag that does."""

from __future__ import annotations

import pytest

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
