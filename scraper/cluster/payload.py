"""Fetches and articles as JSON for the queue, bodies compressed (archive.compress).

A job's arguments are JSON in PostgreSQL. A body travels zstd-compressed and base64
encoded, so a 100 KB page costs about 20 KB in the queue; everything else is the
frozen dataclasses' own fields, read back into the same dataclasses.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from archive.compress import BodyCodec
from contract.model import Article, Fetch, Image, Outcome

_BYTES = ("body", "original_body")


def dump_fetch(fetch: Fetch, codec: BodyCodec) -> dict[str, Any]:
    data = {f.name: getattr(fetch, f.name) for f in dataclasses.fields(Fetch)}
    for name in _BYTES:
        raw = data[name]
        data[name] = None if raw is None else base64.b64encode(codec.compress(raw)).decode()
    data["outcome_hint"] = None if fetch.outcome_hint is None else str(fetch.outcome_hint)
    data["headers"] = [list(pair) for pair in fetch.headers]
    return data


def load_fetch(data: dict[str, Any], codec: BodyCodec) -> Fetch:
    values = dict(data)
    for name in _BYTES:
        packed = values.get(name)
        values[name] = None if packed is None else codec.decompress(base64.b64decode(packed))
    hint = values.get("outcome_hint")
    values["outcome_hint"] = None if hint is None else Outcome(hint)
    values["headers"] = tuple((str(k), str(v)) for k, v in values.get("headers", ()))
    return Fetch(**values)


def dump_article(article: Article | None) -> dict[str, Any] | None:
    if article is None:
        return None
    return dataclasses.asdict(article)


def load_article(data: dict[str, Any] | None) -> Article | None:
    if data is None:
        return None
    values = dict(data)
    for f in dataclasses.fields(Article):
        value = values.get(f.name)
        if isinstance(value, list):  # JSON has lists where the dataclass keeps tuples
            values[f.name] = tuple(value)
    values["images"] = tuple(Image(**image) for image in values.get("images", ()))
    return Article(**values)
