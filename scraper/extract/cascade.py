"""A second look at the chosen content: is it the article, and is it all of it?

The scorer in ``content`` picks one container. When what it gives is short, or reads
like page furniture (a comment thread, the page's foot, a shop's or a blog's notice),
two other strategies read the page's text blocks directly:

- a paragraph classifier in the manner of jusText: each block is good, near-good,
  short or bad by its length, sentences and link density, then short and near-good
  blocks take the verdict of their good or bad neighbours;
- the densest text region: the run of consecutive blocks with the most text net of
  a cost per block (short lines and link lists cost more than they bring).

Each result gets a quality score (characters of prose, next to nothing for
furniture) and the best is kept; the first pick keeps its place unless another is
clearly better. Everything here works on plain text blocks, so it is cheap, and it
runs only for the pages that need it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import final

from scraper.extract.blocks import HEADING, ITEM, PARAGRAPH, QUOTE, Block, Kind, normalise_space
from scraper.extract.ruleset import FurnitureRules
from scraper.html import Node

_TEXT_DIV = "div:not(:has(a, blockquote, dl, div, img, ol, p, pre, table, ul, section, article))"
_SEGMENT_SELECTOR = (
    "p, h1, h2, h3, h4, h5, h6, li, pre, blockquote, dd, dt, td, th, address, " + _TEXT_DIV
)
_KIND = {"h1": HEADING, "h2": HEADING, "h3": HEADING, "h4": HEADING, "h5": HEADING}
_KIND |= {"h6": HEADING, "li": ITEM, "dd": ITEM, "dt": ITEM, "blockquote": QUOTE}
_SENTENCE_END = re.compile(r"[.!?。！？…](?:[\"'”’)\]]*)(?:\s|$)")

# jusText's classes and its defaults (length in characters, link density).
BAD, SHORT, NEAR_GOOD, GOOD = range(4)
_LENGTH_LOW = 70
_LENGTH_HIGH = 200
_MAX_LINK_DENSITY = 0.2
_MAX_HEADING_DISTANCE = 200
# The densest region: each block costs this many characters (its markup, its place).
_BLOCK_COST = 60
_MAX_META_CHARS = 120
_MAX_NOTICE_CHARS = 600
# A first pick shorter than this (characters) gets a second look.
SHORT_PICK_CHARS = 500
# Another result replaces the first pick only when it scores this much more.
MUST_GAIN = 1.5


@final
class Segment:
    """One block of the page's text, with what the classifier reads off it."""

    __slots__ = ("density", "furniture", "inside", "kind", "text", "verdict")

    def __init__(self, text: str, kind: Kind, density: float, inside: bool) -> None:
        self.text = text
        self.kind = kind
        self.density = density
        self.inside = inside  # within the first pick
        self.verdict = BAD
        self.furniture = False  # a footer, notice or comment line


def segments(body: Node, picked: Sequence[Node] = ()) -> list[Segment]:
    """The innermost text blocks below ``body``, in document order; ``inside`` marks
    those within the ``picked`` nodes."""
    nodes = body.select(_SEGMENT_SELECTOR)
    selected = {node.key for node in nodes}
    picked_keys = {node.key for node in picked}
    outer: set[int] = set()  # blocks holding other blocks: their parts are read instead
    for node in nodes:
        for ancestor in node.ancestors():
            key = ancestor.key
            if key in outer:
                break
            if key in selected:
                outer.add(key)
    found: list[Segment] = []
    for node in nodes:
        if node.key in outer:
            continue
        raw = node.text(" ")  # lines split by <br> stay apart words
        text = normalise_space(raw)
        if not text:
            continue
        linked = node.link_chars(in_page_weight=0.3)
        density = min(linked / len(raw), 1.0) if raw else 0.0
        inside = bool(picked_keys) and (
            node.key in picked_keys or any(a.key in picked_keys for a in node.ancestors())
        )
        found.append(Segment(text, _KIND.get(node.tag, PARAGRAPH), density, inside))
    return found


