"""Instructions per page for each extractor, counted by valgrind: a speed ratio that does
not move with the load of a shared machine.

    python bench/instructions.py [PAGES_DIR] [--only NAME ...]

Wall-clock ratios on a shared machine swing by ±20 % from run to run, as every
extractor's speed swings with what else the host is doing. Instruction counts
do not: valgrind's cachegrind counts what the CPU executes, whatever the load.
Each extractor runs in two child processes under cachegrind, both with the same
warm-up (the first page and a page without a stated language, so imports and
models load there), then zero or one pass over the pages; the difference over
the page count is its instructions per page. Hash seeds and address randomisation
are fixed, so the same code gives the same count within about half a percent.

Needs valgrind (Debian's ``valgrind``); takes a few minutes, trafilatura under
valgrind being the slow part. Complements ``bench/extract.py``, whose pages per
second are what the speed target is stated in.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from extract import DEFAULT_PAGES, WARM_UP_PAGE, extractors, load_pages

from scraper.compiled import compiled_modules

_TOTAL = re.compile(r"I\s+refs:\s+([\d,]+)")


def _child(name: str, folder: Path, passes: int) -> None:
    """Warm up, then ``passes`` passes over the pages (runs under valgrind)."""
    pages = load_pages(folder)
    extract = extractors([name])[name]
    extract(pages[0].html)
    extract(WARM_UP_PAGE)
    for _ in range(passes):
        for page in pages:
            extract(page.html)


def _counted(name: str, folder: Path, passes: int) -> int:
    """Instructions valgrind counted for a child process doing ``passes`` passes."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        str(folder),
        "--child",
        name,
        "--passes",
        str(passes),
    ]
    if shutil.which("setarch"):  # addresses feed hashes of node ids: keep them fixed
        command = ["setarch", "-R", *command]
    # BLAS threads (of NumPy, where a peer uses it) spin while they wait: counts would vary.
    environment = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    found = _TOTAL.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{name}: valgrind run failed (exit {done.returncode}):\n{tail}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="?", type=Path, default=DEFAULT_PAGES)
    parser.add_argument("--only", action="append", default=[], help="count only these extractors")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--passes", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.pages, args.passes)
        return 0
    if not args.pages.is_dir():
        print(f"{args.pages}: no such folder of pages", file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    count = len(load_pages(args.pages))
    names = list(extractors(args.only))
    print(f"{count} pages from {args.pages}; counting {', '.join(names)} under valgrind")
    compiled = compiled_modules()
    print(f"ours: {len(compiled)} modules compiled with mypyc" if compiled else "ours: pure Python")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = {
            (name, passes): pool.submit(_counted, name, args.pages, passes)
            for name in names
            for passes in (0, 1)
        }
        per_page = {
            name: (runs[name, 1].result() - runs[name, 0].result()) / count for name in names
        }
    reference = per_page.get("trafilatura")
    print(f"\n{'extractor':<18}{'M instructions/page':>21}{'vs trafilatura':>16}")
    for name, instructions in per_page.items():
        ratio = f"{reference / instructions:.1f}x" if reference else "-"
        print(f"{name:<18}{instructions / 1e6:>21.2f}{ratio:>16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
