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

from archive import db

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


class ServeError(Exception):
    """A problem with the arguments or the file, phrased for the user."""


def database_name(path: Path) -> str:
    """The name Datasette gives a database file: its name without the extension."""
    return path.stem


def metadata_for(path: Path) -> dict[str, Any]:
    """The shipped metadata with its database section keyed by the served file's name."""
    metadata: dict[str, Any] = json.loads(METADATA.read_text(encoding="utf-8"))
    name = database_name(path)
    databases = metadata.get("databases", {})
    databases[name] = databases.pop(TEMPLATE_DATABASE)
    # Links on the home page point into the served database.
    metadata["description_html"] = metadata["description_html"].replace(
        "{database}", quote(name, safe="")
    )
    return metadata


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
    with tempfile.TemporaryDirectory(prefix="archive-serve-") as tmp:
        metadata_path = Path(tmp) / "metadata.json"
        metadata_path.write_text(json.dumps(metadata_for(path)), encoding="utf-8")
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
