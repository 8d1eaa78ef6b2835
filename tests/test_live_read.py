"""A real Datasette serving the live archive read-only while a writer adds thousands of versions."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from archive_helpers import FakeClock, page, story
from datasette_server import archive_serve_command, free_port, running

from archive.db import integrity_check
from archive.store import Archive

VERSIONS = 4000
WRITER = Path(__file__).with_name("live_writer.py")


def count_query(table: str) -> str:
    return "/archive.json?" + urllib.parse.urlencode(
        {"sql": f"select count(*) as n from {table}", "_shape": "array"}
    )


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_datasette_reads_the_live_file_while_the_writer_writes(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:
        archive.record(page("https://live.example/seed.html", clock, b"seed"), story("Seed."))
    port = free_port()
    command = archive_serve_command(path, "--port", str(port))
    with running(command, port, tmp_path / "datasette.log") as server:
        writer = subprocess.Popen(
            [sys.executable, str(WRITER), str(path), str(VERSIONS), "150"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        seen: list[int] = []
        pages = 0
        while writer.poll() is None:
            (row,) = server.json(count_query("versions"))
            seen.append(row["n"])
            newest = server.json("/archive/versions.json?_shape=array&_size=5&_sort_desc=id")
            assert all(isinstance(v["text"], str) for v in newest)
            server.json("/archive/articles.json?_shape=array&_size=20&_sort_desc=last_checked")
            server.json(
                "/archive/versions.json?_shape=array&_size=0&_facet_array=tags&_facet=state"
            )
            pages += 4
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == 0, err
        assert out.strip().endswith(f"done {VERSIONS}")
        (final,) = server.json(count_query("versions"))
    assert final["n"] == VERSIONS + 1
    assert seen == sorted(seen), "a reader never sees committed versions disappear"
    assert len(set(seen)) >= 3, f"the reads overlapped the writes: {seen}"
    assert pages >= 20
    assert integrity_check(path) == ["ok"]
    log = (tmp_path / "datasette.log").read_text()
    assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
    assert json.loads(json.dumps(seen))  # counts were plain integers from Datasette's JSON
