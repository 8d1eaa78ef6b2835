"""Write an export file whole or not at all: a temporary file beside it, renamed at the end.

A failed or interrupted export leaves the target as it was (absent, or the previous
export) and no temporary file behind. A folder that does not exist, or cannot be
written, is an :class:`OutputError` naming the path, raised before anything is read.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO, cast

# Mode of a new export file (mkstemp makes its file private to the user).
NEW_FILE_MODE = 0o644


class OutputError(Exception):
    """The output file cannot be written, phrased for the user as one line."""


def check_target(path: Path) -> None:
    """Raise :class:`OutputError` when ``path`` cannot become a file."""
    folder = path.parent
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; name a file to write")
    if not folder.exists():
        raise OutputError(f"{path}: cannot write, the folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write, {folder} is not a folder")


@contextmanager
def _replacing(path: Path, mode: str) -> Iterator[BinaryIO | TextIO]:
    check_target(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputError(f"{path}: cannot write in {path.parent}: {reason}") from None
    temporary = Path(name)
    try:
        if "b" in mode:
            with os.fdopen(fd, mode) as handle:
                yield cast(BinaryIO, handle)
        else:
            with os.fdopen(fd, mode, encoding="utf-8", newline="") as handle:
                yield cast(TextIO, handle)
        try:
            keep = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            keep = NEW_FILE_MODE
        temporary.chmod(keep)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)  # gone after the rename; removed after a failure


@contextmanager
def text_output(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text handle on a temporary file that becomes ``path`` when the block succeeds."""
    with _replacing(path, "w") as handle:
        yield cast(TextIO, handle)


@contextmanager
def binary_output(path: Path) -> Iterator[BinaryIO]:
    """A binary handle on a temporary file that becomes ``path`` when the block succeeds."""
    with _replacing(path, "wb") as handle:
        yield cast(BinaryIO, handle)
