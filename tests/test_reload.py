"""Reload without restart (issue 16): SIGHUP, or ``scraper reload``, re-reads config.toml.

A real ``scraper run`` watches feeds of a local site while the test rewrites its
config.toml: a source added is fetched, a source removed is fetched no more (nor are its
articles revisited; they stay in the archive), a changed schedule takes effect, a setting
that needs a restart is named and kept, and a broken file leaves the daemon running the
configuration it had, with one error line naming the file, the key and the line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from newsserver import NewsSite, article_page, rss_feed, serve_site
from processes import stop
from test_first_hour import rows, wait_for

NAMES = ("alpha", "bravo", "charlie")
STORY = [
    "The harbour authority opened a new ferry terminal on the north quay on Monday.",
    "Ferries to the islands will leave every half hour from the new terminal in summer.",
]
JSON_LOG = ("--log-format", "json")
AGENT = "reload-test/1 (+http://127.0.0.1/)"
SETTLE_S = 0.5  # a fetch started this soon after the reload line was on its way before it
WATCH_S = 2.5  # how long after a reload the test watches the sources it stopped


@dataclass(frozen=True)
class Daemon:
    process: subprocess.Popen[str]
    config: Path
    log: Path
    db: Path

    def records(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def messages(self, level: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r["level"] == level and "outcome" not in r]

    def fetches_since(self, since: str, *urls: str) -> list[tuple[str, str]]:
        """(url, started_at) of the fetches of ``urls`` started after ``since``."""
        marks = ", ".join("?" for _ in urls)
        return [
            (url, started)
            for url, started in rows(
                self.db, f"SELECT url, started_at FROM fetches WHERE url IN ({marks})", *urls
            )
            if started > since
        ]


def feed(name: str) -> str:
    return f"/{name}.xml"


def story(name: str) -> str:
    return f"/{name}/ferry-terminal"


def source(site: NewsSite, name: str, every: str = "1s", extra: str = "") -> str:
    return f"""
[[sources]]
name = "{name}"
url = "{site.url(feed(name))}"
every = "{every}"
jitter = "0s"
{extra}"""


def config_text(*sources: str, user_agent: str = AGENT) -> str:
    return f"""
[archive]
path = "archive.db"

[fetch]
user_agent = "{user_agent}"
host_gap = "0s"
max_retries = 0

[revisit]  # each article is revisited every second or two
min_interval = "1s"
max_interval = "2s"
{"".join(sources)}
"""


def later(moment: str, seconds: float) -> str:
    """The archive's time format (ISO-8601 UTC, milliseconds, Z) ``seconds`` after ``moment``."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    shifted = datetime.fromtimestamp(parsed.timestamp() + seconds, parsed.tzinfo)
    return shifted.strftime("%Y-%m-%dT%H:%M:%S.") + f"{shifted.microsecond // 1000:03d}Z"


def scraper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        for name in NAMES:
            site.set(feed(name), rss_feed(site, [story(name)]), content_type="application/rss+xml")
            site.set(story(name), article_page(f"Ferry terminal {name}", STORY))
        yield site


@contextmanager
def running(tmp_path: Path, text: str) -> Iterator[Daemon]:
    """A real ``scraper run --log-format json`` logging to a file; it must stop cleanly."""
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    log = tmp_path / "daemon.log"
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "scraper", "run", "--config", str(config), *JSON_LOG],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    daemon = Daemon(process, config, log, tmp_path / "archive.db")
    try:
        yield daemon
    finally:
        stop(process)
    assert process.returncode == 0, log.read_text(encoding="utf-8")[-3000:]
    assert "Traceback" not in log.read_text(encoding="utf-8")


def archived(daemon: Daemon, site: NewsSite, *names: str) -> bool:
    """Each named source's feed and article fetched and its article stored."""
    urls = [site.url(story(n)) for n in names]
    marks = ", ".join("?" for _ in urls)
    found = rows(daemon.db, f"SELECT count(*) FROM articles WHERE url IN ({marks})", *urls)
    return bool(found) and found[0][0] == len(urls)


def reloaded(daemon: Daemon, count: int = 1) -> dict[str, Any] | None:
    """The ``count``-th "reloaded ..." line, once the daemon has logged it."""
    done = [r for r in daemon.messages("INFO") if r["message"].startswith("reloaded ")]
    return done[count - 1] if len(done) >= count else None


def rewrite(config: Path, text: str) -> None:
    """Replace the file at once, as an editor saving it does: never read half-written."""
    fresh = config.with_suffix(".new")
    fresh.write_text(text, encoding="utf-8")
    fresh.replace(config)


