"""`scraper extract --jsonl` end to end against trafilatura in-process, in one run.

The pages go to a real `scraper extract --jsonl` subprocess on its standard input, one
``{"id", "url", "html"}`` line each, and its article lines are read from standard output:
the clock runs from starting the process to its exit, so start-up, imports, worker
processes, JSON decoding and encoding are all counted. The stream runs twice a pass: with
``--workers 1`` (one process, as a library caller would) and with its default (a worker
process a core). trafilatura and our extractor run in this process on the same pages
(warm, as bench/extract.py runs them). A row per set, and one for the union of the sets:
there the stream reads every set's pages in one process, and the in-process times are the
sums of the sets' (nothing starts twice in-process). Passes are interleaved and the fastest
of each kept, so the ratios stay fair on a shared machine::

    python bench/jsonl.py                      # every shared set and their union, 3 passes
    python bench/jsonl.py --set readability-pages --repeat 5

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
from dataclasses import dataclass, field
from pathlib import Path

from extract import DATA, SETS, WARM_UP_PAGE, Page, extractors, load_pages

from scraper.compiled import compiled_modules

# The stream's two ways: one process, and the default (a worker a core).
MODES: dict[str, list[str]] = {"--workers 1": ["--workers", "1"], "default": []}


def jsonl_input(pages: list[Page]) -> bytes:
    lines = [
        json.dumps({"id": index, "url": page.url, "html": page.html}, ensure_ascii=False)
        for index, page in enumerate(pages)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def cli_pass(command: list[str], flags: list[str], data: bytes, expected_lines: int) -> float:
    """Seconds for one `scraper extract --jsonl FLAGS` process over ``data``, start to exit."""
    with tempfile.TemporaryDirectory() as empty:  # no source tree on the module path
        started = time.perf_counter()
        result = subprocess.run(
            [*command, "extract", "--jsonl", *flags],
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
    ids = [json.loads(line)["id"] for line in lines]
    if ids != list(range(expected_lines)):
        raise SystemExit("the article lines are not in the order of the pages")
    return seconds


def in_process_pass(extract: Callable[[str], object], pages: list[Page]) -> float:
    started = time.perf_counter()
    for page in pages:
        extract(page.html)
    return time.perf_counter() - started


@dataclass
class Timings:
    """The fastest seconds seen for each way of reading one group of pages."""

    pages: int
    best: dict[str, float] = field(default_factory=dict)

    def keep(self, name: str, seconds: float) -> None:
        self.best[name] = min(self.best.get(name, seconds), seconds)


def _rates(label: str, timings: Timings) -> str:
    reference = timings.pages / timings.best["trafilatura"]
    cells = [f"{label:18} {timings.pages:>6} {reference:>12.1f}"]
    for name in ("ours", *MODES):
        rate = timings.pages / timings.best[name]
        cells.append(f"{rate:>9.1f} {rate / reference:>5.1f}x")
    return " ".join(cells)


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
    names = args.set or [name for name in SETS if (args.data / name).is_dir()]
    missing = [name for name in names if not (args.data / name).is_dir()]
    if missing or not names:
        print(
            f"error: no page set {', '.join(missing) or 'at all'} in {args.data}", file=sys.stderr
        )
        return 2
    groups = {name: load_pages(args.data / name, name) for name in names}
    inputs = {name: jsonl_input(pages) for name, pages in groups.items()}
    union = [page for pages in groups.values() for page in pages]
    command = args.scraper.split()
    chosen = extractors(["ours", "trafilatura"])
    for extract in chosen.values():
        extract(union[0].html)
        extract(WARM_UP_PAGE)
    startup = {
        mode: min(cli_pass(command, flags, b"", 0) for _ in range(3))
        for mode, flags in MODES.items()
    }
    timings = {name: Timings(len(pages)) for name, pages in groups.items()}
    union_timings = Timings(len(union))
    for _ in range(args.repeat):
        for name, pages in groups.items():
            for mode, flags in MODES.items():
                timings[name].keep(mode, cli_pass(command, flags, inputs[name], len(pages)))
            for extractor, extract in chosen.items():
                timings[name].keep(extractor, in_process_pass(extract, pages))
        if len(groups) > 1:
            everything = jsonl_input(union)
            for mode, flags in MODES.items():
                union_timings.keep(mode, cli_pass(command, flags, everything, len(union)))
    for extractor in chosen:
        union_timings.best[extractor] = sum(t.best[extractor] for t in timings.values())
    compiled = compiled_modules()
    print(
        f"{len(union)} pages ({', '.join(names)}), {sum(map(len, inputs.values())) / 1e6:.1f} MB "
        f"of JSON lines, fastest of {args.repeat} passes; core "
        f"{'compiled' if compiled else 'pure Python'}; {len(os.sched_getaffinity(0))} cores "
        f"(the default --workers), load average {os.getloadavg()[0]:.1f} at the end"
    )
    columns = ("ours in-process", *(f"--jsonl {mode}" for mode in MODES))
    print(f"{'':18} {'':>6} {'trafilatura':>12}" + "".join(f" {label:>16}" for label in columns))
    print(
        f"{'set':18} {'pages':>6} {'pages/s':>12}"
        + "".join(f" {'pages/s':>9} {'ratio':>6}" for _ in columns)
    )
    for name, set_timings in timings.items():
        print(_rates(name, set_timings))
    if len(groups) > 1:
        print(_rates("union", union_timings))
    print(
        "(the stream's start-up on empty input, counted above: "
        + ", ".join(f"{mode} {seconds:.2f} s" for mode, seconds in startup.items())
        + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
