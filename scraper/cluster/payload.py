"""A worker's result as one compressed string for the queue (archive.compress).

A job's arguments are JSON in PostgreSQL. A result travels as one zstd frame, base64
encoded: the JSON of its fetches and articles (the frozen dataclasses' own fields, read
back into the same dataclasses) followed by the raw bodies, so a 100 KB page costs about
20 KB in the queue. One string rather than nested JSON: Procrastinate renders every
job's arguments for its log lines, and psycopg escapes each quote of them when it sends
a job (the nested form cost a worker 4 ms of CPU per result); base64 has no quotes.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from archive.compress import BodyCodec
from contract.model import Article, Fetch, Image, Outcome

_BYTES = ("body", "original_body")
_LENGTH = 4  # bytes of the header's length at the start of a frame
# Level 3: the queue holds a result for seconds; level 6 (the archive's) cost twice the CPU.
LEVEL = 3


@dataclass(frozen=True)
class Result:
    """What one fetch job found: what to record, the links a source listed, its error."""

    recordings: tuple[tuple[Fetch, Article | None], ...]
    links: tuple[str, ...] = ()
    error: str | None = None


def pack_result(result: Result, codec: BodyCodec) -> str:
    """``result`` as one base64 string of one zstd frame."""
    bodies: list[bytes] = []
    recordings = []
    for fetch, article in result.recordings:
        data = _dump_fetch(fetch)
        for name in _BYTES:
            raw = data[name]
            if raw is not None:
                data[name] = len(bodies)  # the body's place among those after the header
                bodies.append(raw)
        recordings.append({"fetch": data, "article": _dump_article(article)})
    header = json.dumps(
        {
            "recordings": recordings,
            "links": list(result.links),
            "error": result.error,
            "sizes": [len(body) for body in bodies],
        },
        separators=(",", ":"),
    ).encode()
    frame = b"".join([len(header).to_bytes(_LENGTH, "big"), header, *bodies])
    return base64.b64encode(codec.compress(frame)).decode("ascii")


def unpack_result(packed: str, codec: BodyCodec) -> Result:
    frame = memoryview(codec.decompress(base64.b64decode(packed)))
    length = int.from_bytes(frame[:_LENGTH], "big")
    header = json.loads(bytes(frame[_LENGTH : _LENGTH + length]))
    bodies: list[bytes] = []
    at = _LENGTH + length
    for size in header["sizes"]:
        bodies.append(bytes(frame[at : at + size]))
        at += size
    recordings = []
    for item in header["recordings"]:
        values = dict(item["fetch"])
        for name in _BYTES:
            place = values.get(name)
            values[name] = None if place is None else bodies[place]
        recordings.append((_load_fetch(values), _load_article(item["article"])))
    return Result(tuple(recordings), tuple(header["links"]), header["error"])


def _dump_fetch(fetch: Fetch) -> dict[str, Any]:
    data = {f.name: getattr(fetch, f.name) for f in dataclasses.fields(Fetch)}
    data["outcome_hint"] = None if fetch.outcome_hint is None else str(fetch.outcome_hint)
    data["headers"] = [list(pair) for pair in fetch.headers]
    return data


def _load_fetch(values: dict[str, Any]) -> Fetch:
    hint = values.get("outcome_hint")
    values["outcome_hint"] = None if hint is None else Outcome(hint)
    values["headers"] = tuple((str(k), str(v)) for k, v in values.get("headers", ()))
    return Fetch(**values)


def _dump_article(article: Article | None) -> dict[str, Any] | None:
    if article is None:
        return None
    return dataclasses.asdict(article)


def _load_article(data: dict[str, Any] | None) -> Article | None:
    if data is None:
        return None
    values = dict(data)
    for f in dataclasses.fields(Article):
        value = values.get(f.name)
        if isinstance(value, list):  # JSON has lists where the dataclass keeps tuples
            values[f.name] = tuple(value)
    values["images"] = tuple(Image(**image) for image in values.get("images", ()))
    return Article(**values)
