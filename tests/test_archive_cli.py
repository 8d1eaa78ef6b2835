"""``archive history | diff | export`` through click's runner, on a real archive file."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import click
import pytest
from archive_helpers import FakeClock, page, story
from click.testing import CliRunner

from archive.cli import main
from archive.store import Archive
from contract.model import Outcome
from scraper.cli import main as scraper_main

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


GONE_AT_ONCE = "https://news.example/world/2026/pulled-before-we-looked.html"


def test_history_of_an_article_gone_at_first_sight_says_what_happened(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        archive.add_discovered([GONE_AT_ONCE], "news")  # listed in a feed, as the daemon does
        archive.record(page(GONE_AT_ONCE, clock, b"", status=410, hint=Outcome.GONE), None)
        clock.advance(600)
        archive.record(page(GONE_AT_ONCE, clock, b"", status=410, hint=Outcome.GONE), None)
    code, out = run("history", "--archive", str(path), GONE_AT_ONCE)
    assert code == 0
    assert out.splitlines() == [
        f"{GONE_AT_ONCE}  (gone, first seen 2026-11-01T08:00:00.000Z)",
        "  never seen live: removed by the publisher (HTTP 410) at 2026-11-01T08:00:00.000Z;"
        " no version stored",
    ]


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
    # An archive that cannot be opened is a usage error, like a bad config (exit 2).
    assert result.exit_code == 2 and "no archive here" in result.output
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


# -- export to a file that cannot be written; versions, help and error lines --------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "warc"])
def test_export_into_a_missing_folder_is_one_line_and_exit_2(
    archive_path: Path, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / "nope" / f"x.{fmt}"
    result = CliRunner().invoke(
        main, ["export", "--archive", str(archive_path), "--format", fmt, "-o", str(target)]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output == (
        f"error: {target}: cannot write, the folder {target.parent} does not exist\n"
    )
    assert not target.parent.exists()


# Files a child may write: room for SQLite's shared-memory file, not for the whole export.
FILE_SIZE_LIMIT = 200_000


@pytest.fixture
def large_archive(tmp_path: Path) -> Path:
    """An archive whose exports (JSON Lines, CSV, WARC) are each larger than the limit."""
    path = tmp_path / "large.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        for n in range(150):
            noise = os.urandom(1500).hex()  # does not compress: the WARC is large too
            body = f"<html><body><p>{noise}</p></body></html>".encode()
            url = f"https://news.example/2026/story-{n}.html"
            archive.record(page(url, clock, body), story(f"Story {n}: {noise}"))
            clock.advance(60)
    return path


def _export_in_a_child(archive_path: Path, target: Path, fmt: str) -> str:
    """Run ``archive export`` with files capped in size: the write fails midway."""
    limit = FILE_SIZE_LIMIT
    program = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from archive.cli import main\n"
        "sys.argv[0] = 'archive'\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, "export", "--archive", str(archive_path),
         "--format", fmt, "--all-versions", "-o", str(target)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "warc"])
def test_an_export_that_fails_midway_leaves_nothing_half_written(
    large_archive: Path, tmp_path: Path, fmt: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"x.{fmt}"
    err = _export_in_a_child(large_archive, target, fmt)
    assert err.strip().splitlines() == [
        f"error: {target}: export failed, nothing written: File too large"
    ]
    assert list(folder.iterdir()) == [], "no partial file, no temporary file"
    # An earlier complete export stays as it was when a later one fails.
    target.write_text("previous export\n", encoding="utf-8")
    _export_in_a_child(large_archive, target, fmt)
    assert target.read_text(encoding="utf-8") == "previous export\n"
    assert [p.name for p in folder.iterdir()] == [target.name]


def test_archive_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"archive, version {metadata.version('newsarchive')}\n"


def test_both_clis_say_error_in_lower_case(archive_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(main, ["history", "--archive", str(missing), URL])
    assert result.exit_code == 2  # an archive that cannot be opened
    assert result.output.startswith(f"error: {missing}: no archive here")
    result = CliRunner().invoke(main, ["export", "--bogus"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "error: No such option '--bogus'."
    result = CliRunner().invoke(scraper_main, ["extract", str(tmp_path / "none.html")])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot read {tmp_path / 'none.html'}")
    for output in (result.output, CliRunner().invoke(scraper_main, ["run", "-x"]).output):
        assert "Error" not in output


@pytest.mark.parametrize("cli", [main, scraper_main], ids=["archive", "scraper"])
def test_help_lists_each_command_with_its_whole_first_sentence(cli: click.Group) -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    commands = result.output.split("Commands:\n", 1)[1]
    assert "..." not in commands.replace("OPTIONS]...", "")
    entries = re.split(r"\n  (?=\S)", "\n" + commands.rstrip())[1:]
    for entry in entries:
        name, help_text = entry.split(None, 1)
        assert " ".join(help_text.split()).endswith("."), (name, help_text)
    shown = " ".join(commands.split())
    for name, command in cli.commands.items():
        first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
        assert f"{name} {first_paragraph}" in shown


def test_export_help_names_every_format() -> None:
    out = " ".join(CliRunner().invoke(main, ["export", "--help"]).output.split())
    assert "[jsonl|csv|warc]" in out
    assert "JSON Lines, CSV or WARC" in out


def test_history_of_an_article_not_fetched_successfully_yet_says_why(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    failing = "https://down.example/2026/never-answered.html"
    with Archive.open(path, clock) as archive:
        archive.add_discovered([failing], "news")
        fetch = page(failing, clock, None, status=0, hint=Outcome.FAILED)
        archive.record(replace(fetch, status=None, error="connect timeout after 10.0 s"), None)
    code, out = run("history", "--archive", str(path), failing)
    assert code == 0
    assert out.splitlines()[1] == (
        "  no version stored yet: the last fetch at 2026-11-01T08:00:00.000Z was failed"
        " (connect timeout after 10.0 s)"
    )
