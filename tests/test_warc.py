"""``archive export --format warc``: read back with warcio, every payload equals the stored body."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import datasette_archive as known
import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archive.bodies import read_body
from archive.cli import main


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> known.KnownArchive:
    return known.build(tmp_path_factory.mktemp("warc") / "news.db")


@pytest.fixture(scope="module")
def exported(archive: known.KnownArchive) -> Path:
    out = archive.path.with_name("export.warc.gz")
    result = CliRunner().invoke(
        main, ["export", "--archive", str(archive.path), "--format", "warc", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def stored(archive: known.KnownArchive) -> tuple[dict[int, sqlite3.Row], dict[str, bytes]]:
    conn = sqlite3.connect(archive.path)
    conn.row_factory = sqlite3.Row
    try:
        fetches = {
            row["id"]: row
            for row in conn.execute("SELECT * FROM fetches WHERE body_hash IS NOT NULL")
        }
        bodies = {
            body_hash: read_body(conn, body_hash)
            for (body_hash,) in conn.execute("SELECT hash FROM bodies")
        }
    finally:
        conn.close()
    return fetches, bodies


def test_every_response_payload_is_the_stored_body(
    archive: known.KnownArchive, exported: Path
) -> None:
    fetches, bodies = stored(archive)
    seen_fetches: list[int] = []
    responses = 0
    with exported.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests="raise"):
            if record.rec_type not in ("response", "revisit"):
                continue
            fetch_id = int(record.rec_headers.get_header("X-Archive-Fetch-Id"))
            fetch = fetches[fetch_id]
            seen_fetches.append(fetch_id)
            assert record.rec_headers.get_header("WARC-Target-URI") == fetch["final_url"]
            assert record.rec_headers.get_header("WARC-Date") == fetch["started_at"]
            assert record.http_headers.get_statuscode() == str(fetch["status"])
            if record.rec_type == "response":
                payload = record.content_stream().read()
                assert hashlib.sha256(payload).hexdigest() == fetch["body_hash"]
                assert payload == bodies[fetch["body_hash"]]
                responses += 1
    # Every fetch with a body is in the file, once; each distinct body is written in full once.
    assert sorted(seen_fetches) == sorted(fetches)
    assert responses == len(bodies)


def test_repeated_bodies_are_revisits_pointing_at_the_first_copy(exported: Path) -> None:
    digests: dict[str, tuple[str, str]] = {}
    revisits = 0
    with exported.open("rb") as stream:
        for record in ArchiveIterator(stream):
            headers = record.rec_headers
            digest = headers.get_header("WARC-Payload-Digest")
            if record.rec_type == "response":
                digests[digest] = (
                    headers.get_header("WARC-Target-URI"),
                    headers.get_header("WARC-Date"),
                )
            elif record.rec_type == "revisit":
                revisits += 1
                assert "identical-payload-digest" in headers.get_header("WARC-Profile")
                assert digests[digest] == (
                    headers.get_header("WARC-Refers-To-Target-URI"),
                    headers.get_header("WARC-Refers-To-Date"),
                )
    assert revisits == 1  # the unchanged re-fetch of the German article


def test_requests_pair_with_responses_and_headers_are_the_originals(exported: Path) -> None:
    responses: dict[str, Any] = {}  # warcio's StatusAndHeaders, untyped
    requests = []
    with exported.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type in ("response", "revisit"):
                responses[record.rec_headers.get_header("WARC-Record-ID")] = record.http_headers
            elif record.rec_type == "request":
                requests.append(
                    (
                        record.rec_headers.get_header("WARC-Concurrent-To"),
                        record.http_headers.protocol,
                        record.http_headers.get_header("Host"),
                    )
                )
    assert len(requests) == len(responses)
    assert all(concurrent in responses for concurrent, _, _ in requests)
    assert ("GET", "www.zeitung.example") in [(proto, host) for _, proto, host in requests]
    german = next(iter(responses.values()))
    assert german.get_header("content-type") == "text/html; charset=utf-8"
    # The body is stored decoded, so the wire encoding is kept only for the record.
    assert german.get_header("content-encoding") is None
    assert german.get_header("X-Archive-Orig-content-encoding") == "gzip"


def test_the_warcio_command_line_tool_accepts_the_file(exported: Path) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", str(exported)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    indexed = subprocess.run(
        [
            sys.executable,
            "-m",
            "warcio.cli",
            "index",
            "-f",
            "warc-type,warc-target-uri",
            str(exported),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert indexed.returncode == 0
    assert known.VIETNAMESE_URL in indexed.stdout


def test_warc_export_needs_an_output_file(archive: known.KnownArchive) -> None:
    result = CliRunner().invoke(
        main, ["export", "--archive", str(archive.path), "--format", "warc"]
    )
    assert result.exit_code == 2
    assert "-o FILE" in result.output


def test_bodies_stored_as_deltas_export_whole(tmp_path: Path) -> None:
    """The daemon stores a near-copy re-fetch against the URL's earlier body; WARC gets it whole."""
    from datetime import UTC, datetime

    from archive_helpers import FakeClock

    from archive.store import Archive
    from contract.clock import iso
    from contract.model import Fetch

    page = "".join(
        f"<p>Paragraph {i} of a long report on the harbour works.</p>" for i in range(400)
    )
    raws = [
        f"<html><body>{page}<span>{views} views</span></body></html>".encode() for views in (3, 9)
    ]
    path = tmp_path / "delta.db"
    clock = FakeClock(current=datetime(2026, 11, 1, tzinfo=UTC))
    with Archive.open(path, clock, delta_bodies=True) as archive:
        for raw in raws:
            clock.advance(600)
            archive.record(
                Fetch(url="https://paper.test/a", started_at=iso(clock.now()), status=200,
                      final_url="https://paper.test/a", content_type="text/html", body=raw),
                None,
            )  # fmt: skip
    with sqlite3.connect(path) as conn:
        packing = [row[0] for row in conn.execute("SELECT compression FROM bodies ORDER BY rowid")]
    assert packing[0] == "zstd" and packing[1] != "zstd"  # the second is stored as a delta
    out = tmp_path / "delta.warc.gz"
    result = CliRunner().invoke(
        main, ["export", "--archive", str(path), "--format", "warc", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    payloads = []
    with out.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests="raise"):
            if record.rec_type == "response":
                payloads.append(record.content_stream().read())
    assert payloads == raws
