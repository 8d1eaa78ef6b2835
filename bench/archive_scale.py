"""Datasette page times on an archive of N articles: ``python bench/archive_scale.py [N ...]``.

Builds (once, cached in the temp dir as ``newsarchive-scale-N.db``) an archive of N
articles from ``N / 100`` sources, each source its own host: every article a first
version, one in five edited once or twice more, one in fifty gone; ten fetches per
article over the last 90 days (2 % failed), so 10^7 fetches at 10^6 articles. Texts are
three paragraphs (about 900 characters) drawn from 2,000, a quarter of them with the
common word ``harbour``. The rows are written in bulk, without the triggers, then
``latest_versions``, ``facet_counts``, the fetch tallies per host and source and both
search indexes are computed by the same functions the schema migration uses, and the
archive is opened by the real writer (which installs the triggers), so the file is the
one the daemon would have written.

Then it starts ``archive serve`` on it and times each page a reader opens from the index
over real HTTP: the median of 3 requests after one warm-up. :func:`time_pages` is the part
``bench/scale.py`` imports.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from archive import article_tags, facet_counts, fetch_stats, latest
from archive.store import Archive
from contract.clock import SystemClock, iso

COMMON_WORD = "harbour"
# The canned queries of the database page (archive/datasette_metadata.json).
CANNED = ("changed_today", "most_edited", "disappeared", "fetch_errors_by_host")
SIZES = (1_000, 10_000, 100_000, 1_000_000)
FETCHES_PER_ARTICLE = 10
_WORDS = [
    "council",
    "city",
    "river",
    "budget",
    "minister",
    "school",
    "police",
    "court",
    "election",
    "market",
    "energy",
    "water",
    "report",
    "study",
    "hospital",
    "road",
    "rail",
    "museum",
    "festival",
    "weather",
    "storm",
    "flood",
    "fire",
    "company",
    "workers",
    "union",
    "strike",
    "price",
    "tax",
    "bank",
    "housing",
    "family",
    "children",
    "teacher",
    "doctor",
    "nurse",
    "village",
    "mayor",
    "region",
    "border",
    "trade",
    "farm",
    "harvest",
    "rice",
    "coffee",
    "export",
    "import",
    "factory",
]


def pages(database: str, source: str) -> dict[str, str]:
    """What a reader opens from the index, by name: the path of each page."""
    return {
        "latest_articles": f"/{database}/latest_articles",
        "latest_articles, one source": f"/{database}/latest_articles?source={source}",
        # Facet values a reader clicks: a language of 60 % of the articles, a tag of 4 %.
        "latest_articles, one language": f"/{database}/latest_articles?language=en",
        "latest_articles, one tag": f"/{database}/latest_articles?tags__arraycontains=budget",
        "search page (/-/search)": f"/-/search?db={database}&q={COMMON_WORD}",
        "latest_articles search": f"/{database}/latest_articles?_search={COMMON_WORD}",
        "recent_changes": f"/{database}/recent_changes",
        "recent_changes, came back": f"/{database}/recent_changes?change=came+back",
        "recent_changes, one source": f"/{database}/recent_changes?source={source}",
        "failing_hosts": f"/{database}/failing_hosts",
        "failing_sources": f"/{database}/failing_sources",
        "articles": f"/{database}/articles",
        "articles search": f"/{database}/articles?_search={COMMON_WORD}",
        **{f"canned: {q}": f"/{database}/{q}" for q in CANNED},
    }


def time_pages(base: str, database: str, source: str, repeat: int = 3) -> dict[str, float | None]:
    """Median seconds of each page of :func:`pages` against a running ``archive serve``;
    None for a page Datasette cut at its ``sql_time_limit_ms`` (it answers 400 then)."""
    times: dict[str, float | None] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, path in pages(database, source).items():
            if client.get(path).status_code != 200:  # warm-up: the file into the cache
                times[name] = None
                continue
            taken = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                taken.append(time.perf_counter() - started)
            times[name] = statistics.median(taken)
    return times


def _shown(seconds: float | None) -> str:
    return "cut at the time limit" if seconds is None else f"{seconds * 1000:.0f} ms"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(path: Path) -> Iterator[str]:
    """``archive serve`` on ``path`` on a free loopback port; yields its base URL."""
    port = _free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from archive.cli import main; main()",
            "serve",
            str(path),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/-/versions.json", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError(f"archive serve on {path} did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=30)


def _paragraphs(rng: random.Random) -> list[str]:
    made = []
    for i in range(2000):
        words = rng.choices(_WORDS, k=48)
        if i % 4 == 0:
            words[rng.randrange(len(words))] = COMMON_WORD
        made.append(" ".join(words).capitalize() + ".")
    return made


def _summary(number: int, state: str) -> str:
    if number == 1:
        return "first version"
    return "gone (HTTP 410)" if state == "gone" else "text"


def build(path: Path, articles: int, seed: int = 18) -> None:
    """The archive of ``articles`` articles (see the module's docstring), written in bulk."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    Archive.open(path, SystemClock()).close()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    conn.execute("BEGIN")
    for name in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    sources = max(articles // 100, 1)
    conn.executemany(
        "INSERT INTO sources (name, url, kind, schedule, added_at) VALUES (?, ?, 'feed', ?, ?)",
        [
            (f"s{s}", f"https://news{s}.example/feed.xml", "every 15m", iso(now))
            for s in range(sources)
        ],
    )
    paragraphs = _paragraphs(rng)
    span = timedelta(days=90).total_seconds()
    article_rows: list[tuple[object, ...]] = []
    version_rows: list[tuple[object, ...]] = []
    fetch_rows: list[tuple[object, ...]] = []
    version_id = fetch_id = 0

    def flush() -> None:
        conn.executemany(
            "INSERT INTO articles (id, url, source, site_name, title, first_seen, last_checked,"
            " last_changed, current_version, state, checks, changes, next_check_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            article_rows,
        )
        conn.executemany(
            "INSERT INTO versions (id, article_id, source, version, captured_at, state, url,"
            " title, byline, published, language, site_name, section, tags, images, text,"
            " content_hash, changed_fields, summary, words_added, words_removed,"
            " extractor_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?,"
            " ?, ?, ?, ?, 'bench')",
            version_rows,
        )
        conn.executemany(
            "INSERT INTO fetches (id, url, article_id, source, started_at, due_at, status,"
            " outcome, error, bytes, elapsed_ms, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            fetch_rows,
        )
        article_rows.clear()
        version_rows.clear()
        fetch_rows.clear()

    for article_id in range(1, articles + 1):
        source = rng.randrange(sources)
        url = f"https://news{source}.example/story/{article_id}.html"
        first = now - timedelta(seconds=span * (1 - article_id / (articles + 1)))
        times = sorted(
            first + timedelta(seconds=rng.uniform(0, (now - first).total_seconds()))
            for _ in range(FETCHES_PER_ARTICLE - 1)
        )
        edits = rng.choices((0, 1, 2), weights=(80, 15, 5))[0]
        gone = rng.random() < 0.02
        title = " ".join(rng.choices(_WORDS, k=6)).capitalize()
        tags = json.dumps(rng.sample(_WORDS, 2))
        language = rng.choices(("en", "de", "vi", "fr"), weights=(60, 20, 15, 5))[0]
        section = rng.choice(("world", "politics", "business", "sport", "culture"))
        captures = [first, *times[: edits + (1 if gone else 0)]]
        for number, captured in enumerate(captures, start=1):
            version_id += 1
            state = "gone" if gone and number == len(captures) else "live"
            text = "\n\n".join(rng.sample(paragraphs, 3)) if state == "live" else None
            version_rows.append((
                version_id, article_id, f"s{source}", number, iso(captured), state, url,
                None if state == "gone" else title, '["A. Writer"]', iso(first), language,
                f"News {source}", section, tags, text, f"{version_id:064x}",
                '["text"]' if number > 1 else "[]",
                _summary(number, state),
                len((text or "").split()), 0,
            ))  # fmt: skip
        for n, started in enumerate([first, *times]):
            fetch_id += 1
            failed = rng.random() < 0.02
            outcome = "new" if n == 0 else ("failed" if failed else "unchanged")
            fetch_rows.append((
                fetch_id, url, article_id, f"s{source}", iso(started), iso(started),
                None if failed else 200, outcome, "connection refused" if failed else None,
                None if failed else 40_000, 300, 1 if n == 0 else None,
            ))  # fmt: skip
        last = captures[-1]
        article_rows.append((
            article_id, url, f"s{source}", f"News {source}", title, iso(first), iso(times[-1]),
            iso(last), len(captures), "gone" if gone else "live", FETCHES_PER_ARTICLE - 1,
            len(captures) - 1, iso(now + timedelta(hours=rng.uniform(0, 48))),
        ))  # fmt: skip
        if len(fetch_rows) >= 200_000:
            flush()
    flush()
    latest.fill(conn)
    facet_counts.fill(conn)
    article_tags.fill(conn)
    fetch_stats.fill(conn)
    for index in ("versions_fts", "articles_fts"):
        conn.execute(f"INSERT INTO {index} ({index}) VALUES ('rebuild')")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    Archive.open(path, SystemClock()).close()  # the triggers back, as the writer installs them


def cached(articles: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"newsarchive-scale-{articles}.db"
    if not path.exists():
        partial = path.with_suffix(".building.db")
        for leftover in partial.parent.glob(partial.name + "*"):
            leftover.unlink()
        started = time.perf_counter()
        build(partial, articles)
        partial.rename(path)
        print(f"built {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES))
    sizes = parser.parse_args().sizes
    table: dict[int, dict[str, float | None]] = {}
    for size in sizes:
        path = cached(size)
        with served(path) as base:
            table[size] = time_pages(base, path.stem, "s0")
        shown = {name: _shown(seconds) for name, seconds in table[size].items()}
        print(f"{size:>9,} articles: {json.dumps(shown)}", flush=True)
    names = list(next(iter(table.values())))
    print("\n| page | " + " | ".join(f"{s:,}" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in names:
        print(f"| {name} | " + " | ".join(_shown(table[s][name]) for s in sizes) + " |")


if __name__ == "__main__":
    main()
