"""Our extractor against trafilatura, readability-lxml and resiliparse, in one run, per page set.

    python bench/extract.py [PAGES_DIR] [--data DIR] [--set NAME ...] [--part study|score]
                            [--by-part] [--only NAME ...] [--repeat N] [--pages-csv FILE]

Without PAGES_DIR it reads every set under ``--data`` (default ../shared/data next to
the repository: readability-pages, dragnet, cleaneval, cleanportaleval; see its
README) and prints one row per set and per extractor, then the union of the sets.
PAGES_DIR is one folder of pages in either layout: Mozilla Readability's
(``source.html``, ``expected.html``, ``expected-metadata.json``) or the shared sets'
(``source.html`` or ``source.html.gz`` as raw bytes, ``expected.txt``, ``meta.json``).
Raw bytes are decoded as the fetcher decodes them (scraper.decode); CleanEval's
``<text id=...>`` wrapper line is taken off, as it is not part of the page; pages
marked ``defect`` (their truth is not in the HTML) are skipped.

Each set is split by site (a stable hash of the page's host; its canonical URL when
the set states none) into a ``study`` part, the one to look at while developing, and
a ``score`` part, only to be scored: ``--part`` keeps one, ``--by-part`` prints both.

Columns: text precision / recall / F1 (4-token shingle multisets, see
``bench/score.py``); ``empty``: pages with expected text where the output is
empty; ``title`` / ``byline``: share of the pages stating one where the extractor's
matches (a set whose stated title is the page's ``<title>``, CleanEval's, counts a
title contained in it); pages per second and the speed ratio to trafilatura (the
fastest of ``--repeat`` passes, interleaved across extractors). For
readability-pages a metadata table follows (ours and trafilatura): the share of
pages whose field matches the expected value, over the pages stating one (``n``);
``extra`` counts pages with no expected value where the extractor still returned
one (often right: the reference tool missed it). Peers that are not installed
(``pip install -e .[bench]``) are skipped.
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from score import (
    CorpusScore,
    PageScore,
    byline_matches,
    corpus_score,
    date_matches,
    html_text,
    language_matches,
    normalise_value,
    page_score,
    text_matches,
)

from scraper.compiled import compiled_modules
from scraper.decode import decode_html
from scraper.extract import extract_html

BASE_URL = "http://fakehost/test/page.html"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_PAGES = DATA / "readability-pages"
SETS = ("readability-pages", "dragnet", "cleaneval", "cleanportaleval")
PARTS = ("study", "score")
WARM_UP_PAGE = (
    "<html><body><article><h1>Warm-up</h1>"
    + "<p>This page states no language, so language detection loads its model here, "
    "once, as it would in a long-running process.</p>" * 5 + "</article></body></html>"
)
FIELDS = ("title", "byline", "published", "language", "site_name", "description")
EXPECTED_KEYS = {
    "title": "title",
    "byline": "byline",
    "published": "publishedTime",
    "language": "lang",
    "site_name": "siteName",
    "description": "excerpt",
}
_WRAPPER_START = re.compile(r"\A\s*<text\s+id=[^>]*>\s*", re.IGNORECASE)
_WRAPPER_END = re.compile(r"\s*</text>\s*\Z", re.IGNORECASE)
_CANONICAL = re.compile(
    r"<link\b[^>]*\brel=[\"']?canonical[^>]*>|<meta\b[^>]*\bog:url[^>]*>", re.IGNORECASE
)
_ABSOLUTE = re.compile(r"(?:href|content)=[\"']?(https?://[^\"' >]+)", re.IGNORECASE)
_NUMBERED = re.compile(r"-\d+$")


@dataclass(frozen=True)
class Page:
    name: str
    html: str
    expected_text: str
    metadata: dict[str, Any]
    set: str = ""
    site: str = ""
    url: str | None = None
    # Where the stated title is the page's <title> (site name and all), not the headline.
    title_is_page_title: bool = False
    part: str = "study"


def site_part(site: str) -> str:
    """``study`` or ``score``: the same site always lands in the same part."""
    return PARTS[hashlib.sha256(site.encode("utf-8")).digest()[0] % 2]


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def _stated_url(html: str) -> str | None:
    """The page's canonical (or og:url) address, when its markup states one."""
    match = _CANONICAL.search(html)
    if match is None:
        return None
    address = _ABSOLUTE.search(match.group(0))
    return address.group(1) if address else None


