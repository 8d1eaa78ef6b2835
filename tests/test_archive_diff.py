"""The word diff: a faithful, readable account of what changed between two texts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from archive import diff

WORDS = st.sampled_from(["the", "flood", "river", "rose", "by", "two", "metres", "Hà", "Nội"])
PARAGRAPHS = st.lists(st.lists(WORDS, min_size=1, max_size=12), max_size=8)


def text(paragraphs: list[list[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs)


@settings(max_examples=300, deadline=None)
@given(PARAGRAPHS, PARAGRAPHS)
def test_the_diff_rebuilds_both_versions(old: list[list[str]], new: list[list[str]]) -> None:
    result = diff.diff_words(text(old), text(new))
    before = [w for c in result.chunks if c.op != "insert" for w in c.words]
    after = [w for c in result.chunks if c.op != "delete" for w in c.words]
    assert before == diff.tokens(text(old))
    assert after == diff.tokens(text(new))
    assert result.changed == (diff.tokens(text(old)) != diff.tokens(text(new)))


def test_an_edit_in_a_long_article_is_found_in_its_paragraph() -> None:
    body = [f"Paragraph {n} says the river rose by {n} centimetres overnight." for n in range(400)]
    edited = list(body)
    edited[7] = "Paragraph 7 says the river rose by seven centimetres overnight, officials said."
    edited.insert(300, "A new paragraph.")
    result = diff.diff_words("\n\n".join(body), "\n\n".join(edited))
    changes = [(c.op, " ".join(c.words)) for c in result.chunks if c.op != "equal"]
    assert changes == [
        ("delete", "7"),
        ("insert", "seven"),
        ("delete", "overnight."),
        ("insert", "overnight, officials said."),
        ("insert", "A new paragraph. \n\n"),
    ]
    assert (result.words_added, result.words_removed) == (7, 2)


def test_moved_paragraph_breaks_are_rendered_as_breaks() -> None:
    result = diff.diff_words("One two.\n\nThree four.", "One two. Three four.")
    assert diff.render_terminal(result) == "One two. [-¶-] Three four."


@settings(max_examples=300, deadline=None)
@given(PARAGRAPHS, PARAGRAPHS)
def test_an_excerpt_keeps_every_changed_word_and_little_else(
    old: list[list[str]], new: list[list[str]]
) -> None:
    full = diff.diff_words(text(old), text(new))
    short = diff.excerpt(full, context=3, limit=1000)

    def changed(d: diff.TextDiff, op: str) -> list[str]:
        return [w for c in d.chunks if c.op == op for w in c.words if w != diff.PARAGRAPH]

    assert changed(short, "insert") == changed(full, "insert")
    assert changed(short, "delete") == changed(full, "delete")
    changes = sum(1 for c in full.chunks if c.op != "equal")
    kept = sum(
        1 for c in short.chunks if c.op == "equal" for w in c.words if w not in (diff.ELLIPSIS,)
    )
    assert kept <= 2 * 3 * (changes + 1)


def test_an_excerpt_of_a_long_article_is_the_edit_with_its_neighbours() -> None:
    body = [f"Paragraph {n} says the river rose by {n} centimetres overnight." for n in range(200)]
    edited = list(body)
    edited[120] = edited[120].replace("rose", "fell")
    short = diff.excerpt(diff.diff_words("\n\n".join(body), "\n\n".join(edited)), context=4)
    assert diff.render_terminal(short) == (
        "… 120 says the river [-rose-]{+fell+} by 120 centimetres overnight. …"
    )
