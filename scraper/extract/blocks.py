"""Text blocks: what the HTML walker and the plain-text reader hand to the cleaner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
_NEWLINES = re.compile(r"\s*\n\s*")


class Kind(StrEnum):
    PARAGRAPH = "paragraph"
    HEADING = "heading"
    ITEM = "item"  # a list item
    QUOTE = "quote"
    CODE = "code"
    CAPTION = "caption"  # known from markup to describe an image (figcaption, caption cell)
    IMAGE = "image"  # an image itself; text is empty


@dataclass(frozen=True)
class Block:
    text: str
    kind: Kind = Kind.PARAGRAPH
    src: str | None = None  # for IMAGE
    alt: str | None = None  # for IMAGE
    credit: str | None = None  # for CAPTION, when markup names the credit apart


def normalise_space(text: str) -> str:
    """One space between words, no space at the ends; line breaks kept as single newlines."""
    text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = _NEWLINES.sub("\n", text)
    return text.strip()
