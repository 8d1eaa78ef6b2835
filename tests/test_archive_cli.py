"""``archive history | diff | export`` through click's runner, on a real archive file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from archive_helpers import FakeClock, page, story
from click.testing import CliRunner

from archive.cli import main
from archive.model import Outcome
from archive.store import Archive

URL = "https://news.example/world/2026/flood-waters-rise.html"
OTHER = "https://news.example/world/2026/dam-holds.html"


@pytest.fixture
def archive_path(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        archive.record(page(URL, clock, b"1"), story("Thousands of homes were evacuated."))
        clock.advance(3600)
        edited = story(
            "Hundreds of homes were evacuated on Sunday.", title="Flood waters rise again"
        )
        archive.record(page(URL, clock, b"2"), edited)
        clock.advance(3600)
        archive.record(page(URL, clock, b"", status=410, hint=Outcome.GONE), None)
        archive.record(page(OTHER, clock, b"3"), story("The dam holds.", tags=("dams", "floods")))
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_history_lists_each_version_with_state_and_summary(archive_path: Path) -> None:
    code, out = run("history", "--archive", str(archive_path), URL)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{URL}  (gone, first seen 2026-11-01T08:00:00.000Z)")
    assert lines[1].startswith("  v1  2026-11-01T08:00:00.000Z  live  first version")
    assert lines[2].startswith("  v2  2026-11-01T09:00:00.000Z  live  title, text: +4 -2 words")
    assert lines[3].startswith("  v3  2026-11-01T10:00:00.000Z  gone  gone (HTTP 410)")


def test_diff_defaults_to_the_last_two_versions(archive_path: Path) -> None:
    code, out = run("diff", "--archive", str(archive_path), "--no-colour", URL, "1", "2")
    assert code == 0
    assert "title: Flood waters rise in the delta -> Flood waters rise again" in out
    assert "[-Thousands-]{+Hundreds+} of homes were [-evacuated.-]{+evacuated on Sunday.+}" in out
    code, out = run("diff", "--archive", str(archive_path), URL)
    assert code == 0
    assert out.startswith(f"{URL}: version 2 -> 3")
    assert "state: live -> gone" in out


def test_diff_of_a_missing_version_or_url_is_a_clear_error(archive_path: Path) -> None:
    result = CliRunner().invoke(main, ["diff", "--archive", str(archive_path), URL, "1", "9"])
    assert result.exit_code == 1
    assert "no version 9; it has versions 1 to 3" in result.output
    result = CliRunner().invoke(main, ["history", "--archive", str(archive_path), "https://x/y"])
    assert result.exit_code == 1
    assert "https://x/y: not in the archive" in result.output
    missing = archive_path.parent / "nothing.db"
    result = CliRunner().invoke(main, ["history", "--archive", str(missing), URL])
    assert result.exit_code == 1 and "no archive here" in result.output
    assert not missing.exists(), "a reader never creates an archive"


def test_export_jsonl_has_each_article_with_its_latest_readable_version(
    archive_path: Path,
) -> None:
    code, out = run("export", "--archive", str(archive_path), "--format", "jsonl")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["url"], r["version"], r["article_state"]) for r in records] == [
        (URL, 2, "gone"),
        (OTHER, 1, "live"),
    ]
    assert records[0]["text"] == "Hundreds of homes were evacuated on Sunday."
    assert records[1]["tags"] == ["dams", "floods"]
    assert records[1]["extractor_version"] == "test-1"


def test_export_csv_all_versions_to_a_file(archive_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, _ = run(
        "export", "--archive", str(archive_path), "--format", "csv", "--all-versions",
        "-o", str(target),
    )  # fmt: skip
    assert code == 0
    table = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["url"], r["version"], r["state"]) for r in table] == [
        (URL, "1", "live"),
        (URL, "2", "live"),
        (URL, "3", "gone"),
        (OTHER, "1", "live"),
    ]
    assert json.loads(table[3]["tags"]) == ["dams", "floods"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".csv") == ["out.csv"]
