"""bench/newspaper_pages.py: newspaper4k's test pages become a page set bench/extract.py reads."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from extract import load_pages, site_part
from extract import main as main_bench
from newspaper_pages import main
from same_output import main as main_same

_ARTICLE = (
    "<html><head><title>Bridge reopens | Gazette</title></head><body><article>"
    "<p>The bridge reopened on Monday after two years of repairs.</p></article></body></html>"
)


def _sdist(path: Path, files: dict[str, str]) -> Path:
    """A source distribution laid out as newspaper4k's: tests/data/{html,txt,metadata}."""
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"newspaper4k-0.9.6/tests/data/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_pages_with_expected_text_become_bench_pages(tmp_path: Path) -> None:
    sdist = _sdist(
        tmp_path / "newspaper4k-0.9.6.tar.gz",
        {
            "html/gazette.html": _ARTICLE,
            "txt/gazette.txt": "The bridge reopened on Monday.\n\nTraffic <slowly> returns.\n",
            "metadata/gazette.json": json.dumps(
                {"title": "Bridge reopens", "language": "en", "meta_site_name": "Gazette"}
            ),
            "html/front_page.html": "<html><body><a href='/a'>A</a></body></html>",  # no text
            "txt/unrelated.txt": "no page for this one",
        },
    )
    assert main([str(sdist), str(tmp_path / "pages")]) == 0

    pages = load_pages(tmp_path / "pages")
    assert [page.name for page in pages] == ["gazette"]
    page = pages[0]
    assert page.html == _ARTICLE
    # One expected paragraph per non-blank line, markup in the text escaped, not parsed.
    assert " ".join(page.expected_text.split()) == (
        "The bridge reopened on Monday. Traffic <slowly> returns."
    )
    assert page.metadata == {"title": "Bridge reopens", "lang": "en", "siteName": "Gazette"}


def test_an_archive_without_test_pages_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdist = _sdist(tmp_path / "other-1.0.tar.gz", {"txt/readme.txt": "nothing"})
    assert main([str(sdist), str(tmp_path / "pages")]) == 1
    assert "no tests/data/html pages with expected text" in capsys.readouterr().err
    missing = tmp_path / "missing.tar.gz"
    assert main([str(missing), str(tmp_path / "pages")]) == 1
    assert str(missing) in capsys.readouterr().err


def _shared_page(folder: Path, html: bytes, expected: str, **meta: object) -> None:
    folder.mkdir(parents=True)
    if folder.parent.name == "dragnet":
        (folder / "source.html.gz").write_bytes(gzip.compress(html))
    else:
        (folder / "source.html").write_bytes(html)
    (folder / "expected.txt").write_text(expected, encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps({"url": None, "lang": "en", **meta}))


_STORY = (
    "<html><head><meta charset='windows-1252'><title>Caf\xe9 closes | Gazette</title></head>"
    "<body><article><h1>Caf\xe9 closes</h1><p>The caf\xe9 on the corner closed on Monday "
    "after forty years, its owner said, and the building will be sold.</p></article></body>"
    "</html>"
)


def test_every_shared_set_is_scored_per_set_and_as_a_union(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "The café on the corner closed on Monday after forty years, its owner said"
    wrapped = (
        f'<text id="http://gazette.example/cafe" title="Café closes | Gazette">\n{_STORY}\n</text>'
    )
    _shared_page(
        tmp_path / "cleaneval" / "dev-1",
        wrapped.encode("cp1252"),
        text,
        url="http://www.gazette.example/cafe",
        title="Café closes | Gazette",
    )
    # Raw bytes, gzipped, no URL: the site comes from the page's canonical link.
    canonical = _STORY.replace(
        "<title>", "<link rel=canonical href='http://blog.example/a'><title>"
    )
    _shared_page(tmp_path / "dragnet" / "R1", canonical.encode("cp1252"), text)
    _shared_page(tmp_path / "dragnet" / "R2", b"<html><body></body></html>", "Lost text")
    _shared_page(tmp_path / "dragnet" / "R3", b"error", "Not in the page", defect="redirect")

    pages = load_pages(tmp_path / "cleaneval") + load_pages(tmp_path / "dragnet")
    assert [(p.set, p.name, p.site) for p in pages] == [
        ("cleaneval", "dev-1", "gazette.example"),
        ("dragnet", "R1", "blog.example"),
        ("dragnet", "R2", "R2"),
    ]
    # Decoded by the declared charset; CleanEval's wrapper line is not part of the page.
    assert pages[0].html == _STORY
    assert (
        pages[0].part == site_part("gazette.example") == load_pages(tmp_path / "cleaneval")[0].part
    )

    assert main_bench(["--data", str(tmp_path), "--only", "ours", "--by-part"]) == 0
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines() if " ours " in line]
    rows = {cells[0]: cells for cells in lines if not cells[1].startswith("[")}
    assert set(rows) == {"cleaneval", "dragnet", "union"}
    # set, extractor, pages, P, R, F1, empty, title, byline, ...
    assert rows["cleaneval"][2] == "1" and rows["cleaneval"][7] == "100.0%"
    assert rows["dragnet"][2] == "2" and rows["dragnet"][6] == "1"  # R2: empty, text expected
    assert rows["union"][2] == "3" and rows["union"][6] == "1"
    parts = [cells for cells in lines if cells[1].startswith("[")]
    assert {cells[1] for cells in parts} == {"[study]", "[score]"}
    assert sum(int(cells[3]) for cells in parts if cells[0] == "union") == 3

    assert main_bench(["--data", str(tmp_path), "--set", "readability-pages"]) == 2
    assert "readability-pages" in capsys.readouterr().err


def test_same_output_lists_the_pages_whose_output_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "The café on the corner closed on Monday after forty years, its owner said"
    _shared_page(tmp_path / "data" / "cleaneval" / "dev-1", _STORY.encode("cp1252"), text)
    other = _STORY.replace("forty years", "fifty years")
    _shared_page(tmp_path / "data" / "cleaneval" / "dev-2", other.encode("cp1252"), text)
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    data = ["--data", str(tmp_path / "data"), "--set", "cleaneval"]
    assert main_same(["dump", str(before), *data]) == 0
    assert main_same(["dump", str(after), *data]) == 0
    assert before.read_bytes() == after.read_bytes()  # the same code, the same bytes
    records = [json.loads(line) for line in before.read_text(encoding="utf-8").splitlines()]
    assert [r["page"] for r in records] == ["cleaneval/dev-1", "cleaneval/dev-2"]
    assert records[1]["article"]["title"].startswith("Café closes")  # decoded as cp1252
    assert "fifty years" in " ".join(records[1]["article"]["paragraphs"])
    assert main_same(["compare", str(before), str(after)]) == 0
    capsys.readouterr()

    # One page's text changed: that page and that field are listed, and nothing else.
    lines = before.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("fifty years", "sixty years")
    after.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main_same(["compare", str(before), str(after)]) == 1
    out = capsys.readouterr().out
    assert "cleaneval/dev-2: paragraphs\n" in out and "cleaneval/dev-1" not in out
    assert "1 of 2 pages differ" in out

    after.write_text(lines[0] + "\n", encoding="utf-8")  # a page missing is not "the same"
    assert main_same(["compare", str(before), str(after)]) == 2
    assert "1 pages only in" in capsys.readouterr().out