def _read_source(folder: Path) -> str:
    plain = folder / "source.html"
    body = (
        plain.read_bytes()
        if plain.is_file()
        else gzip.decompress((folder / "source.html.gz").read_bytes())
    )
    html = decode_html(body, None)
    return _WRAPPER_END.sub("", _WRAPPER_START.sub("", html, count=1), count=1)


def _has_source(folder: Path) -> bool:
    return (folder / "source.html").is_file() or (folder / "source.html.gz").is_file()


def load_pages(folder: Path, set_name: str | None = None) -> list[Page]:
    """The pages of one set folder, in name order (defect pages left out)."""
    name_of_set = set_name or folder.name
    pages = []
    for directory in sorted(p for p in folder.iterdir() if _has_source(p)):
        meta_path = directory / "meta.json"
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("defect"):
                continue
            html = _read_source(directory)
            url = meta.get("url") or _stated_url(html)
            host = _host(url) or meta.get("site") or directory.name
            title = meta.get("title")
            pages.append(
                Page(
                    name=directory.name,
                    html=html,
                    expected_text=(directory / "expected.txt").read_text(encoding="utf-8"),
                    metadata={"title": title} if title else {},
                    set=name_of_set,
                    site=host,
                    url=url,
                    title_is_page_title=True,
                    part=site_part(host),
                )
            )
            continue
        expected = directory / "expected.html"
        stated = directory / "expected-metadata.json"
        # Readability's folders are one page each; bbc-1, bbc-2 ... are one site.
        site = _NUMBERED.sub("", directory.name)
        pages.append(
            Page(
                name=directory.name,
                html=(directory / "source.html").read_text(encoding="utf-8", errors="replace"),
                expected_text=html_text(expected.read_text(encoding="utf-8"))
                if expected.exists()
                else "",
                metadata=json.loads(stated.read_text(encoding="utf-8")) if stated.exists() else {},
                set=name_of_set,
                site=site,
                part=site_part(site),
            )
        )
    return pages


# ----------------------------------------------------------------------------- extractors


@dataclass(frozen=True)
class Extraction:
    text: str
    title: str | None = None
    byline: Sequence[str] | str | None = None


Extractor = Callable[[str], Extraction]


def ours(html: str) -> Extraction:
    article = extract_html(html, BASE_URL)
    return Extraction(article.text, article.title, article.byline)


def _trafilatura() -> Extractor:
    import trafilatura

    def run(html: str) -> Extraction:
        return Extraction(trafilatura.extract(html, url=BASE_URL, include_comments=False) or "")

    return run


def _readability() -> Extractor:
    from readability import Document

    def run(html: str) -> Extraction:
        return Extraction(html_text(Document(html).summary(html_partial=True)))

    return run


def _resiliparse() -> Extractor:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    def run(html: str) -> Extraction:
        return Extraction(str(extract_plain_text(HTMLTree.parse(html), main_content=True)))

    return run


def extractors(only: list[str]) -> dict[str, Extractor]:
    found: dict[str, Extractor] = {"ours": ours}
    for name, factory in (
        ("trafilatura", _trafilatura),
        ("readability-lxml", _readability),
        ("resiliparse", _resiliparse),
    ):
        if only and name not in only:
            continue
        try:
            found[name] = factory()
        except ImportError as error:
            print(f"skipping {name}: {error} (pip install -e '.[bench]')", file=sys.stderr)
    return {k: v for k, v in found.items() if not only or k in only}


