"""Small value helpers shared by the metadata readers."""

from __future__ import annotations

import re

from scraper.extract.blocks import normalise_space

# A value that is a link or a handle, not a person's name.
URLISH = re.compile(r"^(https?:)?//|^www\.|^@", re.IGNORECASE)


def clean_value(value: object) -> str | None:
    """A scalar as tidy text, or None for empty and non-scalar values."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = normalise_space(str(value))
    return text or None


def first_value(*values: object) -> str | None:
    """The first value that is non-empty text."""
    for value in values:
        text = clean_value(value)
        if text:
            return text
    return None
