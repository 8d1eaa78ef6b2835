"""``scraper``: the acquiring side's command line (run, extract, reparse).

A thin layer: every command calls library functions and turns their errors into
one clear line and an exit status.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import click

from archive.clicommand import CommandGroup
from contract.clock import SystemClock
from scraper import __version__

if TYPE_CHECKING:
    from scraper.config import Config

# The archive's and the configuration's modules (SQLite, sqlite-utils, asyncio) are
# imported by the commands that use them: `scraper extract` starts without them.

EXIT_USAGE = 2  # bad configuration or arguments, an archive that cannot be opened
EXIT_FAILURE = 1  # the archive was lost while running, or is damaged

F = TypeVar("F", bound=Callable[..., Any])


def _load(config_path: Path, log_format: str = "text") -> Config:
    from scraper.config import ConfigError, load_config

    try:
        return load_config(config_path)
    except ConfigError as exc:
        _stop(f"error: {exc}", EXIT_USAGE, log_format)


def _stop(message: str, status: int, log_format: str = "text") -> NoReturn:
    """Say why we stop, in one line (a JSON log line under --log-format json), and exit."""
    if log_format == "json":
        from scraper.logformat import LogFormat, setup_logging

        setup_logging(False, LogFormat.JSON)
        logging.getLogger("scraper").error("%s", message)
    else:
        click.echo(message, err=True)
    sys.exit(status)


def config_option(help_text: str) -> Callable[[F], F]:
    """The --config option every command that reads config.toml shares."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=Path("config.toml"),
        show_default=True,
        help=help_text,
    )


@click.group(cls=CommandGroup)
@click.version_option(__version__, prog_name="scraper")
def main() -> None:
    """Fetch news sources on their schedules and archive every article and every edit."""


@main.command()
@config_option("The configuration file.")
@click.option(
    "--once", is_flag=True, help="Fetch every source once (and what it lists), then exit."
)
@click.option("-v", "--verbose", is_flag=True, help="Log debugging detail.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line (time, level, logger, message, url, outcome, ...).",
)
def run(config_path: Path, once: bool, verbose: bool, log_format: str) -> None:
    """Run the daemon until SIGTERM or SIGINT (or once, with --once)."""
    config = _load(config_path, log_format)
    from scraper.logformat import LogFormat, setup_logging

    setup_logging(verbose, LogFormat(log_format))
    import asyncio

    from archive.db import ArchiveError, ArchiveFault
    from scraper.daemon import run_daemon  # after the config check: errors come first
    from scraper.metrics import MetricsError
    from scraper.secrets import SecretError, SecretStore

    try:
        secrets = SecretStore.from_settings(config.fetch)
        for source in config.sources:
            secrets.headers_for(source)  # a missing variable stops us before any fetch
    except SecretError as exc:
        _stop(f"error: {config_path}: {exc}", EXIT_USAGE, log_format)
    from scraper.render.locate import RenderUnavailable, check_rendering

    try:  # a source that renders needs Playwright and Chromium: say so before any fetch
        check_rendering(config.render, config.sources, config_path)
    except RenderUnavailable as exc:
        _stop(f"error: {exc}", EXIT_USAGE, log_format)
    try:
        summary = asyncio.run(run_daemon(config, SystemClock(), once=once, secrets=secrets))
    except ArchiveFault as exc:  # lost or stalled while running
        _stop(f"error: {exc}", EXIT_FAILURE, log_format)
    except (ArchiveError, MetricsError) as exc:  # raised while opening: nothing was fetched
        _stop(f"error: {exc}", EXIT_USAGE, log_format)
    if once:
        done = (
            f"done: {summary.sources} sources, {summary.articles} articles fetched, "
            f"{summary.failed_sources} sources failed"
        )
        if log_format == "json":  # every line of the run a JSON object
            logging.getLogger("scraper").info(done)
        else:
            click.echo(done, err=True)