@dataclass(frozen=True)
class Run:
    outputs: list[Extraction]
    seconds: float

    @property
    def texts(self) -> list[str]:
        return [output.text for output in self.outputs]


def timed_pass(extract: Extractor, pages: list[Page]) -> Run:
    outputs: list[Extraction] = []
    gc.collect()
    started = time.perf_counter()
    for page in pages:
        try:
            outputs.append(extract(page.html))
        except Exception as error:  # a crashing page scores as empty
            print(f"  {page.set}/{page.name}: {type(error).__name__}: {error}", file=sys.stderr)
            outputs.append(Extraction(""))
    return Run(outputs, time.perf_counter() - started)


def run_all(chosen: dict[str, Extractor], pages: list[Page], repeat: int) -> dict[str, Run]:
    """Passes interleaved across extractors, the fastest pass of each kept.

    Interleaving spreads whatever else the machine is doing over all extractors
    alike, so the speed ratios stay fair on a shared machine.
    """
    for extract in chosen.values():
        # Warm-up: lazy imports and model loading are once per process, not page work.
        extract(pages[0].html)
        extract(WARM_UP_PAGE)
    # What is alive now (the pages, libraries, their caches) stays alive: keep it out of
    # the collector's scans, so one extractor's leftovers do not slow down the next.
    gc.collect()
    gc.freeze()
    best: dict[str, Run] = {}
    for _ in range(repeat):
        for name, extract in chosen.items():
            run = timed_pass(extract, pages)
            if name not in best or run.seconds < best[name].seconds:
                best[name] = run
    return best


# ----------------------------------------------------------------------------- scoring


def title_matches(page: Page, predicted: str | None) -> bool:
    expected = page.metadata.get("title")
    if not page.title_is_page_title:
        return text_matches(predicted, expected)
    ours, theirs = normalise_value(predicted), normalise_value(expected)
    return bool(ours) and ours in theirs


@dataclass(frozen=True)
class Row:
    """One extractor over some pages."""

    score: CorpusScore
    pages: int
    empty: int  # output empty, expected text not
    titles: tuple[int, int]  # matched, stated
    bylines: tuple[int, int]
    seconds: float

    def share(self, counts: tuple[int, int]) -> str:
        matched, stated = counts
        return f"{matched / stated:.1%}" if stated else "-"


def row(
    pages: list[Page],
    indexes: list[int],
    outputs: list[Extraction],
    scores: list[PageScore],
    seconds: float,
    titled: bool,
) -> Row:
    empty = titles = bylines = stated_titles = stated_bylines = 0
    for index in indexes:
        page, output = pages[index], outputs[index]
        if page.expected_text.strip() and scores[index].precision is None:
            empty += 1
        if titled and page.metadata.get("title"):
            stated_titles += 1
            titles += title_matches(page, output.title)
        if titled and page.metadata.get("byline"):
            stated_bylines += 1
            bylines += byline_matches(output.byline, page.metadata["byline"])
    return Row(
        corpus_score([scores[i] for i in indexes]),
        len(indexes),
        empty,
        (titles, stated_titles),
        (bylines, stated_bylines),
        seconds,
    )


