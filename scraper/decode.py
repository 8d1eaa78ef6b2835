"""Bytes of an HTML or XML page -> ``str``, in the order browsers use.

BOM, then the HTTP ``charset``, then ``<meta>`` or the XML declaration, then
detection (charset-normalizer), then UTF-8. w3lib does the ordering and the
decoding with replacement characters, so undecodable bytes never raise.
UTF-7 is refused (it smuggles markup past filters); NUL characters become U+FFFD
as the HTML standard does.
"""

from __future__ import annotations

import codecs

import charset_normalizer
from w3lib.encoding import html_to_unicode

REFUSED_CHARSETS = frozenset({"utf_7"})
DETECTION_SAMPLE = 64 * 1024  # detection over more bytes costs time and rarely changes the answer


class DecodeError(ValueError):
    """The page declares or is detected in a charset we refuse."""


def decode_html(body: bytes, content_type: str | None) -> str:
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    if _codec_name(encoding) in REFUSED_CHARSETS:
        raise DecodeError(f"charset {encoding} refused")
    return text.replace("\x00", "\ufffd")


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        return encoding.lower().replace("-", "_")


def _detect(body: bytes) -> str | None:
    """Detection for pages that declare nothing; never answers UTF-7."""
    if _is_ascii_or_utf8(body):
        return "utf-8"
    best = charset_normalizer.from_bytes(body[:DETECTION_SAMPLE]).best()
    if best is None or _codec_name(best.encoding) in REFUSED_CHARSETS:
        return None
    return str(best.encoding)


def _is_ascii_or_utf8(body: bytes) -> bool:
    # Most of the web is UTF-8; a cheap exact check spares the statistical detector.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still UTF-8.
        return exc.start >= len(body) - 3 and exc.reason == "unexpected end of data"
    return True
