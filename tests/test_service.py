"""The service as users run it: contrib/newsarchive.service and ``scraper run --log-format json``.

systemd's own checker reads the unit (``systemd-analyze verify``: keys, values, the
command; ``systemd-analyze security``: how exposed it leaves the system). Then the
unit's own ExecStart line runs a real daemon against a local site, and is stopped as
systemd stops it (SIGTERM to the main process, KillMode=mixed) while a request hangs:
it must exit 0 within the unit's TimeoutStopSec, having written only JSON lines.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from newsserver import article_page, rss_feed, serve_site

from scraper.daemon import SHUTDOWN_GRACE_S

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "newsarchive.service"
INSTALLED_SCRAPER = "/opt/newsarchive/.venv/bin/scraper"
INSTALLED_CONFIG = "/etc/newsarchive/config.toml"
MAX_EXPOSURE = 2.0  # systemd-analyze security: 0 is locked down, 10 is fully exposed


def unit_settings(text: str) -> dict[str, list[str]]:
    """``Key=value`` lines of the unit, by key (a key may repeat)."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def seconds(value: str) -> float:
    """A systemd time span such as ``30s``, ``1min 30s`` or ``90``."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "ms": 0.001}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit]
    return total


def this_scraper() -> str:
    found = Path(sys.executable).parent / "scraper"
    if not found.exists():
        pytest.skip(f"no scraper console script beside {sys.executable} (pip install -e .)")
    return str(found)


def local_unit(tmp_path: Path) -> Path:
    """The unit as installed here: ExecStart names this checkout's scraper."""
    text = UNIT.read_text(encoding="utf-8").replace(INSTALLED_SCRAPER, this_scraper())
    unit = tmp_path / "newsarchive.service"
    unit.write_text(text, encoding="utf-8")
    return unit


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return tool


def test_systemd_accepts_the_unit_and_it_is_locked_down(tmp_path: Path) -> None:
    tool = analyze()
    unit = local_unit(tmp_path)
    verified = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 after an unknown key or a value it cannot parse: its warnings count too.
    complaints = [line for line in verified.stderr.splitlines() if unit.name in line]
    assert verified.returncode == 0 and not complaints, verified.stderr
    security = subprocess.run(
        [tool, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in security.stderr and security.returncode != 0:
        pytest.skip(f"this systemd-analyze cannot judge a unit offline: {security.stderr[:200]}")
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", security.stdout)
    assert found is not None, security.stdout[-2000:] + security.stderr[-2000:]
    assert float(found.group(1)) <= MAX_EXPOSURE, security.stdout


def test_a_typo_in_the_unit_is_caught(tmp_path: Path) -> None:
    """The check above can fail: systemd names a misspelt key and a bad time."""
    tool = analyze()
    unit = local_unit(tmp_path)
    text = unit.read_text(encoding="utf-8")
    text = text.replace("ProtectSystem=strict", "ProtectSytem=strict")
    unit.write_text(text.replace("TimeoutStopSec=30s", "TimeoutStopSec=thirty"), encoding="utf-8")
    verified = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert "ProtectSytem" in verified.stderr and "thirty" in verified.stderr, verified.stderr


def test_the_units_command_logs_json_and_stops_within_its_timeout(tmp_path: Path) -> None:
    settings = unit_settings(UNIT.read_text(encoding="utf-8"))
    assert settings["Restart"] == ["on-failure"] and settings["KillMode"] == ["mixed"]
    stop_timeout = seconds(settings["TimeoutStopSec"][0])
    assert stop_timeout > SHUTDOWN_GRACE_S
    argv = shlex.split(settings["ExecStart"][0])
    assert argv[0] == INSTALLED_SCRAPER and INSTALLED_CONFIG in argv
    config = tmp_path / "config.toml"
    argv = [this_scraper(), *(str(config) if a == INSTALLED_CONFIG else a for a in argv[1:])]

    with serve_site() as site, serve_site("127.0.0.2") as slow:
        paths = ["/news/harbour-wall-to-be-rebuilt", "/news/new-library-opens-its-doors"]
        site.set("/feed.xml", rss_feed(site, paths), content_type="application/rss+xml")
        for i, path in enumerate(paths):
            site.set(path, article_page(f"Story {i}", [f"Paragraph of story {i}. " * 8]))
        # A feed that answers after the grace period: the stop must abandon it.
        slow.set("/feed.xml", rss_feed(slow, []), content_type="application/rss+xml", delay_s=60)
        config.write_text(
            f"""
[archive]
path = "archive.db"

[fetch]
host_gap = "0s"
deadline = "50s"
read_timeout = "50s"
max_retries = 0

[[sources]]
name = "daily"
url = "{site.url("/feed.xml")}"
every = "1h"

[[sources]]
name = "hanging"
url = "{slow.url("/feed.xml")}"
every = "1h"
""",
            encoding="utf-8",
        )
        daemon = subprocess.Popen(
            argv,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while not (all(site.hits.get(p) for p in paths) and slow.hits.get("/feed.xml")):
                assert daemon.poll() is None, daemon.communicate()
                assert time.monotonic() < deadline, "the daemon never fetched the sites"
                time.sleep(0.05)
            time.sleep(0.5)  # the two articles' writes are committed and logged
            signalled = time.monotonic()
            daemon.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process only
            stdout, stderr = daemon.communicate(timeout=stop_timeout + 5)
            took = time.monotonic() - signalled
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
    assert daemon.returncode == 0, stderr[-3000:]
    assert took < stop_timeout, f"{took:.1f}s from SIGTERM to exit; the unit allows {stop_timeout}"
    assert stdout == ""
    records = [parse_line(line) for line in stderr.splitlines()]
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"]), record
    fetches = [r for r in records if "outcome" in r]
    by_url = {r["url"]: r for r in fetches}
    article = by_url[site.url(paths[0])]
    assert article["outcome"] == "new" and article["status"] == 200
    assert article["source"] == "daily" and article["level"] == "INFO"
    assert article["bytes"] > 0 and isinstance(article["ms"], int) and article["error"] is None
    assert article["message"].startswith(f"{site.url(paths[0])} 200 new ")
    assert by_url[site.url("/feed.xml")]["outcome"] in ("changed", "new")
    messages = [r["message"] for r in records]
    assert any(m.startswith("stopping: dropped") for m in messages), messages
    assert any(m.startswith("stopping: abandoned 1 jobs") for m in messages), messages
    assert messages[-1] == "stopped"
    # What the log announced is what the archive holds.
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        stored = dict(conn.execute("SELECT url, outcome FROM fetches"))
    assert stored == {url: r["outcome"] for url, r in by_url.items()}


def parse_line(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        raise AssertionError(f"not a JSON line: {line!r}") from None
    assert isinstance(record, dict), line
    return record


def test_a_bad_configuration_is_one_json_line_and_exit_2(tmp_path: Path) -> None:
    """What stops the service before it starts reaches the collector as JSON too."""
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nurl = "https://news.example/feed.xml"\nevery = "5x"\n')
    stopped = subprocess.run(
        [sys.executable, "-m", "scraper", "run", "--config", str(config), "--log-format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode == 2
    lines = stopped.stderr.splitlines()
    assert len(lines) == 1, stopped.stderr
    entry = parse_line(lines[0])
    assert entry["level"] == "ERROR" and entry["message"].startswith(f"error: {config}: ")
    assert "sources[0].every (line 3): '5x' is not valid" in entry["message"]
