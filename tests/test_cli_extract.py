"""``scraper extract`` from a file, standard input, a URL and a JSON-lines stream."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

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


def _story_line(number: int, paragraphs: int = 2) -> str:
    story = [f"Paragraph {i} of story {number}: the river rose again overnight." for i in range(1)]
    story += STORY * paragraphs
    page = article_page(f"Story {number}", story)
    return json.dumps({"id": number, "url": f"https://a.test/{number}", "html": page})


def test_extract_jsonl_in_workers_keeps_the_input_order() -> None:
    # A long page first: the short ones after it finish first in the other workers.
    lines = [_story_line(1, paragraphs=4000), _story_line(2), "not json", ""]
    lines += [_story_line(number) for number in range(5, 12)]
    result = _scraper("extract", "--jsonl", "--workers", "3", stdin="\n".join(lines).encode())
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["id"] for answer in out] == [1, 2, None, *range(5, 12)]
    assert out[2]["error"].startswith("line 3: ") and "title" not in out[2]
    assert [answer["title"] for answer in out if "title" in answer] == [
        f"Story {number}" for number in (1, 2, *range(5, 12))
    ]


def _start_stream(*flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", "extract", "--jsonl", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _ask(stream: subprocess.Popen[bytes], line: str) -> dict[str, Any]:
    """Send one line and wait for its answer, with the input left open."""
    assert stream.stdin is not None and stream.stdout is not None
    stream.stdin.write(line.encode() + b"\n")
    stream.stdin.flush()
    ready, _, _ = select.select([stream.stdout], [], [], 60)
    assert ready, "no answer while the caller waits"
    answer: dict[str, Any] = json.loads(stream.stdout.readline())
    return answer


def _finish(stream: subprocess.Popen[bytes]) -> bytes:
    """Close the input; what the stream still wrote, once it exited."""
    rest, errors = stream.communicate(timeout=60)
    assert stream.returncode == 0, errors
    return rest


@pytest.mark.parametrize("workers", ["1", "2"])
def test_extract_jsonl_answers_a_line_before_the_next_is_sent(workers: str) -> None:
    stream = _start_stream("--workers", workers)
    try:
        assert _ask(stream, _story_line(1))["title"] == "Story 1"
        assert _ask(stream, "[1, 2]")["error"].startswith("line 2: ")
        assert _ask(stream, _story_line(3))["title"] == "Story 3"
    finally:
        rest = _finish(stream)
    assert rest == b""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_extract_jsonl_a_worker_that_dies_fails_its_page_and_the_stream_goes_on() -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the worker processes")
    stream = _start_stream("--workers", "2")
    try:
        assert _ask(stream, _story_line(1))["title"] == "Story 1"
        workers = _children(stream.pid)
        assert len(workers) == 2
        before = {pid: _cpu_ticks(pid) for pid in workers}
        assert stream.stdin is not None
        # A page of a second's work or more; the worker that reads it is killed mid-page,
        # once it has spent 0.15 s on it (long after taking the page from the pool).
        stream.stdin.write(_story_line(2, paragraphs=40_000).encode() + b"\n")
        stream.stdin.flush()
        busy = None
        while busy is None:
            time.sleep(0.01)
            busy = next((pid for pid in workers if _cpu_ticks(pid) >= before[pid] + 15), None)
        os.kill(busy, signal.SIGKILL)
        assert stream.stdout is not None
        died = json.loads(stream.stdout.readline())
        assert died["id"] == 2 and died["error"].startswith("line 2: ")
        assert "died" in died["error"] and "text" not in died
        assert _ask(stream, _story_line(3))["title"] == "Story 3"
    finally:
        rest = _finish(stream)
    assert rest == b""


def test_extract_jsonl_in_workers_stops_on_ctrl_c_with_its_workers() -> None:
    stream = _start_stream("--workers", "2")
    try:
        assert _ask(stream, _story_line(1))["title"] == "Story 1"
        workers = _children(stream.pid)
        stream.send_signal(signal.SIGINT)  # while its reader waits for the next line
        stream.wait(timeout=20)
    finally:
        stream.kill()
        stream.communicate()
    assert stream.returncode == 1
    time.sleep(0.5)
    assert not [pid for pid in workers if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_extract_jsonl_in_workers_writes_what_one_process_writes_on_the_golden_pages() -> None:
    pages = sorted(Path(__file__).parent.glob("golden/*/page.html"))
    assert len(pages) > 10
    lines = [
        json.dumps({"id": page.parent.name, "html": page.read_text(encoding="utf-8")})
        for page in pages
    ]
    data = ("\n".join(lines) + "\n").encode()
    alone = _scraper("extract", "--jsonl", "--workers", "1", stdin=data)
    shared = _scraper("extract", "--jsonl", "--workers", "2", stdin=data)
    assert alone.returncode == 0 and shared.returncode == 0, alone.stderr + shared.stderr
    assert len(alone.stdout.splitlines()) == len(pages)
    assert b'"error"' not in alone.stdout
    assert shared.stdout == alone.stdout


def test_extract_workers_without_jsonl_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["extract", "--workers", "2", "-"], input="<p>x</p>")
    assert result.exit_code == 2
    assert "--workers applies to --jsonl only" in result.output
