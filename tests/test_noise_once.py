"""Text noise is written once (contract/noise.toml): the cleaner and the content hash agree.

Before, the volatile lines were two lists with different languages (the cleaner knew
"3小时前" and "hace 2 horas", the hash knew "Comments (12)" and "yesterday"), and the
byline words two lists (metadata knew "Autor", the cleaner "Words by").
"""

from __future__ import annotations

import pytest

from archive.hashing import content_hash, is_volatile
from contract.model import Article
from scraper.extract import extract_html
from scraper.extract.ruleset import text_rules

VOLATILE = [
    "12,345 views", "Lượt xem: 1.2K", "3.456 Aufrufe", "5 minutes ago", "vor 3 Stunden",
    "il y a 4 heures", "hace 2 horas", "2 giờ trước", "3小时前", "just now", "yesterday",
    "Comments (12)", "Kommentare (0)", "Bình luận (3)", "Updated 5 March 2024 10:04",
]  # fmt: skip


@pytest.mark.parametrize("line", VOLATILE)
def test_a_line_the_hash_ignores_is_one_the_cleaner_drops(line: str) -> None:
    assert is_volatile(line)
    assert text_rules().volatile_line.match(line)


@pytest.mark.parametrize("line", ["3小时前", "hace 2 horas", "12 Leser"])
def test_the_cleaners_languages_reach_the_hash(line: str) -> None:
    body = ("The council voted to rebuild the bridge.",)
    assert content_hash(Article(paragraphs=(*body, line))) == content_hash(Article(paragraphs=body))


@pytest.mark.parametrize(
    ("stated", "names"),
    [("Words by Jane Doe", ("Jane Doe",)), ("Text von Hans Meier", ("Hans Meier",)),
     ("Autor: Jan Nowak", ("Jan Nowak",)), ("记者 王伟", ("王伟",))],
)  # fmt: skip
def test_metadata_takes_every_byline_word_off_a_stated_author(
    stated: str, names: tuple[str, ...]
) -> None:
    page = (
        f'<html><head><title>Bridge</title><meta name="author" content="{stated}"></head>'
        "<body><article><p>The council voted on Monday to rebuild the old bridge over the"
        " river, two years after it was closed to traffic.</p></article></body></html>"
    )
    assert extract_html(page, "https://news.example/bridge").byline == names


def test_a_sentence_that_starts_like_a_byline_stays_in_the_body() -> None:
    assert not text_rules().byline_line.match("From Berlin To Paris")
    assert text_rules().byline_line.match("Words by Jane Doe")
