"""``scraper extract`` from a file, standard input, a URL and a JSON-lines stream."""

from __future__ import annotations

import importlib.util
import json
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from newsserver import article_page, serve_site

from scraper.cli import main

SEED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "seed"
GOLDEN_PAGE = Path(__file__).parent / "golden" / "news-de-caption-tables" / "page.html"
CLEAN_FIELDS = ("paragraphs", "images", "source_url", "comment_count", "language")
STORY = [
    "The river rose by two metres overnight and flooded the lower town for the first time.",
    "Firefighters moved three hundred people to the school on the hill before dawn.",
]


@pytest.mark.shared
def test_extract_the_seed_file_prints_the_clean_article() -> None:
    if not SEED.exists():
        pytest.skip("../shared/fixtures/seed is absent")
    result = CliRunner().invoke(main, ["extract", str(SEED / "article-noisy.txt")])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    expected = json.loads((SEED / "article-clean.json").read_text(encoding="utf-8"))
    assert {k: printed[k] for k in CLEAN_FIELDS} == {k: expected[k] for k in CLEAN_FIELDS}


def test_extract_html_from_standard_input() -> None:
    page = GOLDEN_PAGE.read_bytes()
    result = CliRunner().invoke(main, ["extract", "-"], input=page)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["paragraphs"][0].startswith("Um Meta im KI-Wettlauf")
    assert printed["comment_count"] == 0
    assert all("Foto:" not in p for p in printed["paragraphs"])


def test_extract_a_url_from_a_local_server() -> None:
    with serve_site() as site:
        site.set("/story", article_page("Flood in the lower town", STORY, comments=4))
        result = CliRunner().invoke(main, ["extract", site.url("/story")])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["title"] == "Flood in the lower town"
    assert printed["paragraphs"] == STORY


def test_extract_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["extract", str(tmp_path / "nope.html")])
    assert result.exit_code != 0
    assert "nope.html" in result.output and "No such file" in result.output


def test_extract_jsonl_keeps_order_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"id": 1, "url": "https://a.test/1", "html": article_page("One", STORY)}),
        "this is not json",
        json.dumps({"id": 3, "url": "https://a.test/3", "html": article_page("Three", STORY[:1])}),
    ]
    result = CliRunner().invoke(main, ["extract", "--jsonl"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 3
    assert out[0]["id"] == 1 and out[0]["title"] == "One"
    assert out[0]["text"] == "\n\n".join(STORY)
    assert "error" in out[1]
    assert out[2]["id"] == 3 and out[2]["text"] == STORY[0]


def _shared_library() -> Path:
    """A real shared library from this Python's own extension modules."""
    for name in ("_ctypes", "_decimal", "_sqlite3", "_json", "_socket", "select"):
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith((".so", ".pyd", ".dylib")):
            return Path(origin)
    pytest.skip("this Python has no extension module in a shared library")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = zlib.compress(b"".join(b"\x00" + bytes(range(48)) for _ in range(16)))
    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _scraper(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("kind", ["random bytes", "shared library", "png"])
def test_extract_refuses_binary_input_with_one_line(tmp_path: Path, kind: str) -> None:
    if kind == "random bytes":
        path = tmp_path / "noise.html"
        path.write_bytes(random.Random(15).randbytes(200_000))
        expected = "binary data"
    elif kind == "shared library":
        path = _shared_library()
        expected = "shared library"
    else:
        path = tmp_path / "photo.png"
        path.write_bytes(_png())
        expected = "PNG image"
    for args, stdin, name in (
        ([str(path)], b"", str(path)),
        (["-"], path.read_bytes(), "standard input"),
    ):
        result = _scraper("extract", *args, stdin=stdin)
        assert result.returncode != 0
        assert result.stdout == b""
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1, lines
        assert name in lines[0] and expected in lines[0] and "nothing to extract" in lines[0]


def test_extract_of_empty_input_is_an_empty_article() -> None:
    result = _scraper("extract", "-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["paragraphs"] == []


def test_extract_jsonl_through_the_real_cli_writes_utf8_lines() -> None:
    story = ["Der Fluss stieg über Nacht um zwei Meter – die Unterstadt stand unter Wasser."]
    lines = [
        json.dumps({"id": 1, "url": "https://a.test/1", "html": article_page("Hochwasser", story)}),
        '{"id": 18446744073709551616123, "html": "<p>Ein \\ud800 Rest.</p>"}',
        "[1, 2]",
    ]
    result = _scraper("extract", "--jsonl", stdin=("\n".join(lines) + "\n").encode())
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == 3
    assert "über Nacht".encode() in out[0]  # UTF-8 as it is, not \\u escapes
    first = json.loads(out[0])
    assert first["title"] == "Hochwasser" and first["paragraphs"] == story
    second = json.loads(out[1])  # what orjson refuses still gets its article
    assert second["id"] == 18446744073709551616123 and second["text"].endswith("Rest.")
    assert "error" in json.loads(out[2])