def outside_pick(found: list[Segment], comments: bool) -> list[Segment]:
    """The blocks where the article may be when the first pick was furniture: before
    a comment thread (an article comes before its comments), else anywhere else."""
    if comments:
        for index, segment in enumerate(found):
            if segment.inside:
                return found[:index]
        return found
    return [segment for segment in found if not segment.inside]


def _first_verdict(segment: Segment, rules: FurnitureRules) -> int:
    text = segment.text
    length = len(text)
    if segment.density > _MAX_LINK_DENSITY:
        return BAD
    if (
        length <= _MAX_NOTICE_CHARS
        and (rules.footer_line.found_in(text) or rules.notice.found_in(text))
    ) or (length <= _MAX_META_CHARS and rules.comment_meta.found_in(text)):
        segment.furniture = True
        return BAD
    if length < _LENGTH_LOW:
        return SHORT
    sentences = len(_SENTENCE_END.findall(text))
    if length >= _LENGTH_HIGH and (sentences or text.count(",") >= 2):
        return GOOD
    return NEAR_GOOD if sentences else SHORT


def classify(found: Sequence[Segment], rules: FurnitureRules) -> None:
    """jusText's two passes: each block on its own, then short and near-good blocks by
    their neighbours (the page's edges count as bad)."""
    for segment in found:
        segment.verdict = _first_verdict(segment, rules)
    first = [segment.verdict for segment in found]
    # Headings just before good text are near-good (jusText's heading rule).
    for index, segment in enumerate(found):
        heading = segment.kind is HEADING and first[index] in (SHORT, BAD)
        if heading and segment.density == 0 and not segment.furniture:
            distance = 0
            for later in range(index + 1, len(found)):
                if first[later] == GOOD:
                    first[index] = NEAR_GOOD
                    break
                distance += len(found[later].text)
                if distance > _MAX_HEADING_DISTANCE:
                    break
    final_verdicts = list(first)
    for index, verdict in enumerate(first):
        if verdict == SHORT:
            before = _neighbour(first, index, -1, skip=(SHORT, NEAR_GOOD))
            after = _neighbour(first, index, 1, skip=(SHORT, NEAR_GOOD))
            final_verdicts[index] = GOOD if before == after == GOOD else BAD
        elif verdict == NEAR_GOOD:
            before = _neighbour(first, index, -1, skip=(SHORT,))
            after = _neighbour(first, index, 1, skip=(SHORT,))
            final_verdicts[index] = GOOD if GOOD in (before, after) else BAD
    for segment, verdict in zip(found, final_verdicts, strict=True):
        segment.verdict = verdict


def _neighbour(verdicts: list[int], index: int, step: int, skip: tuple[int, ...]) -> int:
    position = index + step
    while 0 <= position < len(verdicts):
        if verdicts[position] not in skip:
            return GOOD if verdicts[position] in (GOOD, NEAR_GOOD) else BAD
        position += step
    return BAD


def classified_blocks(found: Sequence[Segment]) -> list[Block]:
    """The blocks the classifier judged good."""
    return [Block(s.text, s.kind) for s in found if s.verdict == GOOD]


def densest_blocks(found: Sequence[Segment]) -> list[Block]:
    """The run of blocks with the most text net of a cost per block (the maximum sum
    of a sub-array), without the link lists and furniture lines inside it."""
    best = current = 0.0
    start = best_start = best_end = 0
    for index, segment in enumerate(found):
        value = len(segment.text) * (1.0 - segment.density) - _BLOCK_COST
        if current <= 0:
            current, start = value, index
        else:
            current += value
        if current > best:
            best, best_start, best_end = current, start, index + 1
    return [
        Block(s.text, s.kind)
        for s in found[best_start:best_end]
        if s.density <= _MAX_LINK_DENSITY
        and not s.furniture
        and not (s.verdict == BAD and len(s.text) < _LENGTH_LOW)
    ]


