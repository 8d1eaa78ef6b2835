"""``scraper extract --jsonl``: pages in as JSON lines, articles out, one line each.

The only module that imports orjson. Lines are read and written as bytes: orjson parses
UTF-8 bytes and writes UTF-8 bytes, so nothing is decoded or encoded twice. A line orjson
refuses but the standard library reads (an integer id past 64 bits, a lone surrogate
escape) still gets its article.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

import orjson

from scraper.extract.api import article_to_json, extract_document


def _loads(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)  # raises for what is not JSON at all


def _dumps(result: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # a lone surrogate or a huge integer orjson cannot write
        return json.dumps(result).encode("ascii") + b"\n"


def _record_id(line: bytes) -> Any:
    """The ``id`` of a line, or None when it has none (or is not a JSON object)."""
    try:
        record = _loads(line)
    except Exception:  # not JSON: its error line says so already
        return None
    return record.get("id") if isinstance(record, dict) else None


def _answer(number: int, line: bytes) -> dict[str, Any]:
    record_id: Any = None
    try:
        record = _loads(line)
        if not isinstance(record, dict):
            raise ValueError("expected a JSON object")
        record_id = record.get("id")
        html = record.get("html")
        if not isinstance(html, str):
            raise ValueError("missing string field 'html'")
        url = record.get("url")
        article = extract_document(html, url if isinstance(url, str) else None)
        result: dict[str, Any] = {"id": record_id, "title": article.title, "text": article.text}
        result.update(article_to_json(article))
        return result
    except Exception as error:  # one bad page must not stop the stream
        return {"id": record_id, "error": f"line {number}: {type(error).__name__}: {error}"}


def answer_line(number: int, line: bytes) -> bytes:
    """The encoded answer to input line ``number``: what a worker process sends back."""
    return _dumps(_answer(number, line))


def failure_line(number: int, line: bytes, reason: str) -> bytes:
    """The error line for a page whose reading did not finish (its worker died)."""
    return _dumps({"id": _record_id(line), "error": f"line {number}: {reason}"})


def extract_jsonl(lines: Iterable[bytes], out: IO[bytes]) -> None:
    """One JSON object in per line (``{"id", "url", "html"}``), one out, in order.

    A line that is not JSON, lacks ``html``, or whose page fails gives
    ``{"id": ..., "error": ...}``; the stream goes on. Each answer is flushed, so a
    caller may send a page and wait for its article.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        out.write(answer_line(number, line))
        out.flush()