def print_rows(
    pages: list[Page],
    runs: dict[str, Run],
    scores: dict[str, list[PageScore]],
    titled: set[str],
    by_part: bool,
) -> None:
    """A row per set (and part) and extractor, then the union of the sets."""
    groups: dict[str, list[int]] = {}
    sets = list(dict.fromkeys(page.set for page in pages))
    wholes = [(name, [i for i, p in enumerate(pages) if p.set == name]) for name in sets]
    if len(sets) > 1:
        wholes.append(("union", list(range(len(pages)))))
    for name, indexes in wholes:
        groups[name] = indexes
        if by_part:
            for part in PARTS:
                groups[f"{name} [{part}]"] = [i for i in indexes if pages[i].part == part]
    reference = runs.get("trafilatura")
    print(
        f"\n{'set':<26}{'extractor':<18}{'pages':>6}{'P':>7}{'R':>7}{'F1':>7}{'empty':>7}"
        f"{'title':>8}{'byline':>8}{'pages/s':>9}{'vs traf.':>9}"
    )
    for group, indexes in groups.items():
        if not indexes:
            continue
        for name, run in runs.items():
            result = row(pages, indexes, run.outputs, scores[name], run.seconds, name in titled)
            speed = len(pages) / run.seconds if run.seconds else 0.0
            ratio = f"{reference.seconds / run.seconds:.1f}x" if reference else "-"
            total = result.score
            print(
                f"{group:<26}{name:<18}{result.pages:>6}{total.precision:>7.3f}"
                f"{total.recall:>7.3f}{total.f1:>7.3f}{result.empty:>7}"
                f"{result.share(result.titles):>8}{result.share(result.bylines):>8}"
                f"{speed:>9.1f}{ratio:>9}"
            )


# ----------------------------------------------------------------------------- metadata


def our_metadata(html: str) -> dict[str, Any]:
    article = extract_html(html, BASE_URL)
    return {
        "title": article.title,
        "byline": article.byline,
        "published": article.published,
        "language": article.language,
        "site_name": article.site_name,
        "description": article.description,
    }


def trafilatura_metadata(html: str) -> dict[str, Any]:
    import trafilatura

    document = trafilatura.bare_extraction(html, url=BASE_URL, with_metadata=True)
    if document is None:
        return {}
    author = getattr(document, "author", None)
    return {
        "title": getattr(document, "title", None),
        "byline": [a.strip() for a in author.split(";")] if author else None,
        "published": getattr(document, "date", None),
        "language": getattr(document, "language", None),
        "site_name": getattr(document, "sitename", None),
        "description": getattr(document, "description", None),
    }


def field_matches(field: str, predicted: Any, expected: Any) -> bool:
    if field == "byline":
        return byline_matches(predicted, expected)
    if field == "published":
        return date_matches(predicted, expected)
    if field == "language":
        return language_matches(predicted, expected)
    return text_matches(predicted, expected)


def metadata_table(
    name: str, read: Callable[[str], dict[str, Any]], pages: list[Page], show_misses: bool
) -> dict[str, tuple[int, int, int]]:
    """Per field: (matches, pages with an expected value, extra values where none expected)."""
    results = {field: [0, 0, 0] for field in FIELDS}
    misses: list[str] = []
    for page in pages:
        try:
            got = read(page.html)
        except Exception as error:
            print(f"  {name} metadata {page.name}: {error}", file=sys.stderr)
            got = {}
        for field in FIELDS:
            expected = page.metadata.get(EXPECTED_KEYS[field])
            predicted = got.get(field)
            if expected:
                results[field][1] += 1
                if field_matches(field, predicted, expected):
                    results[field][0] += 1
                else:
                    misses.append(f"{page.name}.{field}: got {predicted!r} want {expected!r}")
            elif predicted:
                results[field][2] += 1
    if show_misses:
        print(f"\n{name} metadata misses:\n  " + "\n  ".join(misses))
    return {field: (m, n, x) for field, (m, n, x) in results.items()}


def print_metadata(pages: list[Page], with_trafilatura: bool, show_misses: bool) -> None:
    tables = {"ours": metadata_table("ours", our_metadata, pages, show_misses)}
    if with_trafilatura:
        tables["trafilatura"] = metadata_table(
            "trafilatura", trafilatura_metadata, pages, show_misses
        )
    print(f"\n{'metadata field':<16}" + "".join(f"{n:>22}" for n in tables))
    for field in FIELDS:
        cells = []
        for table in tables.values():
            matched, expected_count, extra = table[field]
            share = matched / expected_count if expected_count else 0.0
            cells.append(f"{share:>7.1%} ({matched}/{expected_count}) +{extra}")
        print(f"{field:<16}" + "".join(f"{c:>22}" for c in cells))


