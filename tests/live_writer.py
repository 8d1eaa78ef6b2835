"""Child process of tests/test_live_read.py: write many versions through Archive, fast.

Usage: python live_writer.py ARCHIVE VERSIONS ARTICLES
Prints ``done <versions written>`` at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archive.store import Archive
from contract.clock import SystemClock, iso
from contract.model import Article, Fetch

WORDS = [
    "river",
    "flood",
    "water",
    "village",
    "boat",
    "rescue",
    "rice",
    "road",
    "school",
    "bridge",
    "rain",
    "storm",
]


def main() -> None:
    path, total, articles = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    clock = SystemClock()
    written = 0
    with Archive.open(path, clock, commit_every=25, commit_after_s=0.2) as archive:
        print("ready", flush=True)
        round_number = 0
        while written < total:
            round_number += 1
            for n in range(articles):
                url = f"https://live.example/news/{n}.html"
                sentence = " ".join(WORDS[(n + round_number + i) % len(WORDS)] for i in range(9))
                article = Article(
                    paragraphs=(f"Report {n}, update {round_number}: {sentence}.", "More text."),
                    title=f"Live report {n} ({round_number})",
                    byline=("Desk",),
                    tags=("live", f"t{n % 5}"),
                    extractor_version="live-1",
                )
                body = f"<html><p>{n} {round_number} {sentence}</p></html>".encode()
                fetch = Fetch(
                    url=url, started_at=iso(clock.now()), final_url=url, status=200,
                    content_type="text/html", body=body, source="live",
                )  # fmt: skip
                if archive.record(fetch, article).version is not None:
                    written += 1
                if written >= total:
                    break
    print(f"done {written}", flush=True)


if __name__ == "__main__":
    main()
