"""``archive serve``: Datasette on the live archive file, with the project's metadata.

The file is opened read-only (Datasette's default ``mode=ro``), never as immutable:
the daemon keeps writing to it, and immutable mode would let Datasette read stale
pages or count rows once and never again. Datasette runs as ``python -m datasette``
in a child process, so this module needs no datasette import.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import yaml

from archive import columns, db

METADATA = Path(__file__).with_name("datasette_metadata.json")
PLUGINS_DIR = Path(__file__).with_name("datasette_plugins")
# The database key the shipped metadata uses; replaced by the served file's name.
TEMPLATE_DATABASE = "archive"
# Facets over views of a large archive need more than Datasette's 200 ms default, and the
# configured facets make suggestions (50 ms per column, about 1 s a page at 20,000
# articles) unnecessary. Options given on the command line come later and win.
DEFAULT_SETTINGS = (
    ("facet_time_limit_ms", "1000"),
    ("sql_time_limit_ms", "3000"),
    ("suggest_facets", "off"),
)
# Options that would open the live file as immutable or skip locking: refused.
_UNSAFE = ("-i", "--immutable", "--nolock")
# A user's own metadata files: merged over the project's rather than replacing it.
_METADATA_OPTIONS = ("-m", "--metadata")


class ServeError(Exception):
    """A problem with the arguments or the file, phrased for the user."""


def database_name(path: Path) -> str:
    """The name Datasette gives a database file: its name without the extension."""
    return path.stem


def metadata_for(path: Path) -> dict[str, Any]:
    """The shipped metadata with its database section keyed by the served file's name.

    The descriptions of the article's content columns come from its declaration
    (``contract.model.Article``), the rest from ``datasette_metadata.json``.
    """
    metadata: dict[str, Any] = json.loads(METADATA.read_text(encoding="utf-8"))
    tables = metadata["databases"][TEMPLATE_DATABASE]["tables"]
    for table in columns.TABLES:  # the article's columns are described where it is declared
        tables[table].setdefault("columns", {}).update(columns.descriptions(table))
    name = database_name(path)
    databases = metadata.get("databases", {})
    databases[name] = databases.pop(TEMPLATE_DATABASE)
    # Links on the home page point into the served database.
    metadata["description_html"] = metadata["description_html"].replace(
        "{database}", quote(name, safe="")
    )
    return metadata


def split_metadata_options(extra: Sequence[str]) -> tuple[list[str], list[Path]]:
    """The Datasette options without ``--metadata FILE``, and those files in order."""
    options: list[str] = []
    files: list[Path] = []
    given = iter(extra)
    for option in given:
        name, equals, value = option.partition("=")
        if name not in _METADATA_OPTIONS:
            options.append(option)
            continue
        if not equals:
            value = next(given, "")
        if not value:
            raise ServeError(f"{name}: needs a metadata file (JSON or YAML)")
        files.append(Path(value))
    return options, files


def read_user_metadata(path: Path) -> dict[str, Any]:
    """A user's Datasette metadata file (JSON, or YAML by its extension), as a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ServeError(f"{path}: cannot read this metadata file: {error}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ServeError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ServeError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ServeError(f"{path}: metadata must be an object of keys, not {type(data).__name__}")
    return data


def merge_metadata(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """``theirs`` over ``ours``: nested objects merge key by key, other values replace."""
    merged = dict(ours)
    for key, value in theirs.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = merge_metadata(current, value)
        else:
            merged[key] = value
    return merged


def plugin_registered() -> bool:
    """Whether the installed package declares the plugin (Datasette then loads it itself)."""
    return any(ep.value == "archive.datasette_plugin" for ep in entry_points(group="datasette"))


def check_options(extra: Sequence[str]) -> None:
    for option in extra:
        name = option.split("=", 1)[0]
        if name in _UNSAFE:
            raise ServeError(
                f"{option}: not allowed, the daemon writes to the archive while it is served; "
                "archive serve opens it read-only instead"
            )


def command(path: Path, metadata_path: Path, extra: Sequence[str]) -> list[str]:
    """The Datasette command line for ``path``, with extra options passed through last."""
    check_options(extra)
    argv = [sys.executable, "-m", "datasette", "serve", str(path), "--metadata", str(metadata_path)]
    for name, value in DEFAULT_SETTINGS:
        argv += ["--setting", name, value]
    if not plugin_registered():
        argv += ["--plugins-dir", str(PLUGINS_DIR)]
    return [*argv, *extra]


def serve(path: Path, extra: Sequence[str]) -> int:
    """Run Datasette on ``path`` until it exits or this process is told to stop."""
    db.open_reader(path).close()  # a clear error for a missing or foreign file
    extra, user_files = split_metadata_options(extra)
    metadata = metadata_for(path)
    for user_file in user_files:  # Datasette takes one file: the user's go over ours
        metadata = merge_metadata(metadata, read_user_metadata(user_file))
    with tempfile.TemporaryDirectory(prefix="archive-serve-") as tmp:
        metadata_path = Path(tmp) / "metadata.json"
        metadata_path.write_text(json.dumps(metadata), encoding="utf-8")
        child = subprocess.Popen(command(path, metadata_path, extra))
        stop_requested = False

        def forward(signum: int, frame: FrameType | None) -> None:
            nonlocal stop_requested
            stop_requested = True
            child.send_signal(signum)

        previous = signal.signal(signal.SIGTERM, forward)
        try:
            while True:
                try:
                    code = child.wait()
                    break
                except KeyboardInterrupt:  # Ctrl-C reached the child too; wait for it to stop
                    stop_requested = True
        finally:
            signal.signal(signal.SIGTERM, previous)
    # Uvicorn ends by re-raising the signal it was stopped with: a stop we asked for is success.
    return 0 if stop_requested and code < 0 else code