def prose_blocks(found: Sequence[Segment]) -> list[Block]:
    """Every block of prose on the page, wherever it stands: no longer than a line,
    ending a sentence, hardly linked, no furniture. The last resort when the page's
    layout leaves no region of text to choose (a table of cells, most of them links)."""
    return [
        Block(s.text, s.kind)
        for s in found
        if len(s.text) >= _LENGTH_LOW
        and s.density <= _MAX_LINK_DENSITY
        and not s.furniture
        and _SENTENCE_END.search(s.text)
    ]


_MIN_LINES = 3
_MIN_PROSE_CHARS = 20  # a line of prose in the quality score: a short sentence will do


def line_blocks(found: Sequence[Segment]) -> list[Block]:
    """The longest run of short lines without links or furniture (a short article of
    short lines or a list), when no block is long enough to be judged good."""
    best: tuple[int, int, int] = (0, 0, 0)  # characters, start, end
    start = 0
    total = 0
    for index, segment in enumerate(found):
        if segment.density > 0 or segment.furniture or len(segment.text.split()) < 3:
            start, total = index + 1, 0
            continue
        total += len(segment.text)
        if index + 1 - start >= _MIN_LINES and total > best[0]:
            best = (total, start, index + 1)
    _, first, last = best
    return [Block(s.text, s.kind) for s in found[first:last]]


def grown_blocks(found: Sequence[Segment]) -> tuple[list[Block], list[Block]]:
    """The good blocks right before and right after the first pick: a lead above the
    body container, the rest of an article split over sibling containers."""
    inside = [index for index, segment in enumerate(found) if segment.inside]
    if not inside:
        return [], []
    start, end = inside[0], inside[-1] + 1
    while start > 0 and found[start - 1].verdict == GOOD:
        start -= 1
    while end < len(found) and found[end].verdict == GOOD:
        end += 1
    before = [Block(s.text, s.kind) for s in found[start : inside[0]]]
    after = [Block(s.text, s.kind) for s in found[inside[-1] + 1 : end]]
    return before, after


def comment_thread(paragraphs: Sequence[str], rules: FurnitureRules) -> bool:
    """Repeated lines naming who wrote when, or reply links: comments, not an article."""
    meta = sum(
        1 for p in paragraphs if len(p) <= _MAX_META_CHARS and rules.comment_meta.found_in(p)
    )
    return meta >= 3 and meta * 8 >= len(paragraphs)


def furniture(paragraphs: Sequence[str], rules: FurnitureRules) -> bool:
    """Whether the text reads as a comment thread, the page's foot or a site notice."""
    if not paragraphs:
        return False
    if comment_thread(paragraphs, rules):
        return True
    total = sum(map(len, paragraphs))
    if total > _MAX_NOTICE_CHARS * 2:
        return False
    marked = sum(1 for p in paragraphs if rules.footer_line.found_in(p) or rules.notice.found_in(p))
    return marked >= 2 and marked * 2 >= len(paragraphs)


def overlap(paragraphs: Sequence[str], first: Sequence[str]) -> float:
    """The share of the first pick's text that a result keeps."""
    total = sum(map(len, first))
    if not total:
        return 1.0
    kept = set(paragraphs)
    return sum(len(p) for p in first if p in kept) / total


def quality(paragraphs: Sequence[str], rules: FurnitureRules) -> float:
    """Characters of prose (lines with a sentence or commas), next to nothing for furniture."""
    prose = 0
    for paragraph in paragraphs:
        if len(paragraph) >= _MIN_PROSE_CHARS and (
            _SENTENCE_END.search(paragraph) or paragraph.count(",") >= 2
        ):
            prose += len(paragraph)
        else:
            prose += len(paragraph) // 4
    return prose * 0.1 if furniture(paragraphs, rules) else float(prose)
