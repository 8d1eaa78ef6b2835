"""Language of a text: the only module that uses pycld2 (Google's Compact Language
Detector 2, the detector of Chrome): a C++ n-gram scorer, about twenty times faster
per call than a Python one such as py3langid, for the same verdicts on articles."""

from __future__ import annotations

import re

import pycld2

# Enough text to judge; more only costs time.
_SAMPLE_CHARS = 400
_MIN_CHARS = 20
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")
# What CLD2's UTF-8 check refuses (it raises on the whole text): control characters
# other than tab, newlines and form feed, lone surrogates, and Unicode's noncharacters.
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef"
    + f"{chr(0xD800)}-{chr(0xDFFF)}"  # as chr(): mypyc takes no surrogate in a literal
    + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
    + "]"
)
# CLD2 still speaks some withdrawn ISO 639-1 codes.
_RENAMED = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "mo": "ro"}
# "Unknown", "unknown in script X" (xx-Latn) and CLD2's pseudo-languages are no answer.
_NO_LANGUAGE = frozenset({"un", "xx", "xxx", "zzb", "zze", "zzh", "zzp"})


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or ``None`` for too little text or
    none CLD2 can name."""
    sample = text[:_SAMPLE_CHARS]
    if len(sample.strip()) < _MIN_CHARS:
        return None
    if not sample.isprintable():  # every refused character is unprintable; text rarely is
        sample = _REFUSED.sub(" ", sample)
    _reliable, _bytes, detected = pycld2.detect(sample, isPlainText=True)
    primary = normalise_language(str(detected[0][1]))  # "zh-Hant" is Chinese
    if primary is None or primary in _NO_LANGUAGE:
        return None
    return _RENAMED.get(primary, primary)


def normalise_language(tag: str | None) -> str | None:
    """The primary subtag of a stated language (``en-US`` -> ``en``), or ``None``."""
    if not tag:
        return None
    match = _TAG.match(tag.strip())
    if match is None:
        return None
    return match.group(1).lower()
