"""End to end in headless Chromium: the article page of a known edit shows the word diff.

Chromium renders the page served by ``archive serve``; the DOM it built must hold the
marked words, and the screenshot must show the insert and delete highlights in their
colours. The screenshot is kept in test-artifacts/; with UPDATE_DOCS_SCREENSHOT=1 it
also replaces docs/article-history.png, the picture in the README.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import datasette_archive as known
import pytest
from datasette_server import archive_serve_command, free_port, running

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
DOCS_SCREENSHOT = REPO / "docs" / "article-history.png"
# Background colours of <del> and <ins> in archive/templates/newsarchive_article.html.
DELETE_BACKGROUND = (0xFB, 0xD9, 0xD9)
INSERT_BACKGROUND = (0xD4, 0xF7, 0xD4)


def chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_command(binary: str, profile: Path, *args: str) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--window-size=1100,760",
        "--hide-scrollbars",
        *args,
    ]


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of a non-interlaced 8-bit PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        filter_type, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                nearest = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + nearest) & 0xFF
        rows.append(bytes(line) if channels == 3 else bytes(
            b for j, b in enumerate(line) if j % 4 != 3
        ))  # fmt: skip
        previous = line
    return width, height, rows


def count_colour(rows: list[bytes], colour: tuple[int, int, int]) -> int:
    needle = bytes(colour)
    total = 0
    for row in rows:
        for x in range(0, len(row), 3):
            if row[x : x + 3] == needle:
                total += 1
    return total


@pytest.mark.slow
def test_chromium_shows_the_word_diff_of_a_known_edit(tmp_path: Path) -> None:
    binary = chromium()
    if binary is None:
        pytest.skip("chromium is not installed (.ci/chromium.sh installs it)")
    archive = known.build(tmp_path / "news.db")
    port = free_port()
    command = archive_serve_command(archive.path, "--host", "127.0.0.1", "--port", str(port))
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "article-history.png"
    screenshot.unlink(missing_ok=True)
    with running(command, port, tmp_path / "serve.log") as server:
        page = f"{server.base}/-/article/{archive.german_id}"
        dom = subprocess.run(
            chromium_command(binary, tmp_path / "profile-dom", "--dump-dom", page),
            capture_output=True,
            text=True,
            timeout=120,
        )
        shot = subprocess.run(
            chromium_command(binary, tmp_path / "profile-shot", f"--screenshot={screenshot}", page),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<del>Mittwoch</del>" in dom.stdout
    assert "<ins>Donnerstag</ins>" in dom.stdout
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]

    width, height, rows = png_pixels(screenshot.read_bytes())
    assert (width, height) == (1100, 760)
    # Both highlights are painted: the diff is on screen, not only in the markup.
    assert count_colour(rows, DELETE_BACKGROUND) > 500
    assert count_colour(rows, INSERT_BACKGROUND) > 2000
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)
