"""Properties of the text cleaner and the extractor on arbitrary input (Hypothesis)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urljoin

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.dates import has_time
from scraper.extract import extract_document, extract_html, extract_text
from scraper.extract.blocks import normalise_space
from scraper.extract.clean import clean_paragraphs, without_cell_end
from scraper.extract.ruleset import (
    ASCII_LOOKALIKES,
    HintWords,
    LineTest,
    furniture_rules,
    text_rules,
)
from scraper.urls import absolute_url

# Real noise and real prose, mixed with arbitrary text, so the rules actually fire.
NOISE = [
    "Foto: WSJ",
    "Mark Zuckerberg suchte persönlich nach Talenten für Meta. Foto: WSJ . |",
    "![]() |",
    "![Bild](https://example.org/a.jpg)",
    "Quelle: https://znews.vn/a-post1.html",
    "Nguồn: https://example.vn/b",
    "Kommentar (0)",
    "Comments (12)",
    "Bình luận (3)",
    "12 Comments",
    "Teilen",
    "Read more:",
    "By Jane Doe",
    "(Photo: AP)",
    "Ảnh: Zing",
    "写真：共同通信",
    "1.204 Aufrufe",
    "3 hours ago",
    "3 giờ trước",
]
PROSE = [
    "The council voted on Tuesday to turn the old freight yard into a park.",
    "Der Stadtrat hat am Dienstag beschlossen, den Güterbahnhof umzuwandeln.",
    "市议会周二投票决定，将旧货运站改建为公共公园。",
    "By then the park was full of people, and the source of the noise was clear.",
    "He said: it is a good day for the city.",
]
lines = st.one_of(st.sampled_from(NOISE), st.sampled_from(PROSE), st.text(max_size=200))


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=30))
def test_cleaning_twice_changes_nothing(paragraphs: list[str]) -> None:
    once = clean_paragraphs(paragraphs)
    assert clean_paragraphs(once) == once


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=30))
def test_cleaner_keeps_the_order_of_the_text_it_keeps(paragraphs: list[str]) -> None:
    kept = clean_paragraphs(paragraphs)
    remaining = iter(normalise_space(p) for p in paragraphs)
    # Each kept paragraph is found, in order, among the (normalised) inputs.
    assert all(any(p == candidate for candidate in remaining) for p in kept)


@settings(max_examples=200, deadline=None)
@given(st.lists(lines, max_size=20))
def test_cleaner_drops_no_prose(paragraphs: list[str]) -> None:
    kept = clean_paragraphs(paragraphs)
    for paragraph in paragraphs:
        if paragraph in PROSE:
            assert paragraph in kept


html_fragments = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div class='share'>",
        "</div>",
        "<figure><img src=x>",
        "<figcaption>",
        "</figure>",
        "<br>",
        "<table><tr><td>",
        "</td></tr></table>",
        "<script>",
        "<!--",
        "&amp;",
        "<article>",
        "<h1>",
        "<li>",
        "<a href='#'>",
        "</a>",
    ]
)
html_documents = st.lists(st.one_of(html_fragments, lines), max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(html_documents)
def test_extract_never_raises_on_any_html(html: str) -> None:
    article = extract_html(html, "https://news.example/a.html")
    assert all(p == p.strip() and p for p in article.paragraphs)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_extract_never_raises_on_any_text(text: str) -> None:
    extract_text(text)
    extract_document(text)


# Pieces that make trailing credits, near misses and colons in every place.
CREDIT_PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            ["Foto", "foto", "Photo credit", "Ảnh", "写真", "(c)", "©", "Bildquelle", "Fotos"]
        ),
        st.sampled_from([":", "：", " : ", " ", "  ", "|", ".", "(", ")", "\n", "Xfoto", "phot"]),
        st.text(max_size=12),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(CREDIT_PIECES)
def test_the_quick_trailing_credit_test_agrees_with_the_full_pattern(text: str) -> None:
    rules = text_rules()
    quick = rules.trailing_credit_match(text)
    full = rules.trailing_credit.match(text)
    assert (quick and quick.groupdict()) == (full and full.groupdict())


@settings(max_examples=500, deadline=None)
@given(st.one_of(lines, CREDIT_PIECES, st.sampled_from(["Advertisement", "By Jane Doe und Max"])))
def test_one_furniture_pattern_agrees_with_its_four_parts(text: str) -> None:
    rules = text_rules()
    parts = (rules.boilerplate_line, rules.boilerplate_prefix, rules.byline_line)
    expected = any(p.match(text) for p in (*parts, rules.volatile_line))
    assert bool(rules.furniture_line.match(text)) == expected


# The furniture patterns' own words, near misses, digits, dates, case changes and the
# characters that match ASCII letters case-insensitively (long s, Kelvin sign, dotless i).
FURNITURE_PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "John says",
                "said",
                "WROTE",
                "replied",
                "posted by",
                "By Ann",
                "from",
                " on ",
                " at ",
                "3 days ago",
                "12:45",
                "2019",
                "1999",
                "Reply",
                "report abuse",
                "Permalink",
                "|",
                "© 2024",
                "(c) 2003",
                "Copyright",
                "All Rights Reserved",
                "P.O. Box",
                "Tel: +4",
                "12 Main Street",
                "(555) 123-4567",
                "Privacy Policy",
                "terms of use",
                "cart",
                "shopping basket is empty",
                "checkout",
                "CAPTCHA",
                "your browser",
                "stylesheet",
                "enable JavaScript",
                "javascript is disabled",
                "About me",
                "Disclaimer",
                "I live",
                "cookies we use",
                "Cookie consent",
                "the park",
                "é",
                "—",
                "’",
                "\u00a0",
            ]
        ),
        st.sampled_from([*ASCII_LOOKALIKES, "ſays", "ſaid", "repKied", "lıke", "İ am a"]),
        st.sampled_from([" ", "  ", "\n", ". "]),
        st.text(max_size=8),
    ),
    max_size=14,
).map("".join)


_FURNITURE = tomllib.loads(
    (Path(__file__).parents[1] / "scraper/extract/rules/noise.toml").read_text("utf-8")
)["furniture"]
# Each line test beside the one alternation of its patterns it stands for.
_FURNITURE_TESTS = [
    (
        name,
        getattr(furniture_rules(), name),
        re.compile("|".join(f"(?:{p})" for p in patterns), re.I),
    )
    for name, patterns in _FURNITURE.items()
]


@settings(max_examples=1000, deadline=None)
@given(FURNITURE_PIECES)
def test_furniture_line_tests_agree_with_one_search_of_their_patterns(text: str) -> None:
    assert _FURNITURE_TESTS  # comment_meta, footer_line, notice
    for name, test, alternation in _FURNITURE_TESTS:
        assert test.found_in(text) == bool(alternation.search(text)), name


def test_a_line_test_reads_the_words_its_patterns_need() -> None:
    test = LineTest([r"\b(?:says|wrote)\b.{0,9}\d", r"^\s*reply\s*$", "©", r"(?:ab)+c?d"])
    assert test.found_in("Ann wrote at 9") and test.found_in("  REPLY ")
    assert test.found_in("© Gazette") and test.found_in("xABABDx") and test.found_in("ſays 1")
    assert not test.found_in("Ann wrote nothing") and not test.found_in("replying")
    assert not test.found_in("abc") and not test.found_in("writes 9 says")


def test_the_ascii_lookalikes_are_all_there_are() -> None:
    """Every character outside ASCII that a case-insensitive pattern of an ASCII
    character matches: LineTest lower-cases lines without them, so none may be missing."""
    others = "".join(chr(c) for c in range(128, 0x110000) if not 0xD800 <= c < 0xE000)
    found = {c for a in range(128) for c in re.findall(re.escape(chr(a)), others, re.IGNORECASE)}
    assert found == set(ASCII_LOOKALIKES)


HINT_LISTS = {
    1: ["comment", "-ad-", "^ad$", "^ads$"],
    2: ["article", "content", "^share$"],
    4: ["ad-slot", "^hid$", "hidden", "share"],
}
# Class/id strings made of the listed words, their parts and near misses.
HINT_STRINGS = st.lists(
    st.one_of(
        st.sampled_from([w.strip("^$") for words in HINT_LISTS.values() for w in words]),
        st.sampled_from(["ad", "ads", "head", "shared", "sharing", "hi", "d", "-", "_", "x"]),
        st.sampled_from([" ", "  ", "\t"]),
        st.text(max_size=6),
    ),
    max_size=10,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(HINT_STRINGS)
def test_hint_words_match_plain_words_anywhere_and_marked_words_as_whole_tokens(
    hints: str,
) -> None:
    expected = 0
    for bit, words in HINT_LISTS.items():
        for word in words:
            if word.startswith("^"):
                expected |= bit if word.strip("^$") in hints.split() else 0
            else:
                expected |= bit if word in hints else 0
    assert HintWords(HINT_LISTS).flags(hints) == expected


LAYOUT_PREFIXES = ["elementor-widget-", "elementor-", "et_pb_", "et-", "vc_"]


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.one_of(
            HINT_STRINGS,
            st.sampled_from(
                [*LAYOUT_PREFIXES, "widget-", "x-et-", "\u3000", " et-share", " vc_ad"]
            ),
        ),
        max_size=6,
    ).map("".join)
)
def test_hint_words_are_read_after_the_layout_prefixes_that_start_a_token(hints: str) -> None:
    """As if each prefix at the start of a token were cut first, by a regular expression."""
    alternation = "|".join(map(re.escape, LAYOUT_PREFIXES))
    cut = re.sub(rf"(?:^|(?<=\s))(?:{alternation})", "", hints)
    expected = HintWords(HINT_LISTS).flags(cut)
    assert HintWords(HINT_LISTS, LAYOUT_PREFIXES).flags(hints) == expected


LINK_PIECES = st.lists(
    st.one_of(
        st.sampled_from(["http://", "https://", "HTTP://", "//", "/", "../", "./", "mailto:"]),
        st.sampled_from(["example.org", "[::1]", "[bad", "bad]", "xn--bcher-kva.de", "bücher.de"]),
        st.sampled_from(["?", "#", ";", "?a=1", "#top", ";p", "\t", "\n", " ", ":80", "%20"]),
        st.text(max_size=5),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(["https://news.example/a/b.html?x=1", "http://example.org", "https://[::1]/"]),
    LINK_PIECES,
)
def test_absolute_url_is_urljoin_or_none_where_urljoin_fails(base: str, link: str) -> None:
    try:
        expected: str | None = urljoin(base, link)
    except ValueError:
        expected = None
    assert absolute_url(base, link) == expected


COUNTER_PIECES = st.lists(
    st.one_of(
        st.sampled_from(["Kommentar", "Comments", "Bình luận", "bình LUẬN", "コメント", "评论"]),
        st.sampled_from(["(", ")", "[", "（", " ", "\u00a0", "\t", "12", "1.204", "0"]),
        # Characters that fold onto ASCII letters under IGNORECASE: Kelvin sign, long s.
        st.sampled_from(["\u212a", "\u017f", "\u0130", "K", "k", "S", "s", "b", "B"]),
        st.text(max_size=4),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(COUNTER_PIECES, lines))
def test_the_quick_comment_counter_test_agrees_with_the_full_pattern(text: str) -> None:
    rules = text_rules()
    quick = rules.comment_counter_match(text)
    full = rules.comment_counter.match(text)
    assert (quick and quick.groupdict()) == (full and full.groupdict())


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "|", " ", "  ", "\n", "\u00a0", "\u2028", "Foto: X", "||"]),
        max_size=10,
    ).map("".join)
)
def test_a_trailing_cell_separator_is_cut_as_the_pattern_cuts_it(text: str) -> None:
    assert without_cell_end(text) == re.sub(r"\s*\|\s*$", "", text)


CLOCK_PIECES = st.lists(
    st.one_of(
        st.sampled_from(["12:46", "9h30", "24:00", "123:45", "1:2", "0", "7", ":", "h", "٣"]),
        st.sampled_from([" ", "Updated ", "08.04.2015 ", "at "]),
        st.text(max_size=4),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(CLOCK_PIECES)
def test_the_quick_time_of_day_test_agrees_with_the_full_pattern(text: str) -> None:
    full = re.search(r"(?<!\d)([01]?\d|2[0-3])[:h](\d\d)(?!\d)", text)
    assert has_time(text) == (full is not None)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "word"]),
            st.sampled_from(["\u00a0", "\u200b", "\u00ad", "\u2003", "é"]),
            st.text(max_size=5),
        ),
        max_size=12,
    ).map("".join)
)
def test_space_is_normalised_as_split_and_join_make_it(text: str) -> None:
    invisible = "".join(c for c in text if c not in "\u200b\u200c\u200d\u2060\ufeff\u00ad")
    assert normalise_space(text) == " ".join(invisible.split())
