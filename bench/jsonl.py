"""`scraper extract --jsonl` end to end against trafilatura in-process, in one run.

The pages go to a real `scraper extract --jsonl` subprocess on its standard input, one
``{"id", "url", "html"}`` line each, and its article lines are read from standard output:
the clock runs from starting the process to its exit, so start-up, imports, JSON decoding
and encoding are all counted. trafilatura and our extractor run in this process on the same
pages (warm, as bench/extract.py runs them). Passes are interleaved and the fastest of each
kept, so the ratios stay fair on a shared machine::

    python bench/jsonl.py                      # readability-pages, 3 passes
    python bench/jsonl.py --set dragnet --set cleaneval --repeat 5

Measure a compiled install (``pip install .`` without NEWSARCHIVE_PURE_PYTHON), and run the
script from outside the source tree's root, so that the installed modules are the ones used.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from extract import DATA, DEFAULT_PAGES, WARM_UP_PAGE, Page, extractors, load_pages

from scraper.compiled import compiled_modules


def jsonl_input(pages: list[Page]) -> bytes:
    lines = [
        json.dumps({"id": index, "url": page.url, "html": page.html}, ensure_ascii=False)
        for index, page in enumerate(pages)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def cli_pass(command: list[str], data: bytes, expected_lines: int) -> float:
    """Seconds for one `scraper extract --jsonl` process over ``data``, start to exit."""
    with tempfile.TemporaryDirectory() as empty:  # no source tree on the module path
        started = time.perf_counter()
        result = subprocess.run(
            [*command, "extract", "--jsonl"],
            input=data,
            capture_output=True,
            cwd=empty,
            check=False,
        )
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"scraper extract --jsonl failed: {result.stderr.decode()[-500:]}")
    lines = result.stdout.splitlines()
    errors = [line for line in lines if b'"error"' in line[:200]]
    if len(lines) != expected_lines or errors:
        raise SystemExit(f"{len(lines)} lines for {expected_lines} pages, {len(errors)} errors")
    return seconds


def in_process_pass(extract: Callable[[str], object], pages: list[Page]) -> float:
    started = time.perf_counter()
    for page in pages:
        extract(page.html)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the page sets")
    parser.add_argument("--set", action="append", help="a page set in --data (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="passes; the fastest is kept")
    parser.add_argument(
        "--scraper",
        default=f"{sys.executable} -m scraper",
        help="the command that runs scraper (default: this Python's)",
    )
    args = parser.parse_args(argv)
    folders = [args.data / name for name in args.set] if args.set else [DEFAULT_PAGES]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        print(f"error: no page set at {', '.join(missing)}", file=sys.stderr)
        return 2
    pages = [page for folder in folders for page in load_pages(folder, folder.name)]
    data = jsonl_input(pages)
    command = args.scraper.split()
    chosen = extractors(["ours", "trafilatura"])
    for extract in chosen.values():
        extract(pages[0].html)
        extract(WARM_UP_PAGE)
    startup = min(cli_pass(command, b"", 0) for _ in range(3))
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        seconds = cli_pass(command, data, len(pages))
        best["jsonl"] = min(best.get("jsonl", seconds), seconds)
        for name, extract in chosen.items():
            seconds = in_process_pass(extract, pages)
            best[name] = min(best.get(name, seconds), seconds)
    compiled = compiled_modules()
    print(
        f"{len(pages)} pages ({', '.join(f.name for f in folders)}), {len(data) / 1e6:.1f} MB "
        f"of JSON lines, fastest of {args.repeat} passes; core "
        f"{'compiled' if compiled else 'pure Python'}; cpu count {os.cpu_count()}"
    )
    reference = len(pages) / best["trafilatura"]
    rows = [
        ("scraper extract --jsonl (subprocess, end to end)", best["jsonl"]),
        ("ours in-process (extract_html)", best["ours"]),
        ("trafilatura in-process", best["trafilatura"]),
    ]
    print(f"{'':50} {'seconds':>8} {'pages/s':>8} {'x trafilatura':>14}")
    for label, seconds in rows:
        rate = len(pages) / seconds
        print(f"{label:50} {seconds:8.2f} {rate:8.1f} {rate / reference:13.1f}x")
    print(f"(the process's start-up on empty input: {startup:.2f} s, counted above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
