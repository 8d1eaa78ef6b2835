"""Our extractor's whole output on every shared page, dumped, and two dumps compared.

A speed-up must not change what is extracted: dump before, dump after, compare::

    python bench/same_output.py dump before.jsonl     # every page of every shared set
    python bench/same_output.py dump after.jsonl --set dragnet
    python bench/same_output.py compare before.jsonl after.jsonl

A dump is one JSON line per page, in the order bench/extract.py reads the pages:
``{"page": "set/name", "article": ...}`` with the article as ``scraper extract`` prints
it (text, every metadata field, images; ``article_to_json``), or ``"error"`` with the
exception a page raised. The page's URL is bench/extract.py's, so what is dumped is what
it times and scores. ``compare`` lists each page whose line differs, with the fields
that differ, and exits 1 when any does (2 when the dumps hold different pages).

Run it from outside the source root on an installed build to check the compiled
modules (``pip install .``), or from anywhere in a pure-Python editable install.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from extract import BASE_URL, DATA, SETS, Page, load_pages

from scraper.compiled import compiled_modules
from scraper.extract import article_to_json, extract_html


def page_line(page: Page) -> str:
    """The page's whole output as one JSON line (keys in declared order)."""
    record: dict[str, Any] = {"page": f"{page.set}/{page.name}"}
    try:
        record["article"] = article_to_json(extract_html(page.html, BASE_URL))
    except Exception as error:  # a crash is output too: the same crash must stay
        record["error"] = f"{type(error).__name__}: {error}"
    return json.dumps(record, ensure_ascii=False)


def dump(data: Path, sets: list[str], out: Path) -> int:
    missing = [name for name in sets if not (data / name).is_dir()]
    if missing:
        print(f"{data}: no page set {', '.join(missing)} there", file=sys.stderr)
        return 2
    compiled = compiled_modules()
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for name in sets:
            for page in load_pages(data / name, name):
                handle.write(page_line(page) + "\n")
                count += 1
    build = f"{len(compiled)} modules compiled" if compiled else "pure Python"
    print(f"{count} pages ({', '.join(sets)}; {build}) -> {out}")
    return 0


def _read(path: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise SystemExit(f"{path}:{number}: not a JSON line ({error})") from error
            records[record["page"]] = record
    return records


def _differing_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if "error" in before or "error" in after:
        return ["error"]
    old, new = before["article"], after["article"]
    return [key for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)]


def compare(before_path: Path, after_path: Path, show: int) -> int:
    before, after = _read(before_path), _read(after_path)
    only_before = sorted(before.keys() - after.keys())
    only_after = sorted(after.keys() - before.keys())
    for path, names in ((before_path, only_before), (after_path, only_after)):
        if names:
            print(f"{len(names)} pages only in {path}: {', '.join(names[:10])}")
    differing = [
        name
        for name in before
        if name in after and json.dumps(before[name]) != json.dumps(after[name])
    ]
    for name in differing:
        fields = _differing_fields(before[name], after[name])
        print(f"{name}: {', '.join(fields) or 'key order'}")
        for field in fields[:show]:
            for label, record in (("-", before[name]), ("+", after[name])):
                value = record.get("error") if field == "error" else record["article"].get(field)
                print(f"  {label} {field}: {json.dumps(value, ensure_ascii=False)[:300]}")
    common = len(before.keys() & after.keys())
    print(f"{len(differing)} of {common} pages differ")
    if only_before or only_after:
        return 2
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump", help="write every page's output to a file")
    dumping.add_argument("out", type=Path)
    dumping.add_argument("--data", type=Path, default=DATA, help="folder of the page sets")
    dumping.add_argument("--set", action="append", choices=SETS, help="only this set")
    comparing = commands.add_parser("compare", help="list the pages whose output differs")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    comparing.add_argument(
        "--show", type=int, default=3, help="fields shown per differing page (default 3)"
    )
    args = parser.parse_args(argv)
    if args.command == "dump":
        return dump(args.data, args.set or list(SETS), args.out)
    return compare(args.before, args.after, args.show)


if __name__ == "__main__":
    raise SystemExit(main())
