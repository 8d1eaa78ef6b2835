"""Language of a text: the only module that uses py3langid."""

from __future__ import annotations

import re

import py3langid

# Enough text to judge; more only costs time.
_SAMPLE_CHARS = 400
_MIN_CHARS = 20
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or ``None`` for too little text."""
    sample = text[:_SAMPLE_CHARS]
    if len(sample.strip()) < _MIN_CHARS:
        return None
    code, _score = py3langid.classify(sample)
    return str(code)


def normalise_language(tag: str | None) -> str | None:
    """The primary subtag of a stated language (``en-US`` -> ``en``), or ``None``."""
    if not tag:
        return None
    match = _TAG.match(tag.strip())
    if match is None:
        return None
    return match.group(1).lower()
