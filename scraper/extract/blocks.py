"""Text blocks: what the HTML walker and the plain-text reader hand to the cleaner."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final, final

# Invisible characters str.split() does not treat as space.
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]+")


class Kind(StrEnum):
    PARAGRAPH = "paragraph"
    HEADING = "heading"
    ITEM = "item"  # a list item
    QUOTE = "quote"
    CODE = "code"
    CAPTION = "caption"  # known from markup to describe an image (figcaption, caption cell)
    IMAGE = "image"  # an image itself; text is empty


# The members as plain names, for hot code: attribute access on an Enum class goes
# through EnumType.__getattr__'s hook (Python 3.11), several times slower than a global.
PARAGRAPH, HEADING, ITEM, QUOTE, CODE, CAPTION, IMAGE = (
    Kind.PARAGRAPH,
    Kind.HEADING,
    Kind.ITEM,
    Kind.QUOTE,
    Kind.CODE,
    Kind.CAPTION,
    Kind.IMAGE,
)


@final
class Block:
    """One block of text in reading order, with its markup kind (immutable).

    A plain class, not a NamedTuple: compiled with the core, it is built natively,
    where a NamedTuple's constructor runs as interpreted Python (dozens per page).
    """

    __slots__ = ("alt", "credit", "kind", "src", "text")

    def __init__(
        self,
        text: str,
        kind: Kind = Kind.PARAGRAPH,
        src: str | None = None,  # for IMAGE
        alt: str | None = None,  # for IMAGE
        credit: str | None = None,  # for CAPTION, when markup names the credit apart
    ) -> None:
        self.text: Final = text
        self.kind: Final = kind
        self.src: Final = src
        self.alt: Final = alt
        self.credit: Final = credit

    def with_text(self, text: str) -> Block:
        return Block(text, self.kind, self.src, self.alt, self.credit)

    def __repr__(self) -> str:
        return f"Block({self.text!r}, {self.kind}, src={self.src!r}, credit={self.credit!r})"


def normalise_space(text: str) -> str:
    """One space between words (line breaks included), none at the ends, no invisible characters."""
    if text.isascii():
        if _is_spaced(text):
            return text  # a quarter of the text handed here is so already: no split and join
    elif _has_invisible(text):
        text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def _is_spaced(text: str) -> bool:
    """Whether ASCII ``text`` is what normalise_space makes of it: each substring test is
    one fast scan, where splitting makes a string of every word."""
    return not (
        "\n" in text
        or "  " in text
        or text.startswith(" ")
        or text.endswith(" ")
        or "\t" in text
        or "\r" in text
        or "\x0b" in text
        or "\x0c" in text
        or "\x1c" in text
        or "\x1d" in text
        or "\x1e" in text
        or "\x1f" in text
    )


def _has_invisible(text: str) -> bool:
    # Six substring tests beat one regular-expression scan: most are answered at once
    # (a Latin-1 string cannot hold the five above U+00FF), the rest are fast scans.
    return (
        "\u00ad" in text
        or "\u200b" in text
        or "\u200c" in text
        or "\u200d" in text
        or "\u2060" in text
        or "\ufeff" in text
    )