def role_options(function: F) -> F:
    """The options of the cluster's roles, as `scraper run` has them."""
    function = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: one object per line.",
    )(function)
    function = click.option("-v", "--verbose", is_flag=True, help="Log debugging detail.")(function)
    return config_option("The configuration file, with its [cluster] database.")(function)


def _run_role(config_path: Path, verbose: bool, log_format: str, role: str) -> None:
    """Run one of the cluster's roles until SIGTERM or SIGINT."""
    config = _load(config_path, log_format)
    if not config.cluster.enabled:
        _stop(
            f"error: {config_path}: cluster.database: missing; `scraper {role}` runs a role of"
            ' a cluster: add [cluster] database = "postgresql://..." (or run `scraper run`'
            " for one process on SQLite)",
            EXIT_USAGE,
            log_format,
        )
    from scraper.logformat import LogFormat, setup_logging

    setup_logging(verbose, LogFormat(log_format))
    # Procrastinate logs every job with its arguments (bodies included): its warnings only.
    logging.getLogger("procrastinate").setLevel(logging.DEBUG if verbose else logging.WARNING)
    import asyncio
    from collections.abc import Coroutine

    from archive.db import ArchiveError, ArchiveFault
    from scraper.cluster.queue import QueueError

    clock = SystemClock()
    job: Coroutine[Any, Any, None]
    if role == "scheduler":
        from scraper.cluster.scheduler import run_scheduler

        job = run_scheduler(config, clock)
    elif role == "archiver":
        from scraper.cluster.archiver import run_archiver

        job = run_archiver(config, clock)
    else:
        from scraper.cluster.worker import run_worker
        from scraper.secrets import SecretError, SecretStore

        try:
            secrets = SecretStore.from_settings(config.fetch)
            for source in config.sources:
                secrets.headers_for(source)
        except SecretError as exc:
            _stop(f"error: {config_path}: {exc}", EXIT_USAGE, log_format)
        job = run_worker(config, clock, secrets)
    import signal

    def no_reload(signum: int, frame: object) -> None:
        # `scraper reload` signals the archive's lock holder, the archiver: SIGHUP's default
        # would end it.
        logging.getLogger("scraper").warning(
            "SIGHUP: the cluster's roles do not reload their configuration; restart them"
        )

    signal.signal(signal.SIGHUP, no_reload)
    try:
        asyncio.run(job)
    except QueueError as exc:
        _stop(f"error: {config_path}: {exc}", EXIT_USAGE, log_format)
    except ArchiveFault as exc:
        _stop(f"error: {exc}", EXIT_FAILURE, log_format)
    except ArchiveError as exc:
        _stop(f"error: {exc}", EXIT_USAGE, log_format)


@main.command()
@role_options
def scheduler(config_path: Path, verbose: bool, log_format: str) -> None:
    """Cluster: queue each source and the revisits when they come due (run one)."""
    _run_role(config_path, verbose, log_format, "scheduler")


@main.command()
@role_options
def worker(config_path: Path, verbose: bool, log_format: str) -> None:
    """Cluster: fetch and extract queued URLs, one job per host at a time (run any number)."""
    _run_role(config_path, verbose, log_format, "worker")


@main.command()
@role_options
def archiver(config_path: Path, verbose: bool, log_format: str) -> None:
    """Cluster: record the workers' results in the SQLite archive (run one, beside it)."""
    _run_role(config_path, verbose, log_format, "archiver")


@main.command()
@config_option("The configuration file (for the archive path and the sources).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
def status(config_path: Path, as_json: bool) -> None:
    """Say whether the daemon runs and which sources are failing or quiet (no network).

    Exits 1 when any source is failing or has gone quiet.
    """
    config = _load(config_path)
    from archive.db import ArchiveError
    from scraper.status import exit_code, gather, to_json

    try:
        report = gather(config, SystemClock())
    except ArchiveError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(to_json(report), ensure_ascii=False, indent=2))
    else:
        from scraper.status_table import render

        render(report, sys.stdout)
    sys.exit(exit_code(report))


