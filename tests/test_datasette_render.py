"""Word diffs as HTML: built from text, every word escaped, only the diff's own tags survive."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape

from hypothesis import given
from hypothesis import strategies as st

from archive.diff_html import render_change, render_text
from archive.sanitize import clean_fragment

_OWN_TAGS = re.compile(r"</?(p|ins|del)>")


def test_inserted_and_deleted_words_are_marked_in_their_paragraphs() -> None:
    html = render_change(
        "Die Koalition einigte sich am Mittwoch.\n\nMehr folgt.",
        "Die Koalition einigte sich am Donnerstag.\n\nMehr folgt.\n\nNeuer Absatz.",
    )
    assert html == (
        "<p>Die Koalition einigte sich am <del>Mittwoch.</del> <ins>Donnerstag.</ins></p>"
        "<p>Mehr folgt.</p><p><ins>Neuer Absatz.</ins></p>"
    )


def test_markup_in_article_text_is_escaped() -> None:
    html = render_text('<script>alert("x")</script> & <img src=x onerror=alert(1)>')
    assert html == (
        '<p>&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;</p>'
    )


def test_the_sanitiser_removes_anything_but_the_diff_tags() -> None:
    dirty = (
        '<p onclick="x()">a<script>alert(1)</script><ins style="x">b</ins>'
        '<a href="javascript:alert(1)">c</a><iframe src="//evil"></iframe></p>'
    )
    assert clean_fragment(dirty) == "<p>a<ins>b</ins>c</p>"


_texts = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
    max_size=5,
).map("\n\n".join)


@given(old=_texts, new=_texts)
def test_any_text_renders_as_text_with_only_diff_tags(old: str, new: str) -> None:
    html = render_change(old, new)
    stripped = _OWN_TAGS.sub(" ", html)
    assert "<" not in stripped and ">" not in stripped
    shown = Counter(unescape(stripped).split())
    # Every word of both versions is on the page (deleted ones too), and nothing else.
    assert Counter(new.split()) <= shown
    assert Counter(old.split()) <= shown
    assert shown <= Counter(old.split()) + Counter(new.split())
