"""Child process of tests/test_crash.py: fetch, extract and archive until killed.

Usage: python crash_writer.py ARCHIVE BASE_URL SEED

It fetches articles from the test's local HTTP server, extracts them with the
real extractor, records them through ``Archive`` in batches of random size, and
after each ``commit()`` prints one line per version written in that batch:
``committed <url> <version> <content_hash>``. Whatever it printed must survive
a SIGKILL at any moment.
"""

from __future__ import annotations

import random
import sys
import urllib.request
from pathlib import Path

from archive.hashing import content_hash
from archive.store import Archive
from contract.clock import SystemClock, iso
from contract.model import Fetch
from scraper.extract import extract_document

ARTICLES = 12


def main() -> None:
    path, base, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    clock = SystemClock()
    # Only explicit commits, so the child knows exactly what each commit made durable.
    archive = Archive.open(path, clock, commit_every=10**9, commit_after_s=10.0**9)
    print("ready", flush=True)
    pending: list[str] = []
    while True:
        for _ in range(rng.randint(1, 6)):
            url = f"{base}/news/{rng.randrange(ARTICLES)}.html"
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read()
                content_type = response.headers.get("Content-Type")
            article = extract_document(body.decode("utf-8"), url)
            fetch = Fetch(
                url=url, started_at=iso(clock.now()), final_url=url, status=200,
                content_type=content_type, body=body, source="crash",
            )  # fmt: skip
            recorded = archive.record(fetch, article)
            if recorded.version is not None:
                pending.append(f"committed {url} {recorded.version} {content_hash(article)}")
        print("committing", flush=True)  # lets the test aim kills at the commit itself
        archive.commit()
        flush(pending)


def flush(pending: list[str]) -> None:
    if pending:
        sys.stdout.write("".join(line + "\n" for line in pending))
        sys.stdout.flush()
        pending.clear()


if __name__ == "__main__":
    main()
