"""The text-block cleaner: captions, credits, source lines, comment counters and page furniture.

It decides for each block on the block's own text (and markup kind) alone, so
cleaning twice gives the same paragraphs as cleaning once and kept text stays in
its order; only the metadata it collects (which image a caption belongs to)
looks at neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from contract.model import Image
from scraper.dates import has_time, is_date
from scraper.extract.blocks import CAPTION, CODE, IMAGE, PARAGRAPH, Block, normalise_space
from scraper.extract.ruleset import TextRules, text_rules


def without_cell_end(text: str) -> str:
    r"""A caption row dumped from a table ends with a cell separator: ``text`` without it
    (what ``re.sub(r"\s*\|\s*$", "", text)`` gives, without a regex try at every
    position of the line)."""
    stripped = text.rstrip()
    return stripped[:-1].rstrip() if stripped.endswith("|") else text


_MARKDOWN_IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]*)[^)]*\)\s*\|?\s*$")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_MAX_CAPTION_CHARS = 400
_MAX_MARKED_CAPTION_CHARS = 500
_MIN_CAPTION_RUN_SENTENCES = 3
_SENTENCE_END = re.compile(r"[.!?。！？](?:[\"'”’)\]]*)(?:\s|$)")
_MAX_FURNITURE_CHARS = 120
_MAX_DATELINE_CHARS = 60


@dataclass(frozen=True)
class Cleaned:
    paragraphs: tuple[str, ...]
    images: tuple[Image, ...]
    source_url: str | None
    comment_count: int | None


def _tidy_credit(text: str) -> str:
    return text.strip().strip(" .|)]").strip()


def _count(text: str) -> int | None:
    digits = re.sub(r"[.,\s]", "", text)
    return int(digits) if digits.isdigit() else None


@dataclass
class _Collector:
    """Images, source and comment count gathered while blocks are classified."""

    images: list[Image]
    source_url: str | None = None
    comment_count: int | None = None
    # An image seen but not yet described: the next caption belongs to it.
    open_image: int | None = None

    def add_image(self, src: str | None, alt: str | None) -> None:
        self.images.append(Image(src=src or None, alt=alt or None))
        self.open_image = len(self.images) - 1

    def add_caption(self, caption: str | None, credit: str | None) -> None:
        if self.open_image is not None:
            current = self.images[self.open_image]
            if credit and current.caption and not current.credit and not caption:
                self.images[self.open_image] = replace(current, credit=credit)
                self.open_image = None
                return
            if current.caption is None:
                self.images[self.open_image] = replace(
                    current, caption=caption or None, credit=credit or current.credit
                )
                if credit:
                    self.open_image = None
                return
        if caption is None and credit and self.images and not self.images[-1].credit:
            # A credit line right after a described image completes it.
            self.images[-1] = replace(self.images[-1], credit=credit)
            return
        self.images.append(Image(caption=caption or None, credit=credit or None))
        self.open_image = None if credit else len(self.images) - 1


def _caption_parts(text: str, rules: TextRules) -> tuple[str | None, str | None]:
    """Split ``caption. Foto: Credit .`` into caption and credit."""
    body = without_cell_end(text)
    match = rules.trailing_credit_match(body)
    if match is None:
        return (normalise_space(body) or None), None
    caption = normalise_space(match.group("caption")).rstrip(" |(-–—")
    return (caption or None), (_tidy_credit(match.group("credit")) or None)


def classify(block: Block, rules: TextRules) -> str:
    """What a block is: keep, image, caption, credit, source, comments or drop.

    Depends on the block alone; this is what makes cleaning idempotent.
    """
    if block.kind is IMAGE:
        return "image"
    if block.kind is CAPTION:
        # Markup says caption, but no caption runs this long: the article's text in a
        # caption element left open (or filled by the site's template).
        return "keep" if _is_prose_run(block.text) else "caption"
    text = block.text
    if not text:
        return "drop"
    if block.kind is CODE:
        return "keep"
    if len(text) > _MAX_CAPTION_CHARS:
        return "keep"  # every rule below is about short lines: long prose is kept at once
    if text[0] == "!" and _MARKDOWN_IMAGE.match(text):
        return "image"
    colon = ":" in text or "：" in text
    if rules.comment_counter_match(text):
        return "comments"
    if colon:
        if rules.source_line.match(text):
            return "source"
        if rules.credit_line.match(text):
            return "credit"
        if (block.kind is PARAGRAPH or text.rstrip().endswith("|")) and rules.trailing_credit_match(
            without_cell_end(text)
        ):
            return "caption"
    if len(text) <= _MAX_FURNITURE_CHARS and rules.furniture_line.match(text):
        return "drop"
    if len(text) <= _MAX_DATELINE_CHARS and block.kind is PARAGRAPH and _is_dateline(text, rules):
        return "drop"
    return "keep"


def _is_prose_run(text: str) -> bool:
    """Longer than captions run, in several sentences: a passage of the article."""
    return (
        len(text) > _MAX_MARKED_CAPTION_CHARS
        and len(_SENTENCE_END.findall(text)) >= _MIN_CAPTION_RUN_SENTENCES
    )


def _is_dateline(text: str, rules: TextRules) -> bool:
    """A labelled date ("Updated: 8 April 2015") or a date with its time ("08.04.2015
    12:46") and nothing else: the page's dateline. A bare date ("April 2014") may be
    a table cell or a list entry, so it stays."""
    label = rules.date_label.match(text)
    if label is None and not has_time(text):
        return False
    return is_date(text[label.end() :] if label else text)


def clean_blocks(
    blocks: Iterable[Block], rules: TextRules | None = None, *, spaced: bool = False
) -> Cleaned:
    """Split blocks into article paragraphs and the metadata the noise carried.

    ``spaced`` says the blocks' whitespace is already normalised (the HTML walker's are).
    """
    rules = rules or text_rules()
    collected = _Collector(images=[])
    paragraphs: list[str] = []
    for block in blocks:
        if not spaced and block.text and block.kind is not CODE:
            text = normalise_space(block.text)
            if text != block.text:
                block = block.with_text(text)
        verdict = classify(block, rules)
        if verdict == "keep":
            paragraphs.append(block.text)
            collected.open_image = None
        elif verdict == "image":
            if block.kind is IMAGE:
                collected.add_image(block.src, block.alt)
            else:
                found = _MARKDOWN_IMAGE.match(block.text)
                assert found is not None
                collected.add_image(found.group("src"), found.group("alt"))
        elif verdict == "caption":
            if block.text and rules.image_button.search(block.text):
                block = block.with_text(normalise_space(rules.image_button.sub("", block.text)))
            if block.kind is CAPTION and block.credit:
                named = rules.credit_line.match(block.credit)
                credit = _tidy_credit(named.group("credit")) if named else block.credit
                collected.add_caption(block.text or None, credit or None)
            else:
                collected.add_caption(*_caption_parts(block.text, rules))
        elif verdict == "credit":
            match = rules.credit_line.match(block.text)
            assert match is not None
            collected.add_caption(None, _tidy_credit(match.group("credit")) or None)
        elif verdict == "source":
            match = rules.source_line.match(block.text)
            assert match is not None
            url = _URL.search(match.group("source"))
            if url and collected.source_url is None:
                collected.source_url = url.group(0).rstrip(".,;)")
        elif verdict == "comments":
            match = rules.comment_counter.match(block.text)
            assert match is not None
            count = _count(match.group("count") or match.group("count2") or "")
            if count is not None and collected.comment_count is None:
                collected.comment_count = count
    return Cleaned(
        paragraphs=tuple(paragraphs),
        images=tuple(collected.images),
        source_url=collected.source_url,
        comment_count=collected.comment_count,
    )


def clean_paragraphs(paragraphs: Iterable[str]) -> tuple[str, ...]:
    """Only the kept text of plain paragraphs (used to check the cleaner's properties)."""
    return clean_blocks(Block(p) for p in paragraphs).paragraphs