# ----------------------------------------------------------------------------- main


def chosen_pages(args: argparse.Namespace) -> list[Page] | str:
    """The pages asked for, or what is wrong with the request."""
    if args.pages is not None:
        if not args.pages.is_dir():
            return f"{args.pages}: no such folder of pages"
        pages = load_pages(args.pages)
    else:
        names = args.set or [name for name in SETS if (args.data / name).is_dir()]
        unknown = [name for name in names if not (args.data / name).is_dir()]
        if unknown or not names:
            return f"{args.data}: no page set {', '.join(unknown) or 'at all'} there"
        pages = [page for name in names for page in load_pages(args.data / name, name)]
    if args.part:
        pages = [page for page in pages if page.part == args.part]
    return pages or "no pages to score"


def write_csv(path: Path, pages: list[Page], scores: dict[str, list[PageScore]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["set", "page", "site", "part", *(f"{n}_{m}" for n in scores for m in ("p", "r"))]
        )
        for index, page in enumerate(pages):
            cells: list[Any] = [page.set, page.name, page.site, page.part]
            for name in scores:
                s = scores[name][index]
                cells += ["" if s.precision is None else f"{s.precision:.3f}", f"{s.recall:.3f}"]
            writer.writerow(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="?", type=Path, help="one folder of pages (any layout)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the page sets")
    parser.add_argument("--set", action="append", default=[], choices=SETS, help="only this set")
    parser.add_argument("--part", choices=PARTS, help="only the study or the score part")
    parser.add_argument("--by-part", action="store_true", help="a row per part of each set too")
    parser.add_argument("--only", action="append", default=[], help="run only these extractors")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="timed passes per extractor; the fastest counts (default 1; 5 for speed numbers)",
    )
    parser.add_argument("--pages-csv", type=Path, help="write per-page scores here")
    parser.add_argument("--show-misses", action="store_true", help="list metadata mismatches")
    parser.add_argument("--no-metadata", action="store_true")
    args = parser.parse_args(argv)
    pages = chosen_pages(args)
    if isinstance(pages, str):
        print(pages, file=sys.stderr)
        return 2
    counts = {page.set: 0 for page in pages}
    for page in pages:
        counts[page.set] += 1
    print(f"{len(pages)} pages: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    compiled = compiled_modules()
    print(
        f"ours: {len(compiled)} modules compiled with mypyc (setup.py)"
        if compiled
        else "ours: pure Python (the install did not compile the core)"
    )
    runs = run_all(extractors(args.only), pages, max(1, args.repeat))
    scores = {
        name: [
            page_score(text, page.expected_text)
            for text, page in zip(run.texts, pages, strict=True)
        ]
        for name, run in runs.items()
    }
    titled = {"ours"} & set(runs)
    if "trafilatura" in runs and not args.no_metadata:
        # Its title and author come from a second, untimed pass: metadata is extra work
        # for trafilatura, and its timed pass extracts the text alone.
        stated = [trafilatura_metadata(page.html) for page in pages]
        run = runs["trafilatura"]
        outputs = [
            Extraction(output.text, meta.get("title"), meta.get("byline"))
            for output, meta in zip(run.outputs, stated, strict=True)
        ]
        runs["trafilatura"] = Run(outputs, run.seconds)
        titled.add("trafilatura")
    print_rows(pages, runs, scores, titled, args.by_part)
    if args.pages_csv:
        write_csv(args.pages_csv, pages, scores)
    # The full metadata table needs expected values for every field (Readability's layout).
    described = [page for page in pages if page.metadata and not page.title_is_page_title]
    if args.no_metadata or not described or "ours" not in runs:
        return 0
    print_metadata(described, "trafilatura" in runs, args.show_misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
