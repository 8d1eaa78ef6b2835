"""With no network: a fetch that could not happen is a failure, told in one short cause."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from faultserver import closed_port

from scraper.cli import main


def test_an_unreachable_site_is_logged_failed_in_one_short_line(tmp_path: Path) -> None:
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}/feed.xml"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[fetch]\nmax_retries = 0\n\n[[sources]]\nname = "down"\nurl = "{url}"\n'
            'every = "1h"\n',
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if url in line]
    assert " WARNING " in line and " - failed 0B " in line, line
    assert line.endswith("ms (robots.txt unreachable: connection refused)"), line
    assert "rejected" not in result.stderr
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        fetches = conn.execute("SELECT outcome, error FROM fetches").fetchall()
        source = conn.execute("SELECT last_outcome, last_error FROM sources").fetchall()
    assert fetches == [("failed", "robots.txt unreachable: connection refused")]
    assert source == [("failed", "robots.txt unreachable: connection refused")]


def test_extract_of_an_unreachable_url_reports_the_page() -> None:
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}/x.html"
        result = CliRunner().invoke(main, ["extract", url])
    assert result.exit_code == 1
    assert result.output == (
        f"error: cannot connect to 127.0.0.1 fetching {url}: connection refused (3 attempts)\n"
    )
