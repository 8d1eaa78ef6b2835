"""Bytes of an HTML or XML page -> ``str``, in the order browsers use.

BOM, then the HTTP ``charset``, then ``<meta>`` or the XML declaration, then
detection (charset-normalizer), then UTF-8. w3lib does the ordering and the
decoding with replacement characters, so undecodable bytes never raise.
UTF-7 is refused (it smuggles markup past filters); NUL characters become U+FFFD
as the HTML standard does.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer
from w3lib.encoding import html_to_unicode, http_content_type_encoding, read_bom

REFUSED_CHARSETS = frozenset({"utf_7"})
DETECTION_SAMPLE = 64 * 1024  # detection over more bytes costs time and rarely changes the answer
DECLARATION_SAMPLE = 4096  # where <meta charset> and the XML declaration must appear
# w3lib quietly ignores a UTF-7 declaration; we want it refused out loud.
_UTF7_HEADER = re.compile(rb"charset\s*=\s*[\"']?\s*utf-?7\b", re.IGNORECASE)
_UTF7_BODY = re.compile(rb"(charset|encoding)\s*=\s*[\"']?\s*utf-?7\b", re.IGNORECASE)


class DecodeError(ValueError):
    """The page declares or is detected in a charset we refuse."""


def decode_html(body: bytes, content_type: str | None) -> str:
    if _declares_utf7(body, content_type):
        raise DecodeError("charset utf-7 refused")
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    if _codec_name(encoding) in REFUSED_CHARSETS:
        raise DecodeError(f"charset {encoding} refused")
    return text.replace("\x00", "\ufffd")


def _declares_utf7(body: bytes, content_type: str | None) -> bool:
    """UTF-7 declared where it would decide: no BOM, then the header, then the page."""
    if read_bom(body)[0] is not None:
        return False
    header = (content_type or "").encode("latin-1", "replace")
    if _UTF7_HEADER.search(header):
        return True
    if http_content_type_encoding(content_type) is not None:
        return False  # the header's own charset outranks the page's declaration
    return _UTF7_BODY.search(body[:DECLARATION_SAMPLE]) is not None


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
