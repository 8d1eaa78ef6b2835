"""How an article's field is declared: once, beside its attribute in ``contract.model.Article``.

Each attribute of ``Article`` carries a :class:`Declared` in its dataclass metadata
(``field(default=..., metadata=declare(...))``): what kind of value it is, whether it
enters the content hash, whether a difference is reported between versions, and the
sentence Datasette shows for its column. Everything else is generated from that:
the ``versions`` and ``extractions`` columns and their INSERTs (``archive.columns``),
the compared fields of the diff, the export columns, the Datasette column
descriptions, and the JSON that ``scraper extract`` prints.

Adding a field to the archive is one attribute here plus the code that extracts it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

# The key of ``Declared`` in a dataclass field's metadata.
DECLARED = "newsarchive"


class Kind(StrEnum):
    """What a field holds, which decides its column type, JSON form and hash form."""

    TEXT = "text"  # one short line of text
    LONG_TEXT = "long_text"  # a paragraph or more
    URL = "url"  # an address
    TIME = "time"  # ISO-8601 as the page states it, with its offset
    NAMES = "names"  # a tuple of strings, stored as a JSON array
    IMAGES = "images"  # a tuple of Image, stored as a JSON array of objects
    COUNT = "count"  # a whole number
    BODY = "body"  # the paragraphs, stored as one text with blank lines between them
    VERSION = "version"  # which extractor read the page: bookkeeping, not content


# How a field enters the content hash: "always" (its normalised value, even when empty),
# "when_set" (only when it has a value, so a hashed field added later leaves every stored
# hash of an article without it valid), or None (never: a change makes no new version).
Hashed = Literal["always", "when_set"] | None


@dataclass(frozen=True)
class Declared:
    description: str  # the column's description on the Datasette pages
    kind: Kind
    hashed: Hashed = None
    compared: bool = True  # a difference is listed in a version's changed_fields
    column: str | None = None  # the stored column's name when it is not the field's
    stored: bool = True  # a content column of versions and extractions


def declare(
    description: str,
    kind: Kind,
    *,
    hashed: Hashed = None,
    compared: bool = True,
    column: str | None = None,
    stored: bool = True,
) -> Mapping[str, Declared]:
    """The metadata of one ``Article`` field (for ``dataclasses.field(metadata=...)``)."""
    return {DECLARED: Declared(description, kind, hashed, compared, column, stored)}


@dataclass(frozen=True)
class ArticleField:
    """One declared field of the article: its attribute name and its declaration."""

    name: str  # the attribute of Article
    declared: Declared

    @property
    def column(self) -> str:
        """The stored column (and export and diff name) of the field."""
        return self.declared.column or self.name

    @property
    def kind(self) -> Kind:
        return self.declared.kind

    @property
    def description(self) -> str:
        return self.declared.description


def declared_fields(cls: type[Any]) -> tuple[ArticleField, ...]:
    """The declared fields of a dataclass in declaration order; every field must be declared."""
    found = []
    for item in dataclasses.fields(cls):
        declared = item.metadata.get(DECLARED)
        if not isinstance(declared, Declared):
            raise TypeError(
                f"{cls.__qualname__}.{item.name}: not declared; give it"
                " metadata=declare(description, kind, ...) (contract/fields.py)"
            )
        found.append(ArticleField(item.name, declared))
    return tuple(found)