def test_sighup_adds_a_source_and_stops_a_removed_one(tmp_path: Path, site: NewsSite) -> None:
    alpha, bravo, charlie = (source(site, n) for n in NAMES)
    with running(tmp_path, config_text(alpha, bravo)) as daemon:
        wait_for("alpha and bravo archived", lambda: archived(daemon, site, "alpha", "bravo"), 20)
        assert not daemon.fetches_since("", site.url(feed("charlie")))
        # bravo's article has been revisited: its revisits are what must stop too.
        bravo_urls = (site.url(feed("bravo")), site.url(story("bravo")))
        wait_for(
            "bravo's article revisited",
            lambda: len(daemon.fetches_since("", bravo_urls[1])) >= 2,
            20,
        )
        rewrite(daemon.config, config_text(alpha, charlie, user_agent="another-agent/2"))
        daemon.process.send_signal(signal.SIGHUP)
        line = wait_for("the reload logged", lambda: reloaded(daemon), 10)
        assert line["message"] == (
            f"reloaded {daemon.config}: added charlie; removed bravo; watching 2 sources"
        )
        at = later(line["time"], SETTLE_S)
        wait_for("charlie archived", lambda: archived(daemon, site, "charlie"), 15)
        # The daemon goes on with alpha for a while: bravo had every chance to be fetched.
        alpha_feed = site.url(feed("alpha"))
        wait_for(
            "alpha fetched for a while after the reload",
            lambda: daemon.fetches_since(later(at, WATCH_S), alpha_feed),
            15,
        )
        assert daemon.process.poll() is None
        assert daemon.fetches_since(at, *bravo_urls) == []
        # The settings that cannot change live are named once, and keep their value.
        restart = [r["message"] for r in daemon.messages("WARNING") if "restart" in r["message"]]
        assert restart == [
            f"reload: {daemon.config}: fetch.user_agent changed and needs a restart to take "
            "effect; the running value is kept until then"
        ]
        assert site.headers[feed("charlie")]["user-agent"] == AGENT
    # bravo's archived article stays.
    kept = rows(daemon.db, "SELECT source, state FROM articles WHERE url = ?", bravo_urls[1])
    assert kept == [("bravo", "live")]
    assert rows(daemon.db, "SELECT count(*) FROM versions v JOIN articles a ON a.id = v.article_id"
                " WHERE a.source = 'bravo'") == [(1,)]  # fmt: skip


def test_scraper_reload_signals_the_daemon_holding_the_archive(
    tmp_path: Path, site: NewsSite
) -> None:
    alpha, charlie = source(site, "alpha"), source(site, "charlie")
    config = tmp_path / "config.toml"
    config.write_text(config_text(alpha), encoding="utf-8")
    nobody = scraper("reload", "--config", str(config))
    assert nobody.returncode == 1
    assert nobody.stderr == f"error: no daemon holds {tmp_path / 'archive.db'}: nothing to " \
        "reload (start one with scraper run)\n"  # fmt: skip
    with running(tmp_path, config_text(alpha)) as daemon:
        wait_for("alpha archived", lambda: archived(daemon, site, "alpha"), 20)
        # alpha's feed now runs every hour: it was fetched at the start, and not again.
        rewrite(daemon.config, config_text(source(site, "alpha", every="1h"), charlie))
        sent = scraper("reload", "--config", str(daemon.config))
        assert sent.returncode == 0, sent.stderr
        assert f"sent SIGHUP to the daemon (pid {daemon.process.pid})" in sent.stdout
        line = wait_for("the reload logged", lambda: reloaded(daemon), 10)
        assert line["message"] == (
            f"reloaded {daemon.config}: added charlie; changed alpha (schedule); watching 2 sources"
        )
        at = later(line["time"], SETTLE_S)
        wait_for("charlie archived", lambda: archived(daemon, site, "charlie"), 15)
        charlie_feed = site.url(feed("charlie"))
        wait_for(
            "charlie fetched for a while after the reload",
            lambda: daemon.fetches_since(later(at, WATCH_S), charlie_feed),
            15,
        )
        assert daemon.fetches_since(at, site.url(feed("alpha"))) == []
        # A file that does not load is refused here, and the daemon is not disturbed.
        bad = config_text(source(site, "alpha", every="soon"))
        rewrite(daemon.config, bad)
        refused = scraper("reload", "--config", str(daemon.config))
        assert refused.returncode == 2
        where = f"sources[0].every (line {line_of(bad, 'soon')}): 'soon' is not valid"
        assert refused.stderr.startswith(f"error: {daemon.config}: {where}"), refused.stderr
        assert reloaded(daemon, 2) is None and daemon.messages("ERROR") == []
        rewrite(daemon.config, config_text(alpha))
    gone = scraper("reload", "--config", str(config))
    assert gone.returncode == 1 and "no daemon holds" in gone.stderr


