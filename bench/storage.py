"""Bytes the archive spends per fetch, and how well raw bodies compress, on real pages.

Over the development pages (../shared/data/readability-pages, 130 saved news
and blog pages), through the real extractor and the real ``Archive.record``:

  new version        first fetch of each page: body + fetch + version (+ FTS index)
  unchanged re-fetch same bytes again: one fetches row, no body, no version
  noisy re-fetch     same article, bytes differ (a counter, a timestamp): body, no version
  edited re-fetch    a sentence added to the article: body + fetch + version

Growth is measured as the file size after commit and checkpoint. Raw body
compression is compared with gzip -6 (what WARC files use) on the same bytes.

Run: python bench/storage.py [--pages DIR]
"""

from __future__ import annotations

import argparse
import gzip
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from archive.compress import BodyCodec
from archive.store import Archive
from contract.clock import SystemClock, iso
from contract.model import Fetch, Outcome
from scraper.extract import extract_document

PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "readability-pages"


def file_size(path: Path) -> int:
    """Bytes of the pages in use (free pages left by index merges do not count)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return int((pages - free) * size)


def phase(
    path: Path,
    pages: list[tuple[str, bytes]],
    change: Callable[[bytes, int], bytes],
    round_: int,
    delta: bool,
) -> tuple[int, dict[Outcome, int], float]:
    """Record every page once (bytes changed by ``change``): growth, outcomes, record() time."""
    clock = SystemClock()
    before = file_size(path) if path.exists() else 0
    outcomes: dict[Outcome, int] = {}
    elapsed = 0.0
    with Archive.open(path, clock, delta_bodies=delta) as archive:
        for url, raw in pages:
            body = change(raw, round_)
            article = extract_document(body.decode("utf-8", "replace"), url)
            started = time.perf_counter()
            fetch = Fetch(
                url=url, started_at=iso(clock.now()), final_url=url, status=200,
                content_type="text/html; charset=utf-8", body=body, source="bench",
            )  # fmt: skip
            recorded = archive.record(fetch, article)
            elapsed += time.perf_counter() - started
            outcomes[recorded.outcome] = outcomes.get(recorded.outcome, 0) + 1
        archive.commit()
    return file_size(path) - before, outcomes, elapsed


def same(raw: bytes, round_: int) -> bytes:
    return raw


def noisy(raw: bytes, round_: int) -> bytes:
    # What servers change on every request: a render timestamp and a view counter.
    return (
        raw
        + f"<!-- rendered {round_}.{time.time_ns()} --><span hidden>{round_} views</span>".encode()
    )


def edited(raw: bytes, round_: int) -> bytes:
    text = raw.decode("utf-8", "replace")
    at = text.find("</p>")
    if at < 0:
        return raw + b"<p>A correction was appended to this article.</p>"
    return (text[:at] + f" Correction {round_}: one fact was updated." + text[at:]).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=PAGES)
    args = parser.parse_args(argv)
    if not args.pages.is_dir():
        print(f"{args.pages}: not found; pass --pages DIR of <name>/source.html", file=sys.stderr)
        return 2
    pages = [
        (f"http://fakehost/{d.name}/page.html", (d / "source.html").read_bytes())
        for d in sorted(args.pages.iterdir())
        if (d / "source.html").is_file()
    ]
    raw_total = sum(len(raw) for _, raw in pages)
    codec = BodyCodec()
    zstd_total = sum(len(codec.compress(raw)) for _, raw in pages)
    gzip_total = sum(len(gzip.compress(raw, 6)) for _, raw in pages)

    print(f"{len(pages)} pages, {raw_total / 1e6:.1f} MB raw HTML ({args.pages})")
    kinds: list[tuple[str, Callable[[bytes, int], bytes]]] = [
        ("new version", same), ("unchanged re-fetch", same), ("noisy re-fetch", noisy),
        ("edited re-fetch", edited),
    ]  # fmt: skip
    finals = {}
    for delta in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            print()
            print("bodies stored " + ("against the URL's previous body" if delta else "alone"))
            header = f"{'fetch kind':<20} {'bytes/fetch':>12} {'versions':>9} {'bodies':>7}"
            print(f"{header} {'ms/record()':>12}")
            for number, (name, change) in enumerate(kinds):
                growth, outcomes, seconds = phase(path, pages, change, number, delta)
                conn = sqlite3.connect(path)
                versions, bodies = conn.execute(
                    "SELECT (SELECT count(*) FROM versions), (SELECT count(*) FROM bodies)"
                ).fetchone()
                conn.close()
                shown = ", ".join(f"{o}={n}" for o, n in sorted(outcomes.items()))
                print(
                    f"{name:<20} {growth / len(pages):>12,.0f} {versions:>9} {bodies:>7}"
                    f" {1000 * seconds / len(pages):>12.2f}   ({shown})"
                )
            finals[delta] = file_size(path)
    print()
    print(
        f"raw bodies: zstd {raw_total / zstd_total:.2f}x smaller (gzip -6: "
        f"{raw_total / gzip_total:.2f}x; zstd/gzip size {zstd_total / gzip_total:.2f})"
    )
    print(
        f"archive after {4 * len(pages)} fetches ({raw_total * 4 / 1e6:.1f} MB fetched): "
        f"{finals[False] / 1e6:.1f} MB with bodies alone, {finals[True] / 1e6:.1f} MB with "
        "bodies against their URL's previous body"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
