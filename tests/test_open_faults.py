"""Every open-time problem of the archive is one line naming the path and the cause, exit 2.

Real files and real permissions: the commands run as another user (``setpriv`` to
nobody when the tests run as root, for whom ``chmod`` does not stop writes), and a
read-only file system is a real read-only bind mount.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOBODY = 65534


def _as_other_user() -> list[str]:
    """The prefix that runs a command as a user without root's permission bypass."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: chmod cannot take write access away")
    prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    reach = subprocess.run(
        [*prefix, sys.executable, "-c", "import scraper, archive"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if reach.returncode != 0:
        # A checkout or venv inside a private directory (mktemp -d is 0700): the other
        # user cannot even start this Python, so the test could only fail for that reason.
        pytest.skip(f"user {NOBODY} cannot run {sys.executable} on this checkout: {reach.stderr}")
    return prefix


@pytest.fixture
def place() -> Iterator[Path]:
    """A directory another user can reach (pytest's tmp_path is private to its owner)."""
    root = Path(tempfile.mkdtemp(prefix="newsarchive-open-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for path in [root, *root.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(root)


def _command(*args: str, other_user: bool = True) -> subprocess.CompletedProcess[str]:
    prefix = _as_other_user() if other_user else []
    return subprocess.run(
        [*prefix, sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def _setup(place: Path) -> tuple[Path, Path]:
    """A config and a real archive written by one clean run, open to every user."""
    directory = place / "data"
    directory.mkdir()
    directory.chmod(0o777)
    config = place / "config.toml"
    # A source nobody answers: these runs must stop before any fetch.
    config.write_text(
        '[archive]\npath = "data/archive.db"\n\n'
        '[[sources]]\nurl = "http://127.0.0.1:9/feed.xml"\nevery = "1h"\n',
        encoding="utf-8",
    )
    config.chmod(0o644)
    archive = directory / "archive.db"
    made = _command("-c", _MAKE_ARCHIVE, str(archive), other_user=False)
    assert made.returncode == 0, made.stderr
    for path in directory.iterdir():
        path.chmod(0o666)
    return config, archive


_MAKE_ARCHIVE = (
    "import sys; from pathlib import Path; from contract.clock import SystemClock;"
    "from archive.store import Archive; Archive.open(Path(sys.argv[1]), SystemClock()).close()"
)


def _scraper_run(config: Path) -> subprocess.CompletedProcess[str]:
    return _command("-m", "scraper", "run", "--once", "--config", str(config))


def _export(archive: Path) -> subprocess.CompletedProcess[str]:
    return _command(
        "-c", "from archive.cli import main; main()", "export", "--archive", str(archive)
    )


def _one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_read_only_archive_file(place: Path) -> None:
    config, archive = _setup(place)
    archive.chmod(0o444)
    line = _one_line(_scraper_run(config), str(archive.name), "read-only for this user")
    assert "uid" in line
    # Reading needs no write access to the file.
    assert _export(archive).returncode == 0


def test_a_directory_that_is_not_writable(place: Path) -> None:
    config, archive = _setup(place)
    archive.parent.chmod(0o555)
    _one_line(_scraper_run(config), "archive.db", "is not writable by this user")
    # A reader needs to create the WAL index beside the file: it says so, too.
    _one_line(_export(archive), str(archive), "not writable", "-shm")


def test_a_read_only_file_system(place: Path) -> None:
    config, archive = _setup(place)
    directory = archive.parent
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root")
    bound = subprocess.run(["mount", "--bind", str(directory), str(directory)], check=False)
    if bound.returncode != 0:
        pytest.skip("mount is not permitted here")
    try:
        remounted = subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], check=False)
        if remounted.returncode != 0:
            pytest.skip("a read-only remount is not permitted here")
        _one_line(_scraper_run(config), "archive.db", "read-only file system")
        # Nothing can write a read-only file system: it is read as it is.
        exported = _export(archive)
        assert exported.returncode == 0, exported.stderr
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def test_an_archive_locked_by_another_writer(place: Path) -> None:
    config, archive = _setup(place)
    hold = _MAKE_ARCHIVE.replace("Archive.open(", "a = Archive.open(").replace(".close()", "")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"{hold}; print('ready', flush=True); sys.stdin.read()",
            str(archive),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        result = _command("-m", "scraper", "run", "--once", "--config", str(config),
                          other_user=False)  # fmt: skip
        _one_line(result, "archive.db", f"pid {holder.pid}", "already writing")
    finally:
        holder.communicate("", timeout=10)


def test_a_damaged_file(place: Path) -> None:
    config, archive = _setup(place)
    archive.write_bytes(b"\x00garbage, not a database\xff" * 400)
    before = archive.read_bytes()
    _one_line(_scraper_run(config), "archive.db", "not a usable SQLite archive")
    _one_line(_export(archive), str(archive), "not a usable SQLite archive")
    assert archive.read_bytes() == before
