"""bench/newspaper_pages.py: newspaper4k's test pages become a page set bench/extract.py reads."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from extract import load_pages
from newspaper_pages import main

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