def test_an_added_source_alerts_on_its_edits(tmp_path: Path, site: NewsSite) -> None:
    """[notify] is read at the start, but the sources it watches follow a reload."""
    from test_notify import EDITED, STORY, Inbox, story_page, webhook

    hook = Inbox()
    site.set("/city/budget", story_page(STORY, 1, 10))
    city = f"""
[[sources]]
name = "city"
url = "{site.url("/city/budget")}"
kind = "article"
every = "1s"
jitter = "0s"
"""
    with webhook(hook) as port:
        notify = f"""
[notify]
dispatch_interval = "1s"

[[notify.targets]]
url = "json://127.0.0.1:{port}/hook"
"""
        alpha = source(site, "alpha")
        with running(tmp_path, config_text(alpha) + notify) as daemon:
            wait_for("alpha archived", lambda: archived(daemon, site, "alpha"), 20)
            rewrite(daemon.config, config_text(alpha, city) + notify)
            daemon.process.send_signal(signal.SIGHUP)
            wait_for("the reload logged", lambda: reloaded(daemon), 10)
            city_versions = "SELECT 1 FROM versions v JOIN articles a ON a.id = v.article_id"
            city_versions += " WHERE a.source = 'city'"
            wait_for("city archived", lambda: rows(daemon.db, city_versions), 15)
            site.set("/city/budget", story_page(EDITED, 2, 20))
            wait_for("the edit alerted", hook.titles, 15)
    assert hook.titles() == ["Changed: Council approves budget"]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_a_broken_config_on_sighup_keeps_the_running_one(tmp_path: Path, site: NewsSite) -> None:
    alpha, bravo = source(site, "alpha"), source(site, "bravo")
    with running(tmp_path, config_text(alpha, bravo)) as daemon:
        wait_for("alpha and bravo archived", lambda: archived(daemon, site, "alpha", "bravo"), 20)
        path = daemon.config
        # An invalid key: the error names the file, the key and its line.
        misspelt = config_text(alpha, source(site, "bravo", extra='evry = "5m"\n'))
        rewrite(path, misspelt)
        daemon.process.send_signal(signal.SIGHUP)
        first = wait_for("the error logged", lambda: daemon.messages("ERROR"), 10)
        line = line_of(misspelt, "evry")
        assert len(first) == 1, first
        assert first[0]["message"].startswith(
            f"reload failed, the running configuration is kept: {path}: sources[1].evry "
            f"(line {line}): unknown key; expected one of "
        )
        # A TOML syntax error: tomllib's message gives the line and the column.
        broken = config_text(alpha, bravo).replace('name = "bravo"', 'name = "bravo')
        rewrite(path, broken)
        daemon.process.send_signal(signal.SIGHUP)
        errors = wait_for("the second error", lambda: daemon.messages("ERROR")[1:], 10)
        assert len(errors) == 1, errors
        message = errors[0]["message"]
        assert message.startswith(
            f"reload failed, the running configuration is kept: {path}: not valid TOML: "
        )
        assert f"line {line_of(broken, 'bravo.xml') - 1}, column" in message, message
        # Still running, still fetching both sources as they were.
        at = errors[0]["time"]
        for url in (site.url(feed("alpha")), site.url(feed("bravo"))):
            wait_for(
                f"{url} fetched after the bad reloads", partial(daemon.fetches_since, at, url), 15
            )
        assert daemon.process.poll() is None
        assert reloaded(daemon) is None
        assert len(daemon.messages("ERROR")) == 2


def test_settings_read_at_the_start_are_named_and_keep_their_running_value(
    tmp_path: Path,
) -> None:
    """What a reload applies, decided without a daemon: sources and [health] at once, the
    archive's file and the metrics port (and the rest) only at a restart."""
    from scraper.config import load_config
    from scraper.reload import plan_reload

    path = tmp_path / "config.toml"
    path.write_text(
        '[metrics]\nlisten = "127.0.0.1:9464"\n\n[[sources]]\nname = "city"\n'
        'url = "https://news.example/feed.xml"\nevery = "1h"\n',
        encoding="utf-8",
    )
    running = load_config(path)
    path.write_text(
        '[archive]\npath = "elsewhere.db"\n\n[metrics]\nlisten = "127.0.0.1:9465"\n\n'
        '[health]\nmin_quiet = "2h"\n\n[[sources]]\nname = "city"\n'
        'url = "https://news.example/rss"\nevery = "30m"\nremove = [".ad"]\n',
        encoding="utf-8",
    )
    plan = plan_reload(running, load_config(path))
    assert plan.needs_restart == ("archive.path", "metrics.listen")
    assert plan.config.archive == running.archive and plan.config.metrics == running.metrics
    assert plan.config.health.min_quiet == 7200.0
    assert not plan.added and not plan.removed
    [change] = plan.changed
    assert change.fields == ("url", "schedule", "remove")
    assert change.rescheduled and change.run_now
    assert plan.config.sources == (change.new,)
