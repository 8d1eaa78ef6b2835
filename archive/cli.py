"""``archive``: read what the daemon kept. A thin click layer over archive's library functions."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click

from archive import export as exporter
from archive import history as hist
from archive import serve as serving
from archive import warc
from archive.clicommand import CommandGroup
from archive.db import ArchiveError, open_reader
from archive.outfile import OutputError, binary_output, check_target, text_output
from contract.clock import SystemClock, iso

EXIT_USAGE = 2

ARCHIVE_OPTION = click.option(
    "--archive",
    "archive_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("archive.db"),
    envvar="NEWSARCHIVE_DB",
    show_default=True,
    help="The archive file written by `scraper run` (env NEWSARCHIVE_DB).",
)


class UsageProblem(click.ClickException):
    """A usage error shown as one line (no usage text), exit status 2."""

    exit_code = EXIT_USAGE


@click.group(cls=CommandGroup)
@click.version_option(package_name="newsarchive", prog_name="archive")
def main() -> None:
    """Browse and export the article archive."""


@main.command()
@ARCHIVE_OPTION
@click.argument("url")
def history(archive_path: Path, url: str) -> None:
    """List the versions of the article at URL: number, time, state, what changed."""
    conn = _open(archive_path)
    try:
        click.echo(hist.format_history(hist.history(conn, url)))
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()


@main.command()
@ARCHIVE_OPTION
@click.argument("url")
@click.argument("old", type=int, required=False)
@click.argument("new", type=int, required=False)
@click.option(
    "--colour/--no-colour",
    "--color/--no-color",
    default=None,
    help="ANSI colours instead of [-deleted-]{+inserted+} (default: when printing to a terminal).",
)
def diff(
    archive_path: Path, url: str, old: int | None, new: int | None, colour: bool | None
) -> None:
    """Word diff of two versions of the article at URL (default: the last two)."""
    conn = _open(archive_path)
    try:
        result = hist.compare(conn, url, old, new)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()
    use_colour = sys.stdout.isatty() if colour is None else colour
    click.echo(hist.format_comparison(result, colour=use_colour), color=use_colour)


@main.command()
@ARCHIVE_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*exporter.FORMATS, "warc")),
    default="jsonl",
    show_default=True,
    help="jsonl, csv, or warc: the stored raw responses as a WARC file (needs -o).",
)
@click.option("--all-versions", is_flag=True, help="One row per version instead of per article.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write to this file (whole, or not at all) instead of standard output.",
)
def export(archive_path: Path, fmt: str, all_versions: bool, output: Path | None) -> None:
    """Write every article with its latest version (or all versions) as JSON Lines, CSV or WARC.

    With -o the file appears only when the export is complete; a failed export leaves
    nothing half-written.
    """
    if output is not None:
        _check_output(output)
    if fmt == "warc":
        _export_warc(archive_path, output)
        return
    conn = _open(archive_path)
    try:
        if output is None:
            count = _write(conn, sys.stdout, fmt, all_versions)
        else:
            with _output_errors(output), text_output(output) as handle:
                count = _write(conn, handle, fmt, all_versions)
            click.echo(f"{count} rows written to {output}", err=True)
    finally:
        conn.close()


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@ARCHIVE_OPTION
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(archive_path: Path, args: tuple[str, ...]) -> None:
    """Browse the archive in Datasette: `archive serve [ARCHIVE] [DATASETTE OPTIONS]...`.

    Opens the live file read-only with the project's metadata, search, views and
    plugin; options such as --host, --port and --plugins-dir go to Datasette.
    """
    if args and not args[0].startswith("-"):
        archive_path, args = Path(args[0]), args[1:]
    try:
        sys.exit(serving.serve(archive_path, args))
    except (ArchiveError, serving.ServeError) as exc:
        raise click.UsageError(str(exc)) from None


def _export_warc(archive_path: Path, output: Path | None) -> None:
    if output is None:
        raise click.UsageError("--format warc writes a binary file: name it with -o FILE.warc.gz")
    conn = _open(archive_path)
    try:
        with _output_errors(output), binary_output(output) as handle:
            summary = warc.export_warc(conn, handle, created_at=iso(SystemClock().now()))
    finally:
        conn.close()
    click.echo(
        f"{summary.responses} responses, {summary.revisits} revisits"
        + (f", {summary.conversions} rendered pages" if summary.conversions else "")
        + f" written to {output}",
        err=True,
    )


def _check_output(output: Path) -> None:
    try:
        check_target(output)
    except OutputError as exc:
        raise UsageProblem(str(exc)) from None


@contextmanager
def _output_errors(output: Path) -> Iterator[None]:
    """One line for a file that cannot be written (the partial file is already gone)."""
    try:
        yield
    except OutputError as exc:
        raise UsageProblem(str(exc)) from None
    except OSError as exc:  # disk full, file too large: nothing was left behind
        reason = exc.strerror or str(exc)
        raise click.ClickException(f"{output}: export failed, nothing written: {reason}") from None


def _write(conn: sqlite3.Connection, out: TextIO, fmt: str, all_versions: bool) -> int:
    return exporter.write(conn, out, fmt, all_versions=all_versions)


def _open(path: Path) -> sqlite3.Connection:
    try:
        return open_reader(path)
    except ArchiveError as exc:  # cannot be opened (missing, unreadable, damaged): exit 2
        raise UsageProblem(str(exc)) from None