@main.command()
@config_option("The configuration file: checked, and its archive's daemon signalled.")
def reload(config_path: Path) -> None:
    """Make the running daemon re-read its configuration (sends it SIGHUP).

    The file is checked first: a bad one is one error line and nothing is sent. Exits 1
    when no daemon holds the archive.
    """
    config = _load(config_path)
    from scraper.reload import NotSignalled, signal_reload

    try:
        pid = signal_reload(config.archive.path)
    except NotSignalled as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    click.echo(
        f"sent SIGHUP to the daemon (pid {pid}) holding {config.archive.path}; "
        "it re-reads its configuration and logs what changed"
    )


@main.command()
@config_option("The configuration file (for the archive path).")
@click.option("--full", is_flag=True, help="PRAGMA integrity_check instead of quick_check.")
def check(config_path: Path, full: bool) -> None:
    """Check the archive's consistency (SQLite's quick_check), safe while the daemon runs.

    The daemon itself checks only after a stop that was not clean.
    """
    config = _load(config_path)
    from archive.db import ArchiveError, integrity_check

    path = config.archive.path
    try:
        problems = integrity_check(path, quick=not full)
    except ArchiveError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if problems == ["ok"]:
        click.echo(f"{path}: ok")
        return
    shown = "; ".join(problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    click.echo(f"error: {path}: the archive is damaged: {shown}{more}", err=True)
    sys.exit(EXIT_FAILURE)


@main.command()
@config_option("The configuration file (for the archive path and per-site selectors).")
@click.option(
    "--all", "everything", is_flag=True, help="Also re-read pages today's extractor already read."
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def reparse(config_path: Path, everything: bool, no_progress: bool) -> None:
    """Re-extract every stored raw page with today's extractor.

    A different result is recorded as a parser change; the publisher's history of
    versions stays as it was.
    """
    config = _load(config_path)
    from archive.db import ArchiveError
    from scraper.daemon import site_selectors
    from scraper.reparse import reparse as reparse_archive

    try:
        report = reparse_archive(
            config.archive.path,
            selectors=site_selectors(config),
            everything=everything,
            show_progress=not no_progress,
        )
    except ArchiveError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    for failure in report.failed:
        click.echo(f"failed: {failure}", err=True)
    click.echo(
        f"extractor {report.extractor_version}: {report.read} versions re-read, "
        f"{report.changed} read differently (recorded as parser changes), "
        f"{len(report.failed)} failed"
    )


@main.command()
@config_option("The configuration file (for the archive path and the source names).")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME",
    help="This source's articles (repeatable).",
)
@click.option("--all", "everything", is_flag=True, help="Every article in the archive.")
def revisit(config_path: Path, sources: tuple[str, ...], everything: bool) -> None:
    """Make articles due for a revisit now (also while the daemon runs).

    The daemon fetches them at its next look for due articles, within the hourly
    revisit budget of each source.
    """
    config = _load(config_path)
    from archive.db import ArchiveError

    if bool(sources) == everything:
        click.echo("error: say which articles: --source NAME (repeatable) or --all", err=True)
        sys.exit(EXIT_USAGE)
    known = [s.name for s in config.sources]
    unknown = [name for name in sources if name not in known]
    if unknown:
        click.echo(
            f"error: {config_path}: no source named {unknown[0]!r}; "
            f"the sources are {', '.join(repr(n) for n in known) or '(none)'}",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    from archive.reschedule import make_due

    try:
        count = make_due(config.archive.path, SystemClock().now(), list(sources) or None)
    except ArchiveError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    which = "every source" if everything else ", ".join(sources)
    plural = "article is" if count == 1 else "articles are"
    click.echo(f"{count} {plural} due now ({which}); `scraper run` revisits them at its next pass")


@main.command()
@click.argument("target", default="-")
@click.option("--url", "base_url", help="The page's URL, for a file or standard input.")
@click.option(
    "--jsonl",
    is_flag=True,
    help='Read {"id", "url", "html"} lines on standard input, write one result line each.',
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes that read the --jsonl pages (default: one a core; 1: this process only).",
)
def extract(target: str, base_url: str | None, jsonl: bool, workers: int | None) -> None:
    """Print the article in TARGET (a file, a URL or - for standard input) as JSON.

    TARGET may be HTML, plain text or Markdown.
    """
    from scraper.extract import article_to_json, extract_document, extract_jsonl

    if workers is not None and not jsonl:
        raise click.UsageError("--workers applies to --jsonl only")
    if jsonl:
        count = workers or len(os.sched_getaffinity(0))
        if count == 1:
            extract_jsonl(sys.stdin.buffer, sys.stdout.buffer)
        else:
            _extract_jsonl_in_workers(count)
        return
    text, url = _read_target(target, base_url)
    article = extract_document(text, url)
    click.echo(json.dumps(article_to_json(article), ensure_ascii=False, indent=2))


def _extract_jsonl_in_workers(workers: int) -> None:
    from scraper.jsonl_workers import extract_jsonl_parallel, read_lines

    try:
        descriptors = sys.stdin.fileno(), sys.stdout.fileno()
    except io.UnsupportedOperation:  # in-memory streams (a test's): nothing shared to guard
        extract_jsonl_parallel(sys.stdin.buffer, sys.stdout.buffer, workers)
        return
    # The standard descriptors, not sys.stdin and sys.stdout (see extract_jsonl_parallel).
    with open(descriptors[1], "wb", buffering=1 << 16, closefd=False) as out:
        extract_jsonl_parallel(read_lines(descriptors[0]), out, workers, exiting=True)


def _read_target(target: str, base_url: str | None) -> tuple[str, str | None]:
    from scraper.decode import DecodeError, decode_html

    if urlsplit(target).scheme.lower() in ("http", "https"):
        return _fetch_target(target), target
    try:
        raw = sys.stdin.buffer.read() if target == "-" else Path(target).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {target}: {exc.strerror or exc}") from None
    _refuse_binary(target, raw)
    try:
        return decode_html(raw, None), base_url
    except DecodeError as exc:
        raise click.ClickException(f"cannot decode {target}: {exc}") from None


def _refuse_binary(target: str, raw: bytes) -> None:
    """Images, executables and other binary data are not pages: one line, no garbage JSON."""
    from scraper.markup import binary_kind

    kind = binary_kind(raw)
    if kind is not None:
        name = "standard input" if target == "-" else target
        raise click.ClickException(
            f"{name} is {kind}, not HTML, plain text or Markdown: nothing to extract"
        )


def _fetch_target(url: str) -> str:
    """Fetch one page politely (robots.txt, limits, address checks) for ``extract``."""
    import asyncio

    from contract.model import Outcome
    from scraper.config import FetchSettings
    from scraper.decode import DecodeError, decode_html
    from scraper.fetch import Fetcher

    # The defaults of an empty [fetch], one page at a time with no host gap to wait for.
    settings = FetchSettings(concurrency=1, host_gap=0.0)

    async def fetch() -> tuple[Outcome | None, bytes | None, str | None, str | None]:
        fetcher = Fetcher(settings, SystemClock(), trusted_origins={url}, one_off=True)
        try:
            page = await fetcher.fetch(url, expect="article")
        finally:
            await fetcher.aclose()
        return page.outcome_hint, page.body, page.content_type, page.error

    outcome, body, content_type, error = asyncio.run(fetch())
    if outcome is not None or body is None:
        message = error or str(outcome)
        raise click.ClickException(message if url in message else f"{url}: {message}")
    _refuse_binary(url, body)
    try:
        return decode_html(body, content_type)
    except DecodeError as exc:
        raise click.ClickException(f"cannot decode {url}: {exc}") from None


if __name__ == "__main__":
    main()
