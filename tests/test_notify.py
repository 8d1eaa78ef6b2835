"""Alerts ([notify]): a real daemon, a local news site, a local webhook and a local SMTP server.

One ``scraper run`` watches two article sources of a local site and sends to four
targets: a webhook on 127.0.0.1 (``json://``), a local SMTP server (aiosmtpd,
``mailto://``) that wants only the edits of one source, a webhook that answers 500
twice before it takes a message, and a port where nothing listens. The site changes
only a counter and a relative time (no alert), edits an article (one alert at both,
within one dispatch interval, with the title, URL, changed words and history link),
edits the other source twice in a row (one batched message), then removes it (gone,
and the source turns failing). The batching and the config's checks also have fast
tests of their own.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from datasette_server import free_port
from newsserver import NewsSite, article_page, serve_site
from test_first_hour import rows, wait_for

from archive.health import SourceHealth, State
from archive.history import cut_line
from scraper.config import ConfigError, NotifyTarget, load_config
from scraper.notify.batch import Batcher
from scraper.notify.compose import compose, source_events
from scraper.notify.events import CHANGED, GONE, SOURCE_FAILING, Event

INTERVAL_S = 3.0  # [notify] dispatch_interval of the daemon test
MARGIN_S = 3.0  # a loaded CI machine: commit to delivery may take a little longer
STORY = [
    "The city council approved next year's budget on Tuesday by a wide margin.",
    "Spending on schools rises by four percent while road repairs stay level.",
]
EDITED = [STORY[0], "Spending on schools rises by six percent while road repairs are cut."]
MATCH = [
    "The home side won the derby three to one after a late penalty.",
    "Fans filled the square.",
]


@dataclass
class Received:
    at: float  # time.time() when it arrived
    title: str
    body: str


@dataclass
class Inbox:
    """What a local server received; ``fail_first`` posts are answered 500."""

    fail_first: int = 0
    posts: int = 0
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def titles(self) -> list[str]:
        with self.lock:
            return [m.title for m in self.messages]

    def about(self, word: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if word in m.title or word in m.body]


@contextmanager
def webhook(inbox: Inbox) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with inbox.lock:
                inbox.posts += 1
                failing = inbox.posts <= inbox.fail_first
                if not failing:
                    payload = json.loads(data)
                    inbox.messages.append(
                        Received(time.time(), payload["title"], payload["message"])
                    )
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else (content or "").encode()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        body = parsed.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        with self.inbox.lock:
            self.inbox.posts += 1
            self.inbox.messages.append(Received(time.time(), str(parsed["Subject"]), text))
        return "250 OK"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(_Mailbox(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def story_page(paragraphs: list[str], minutes: int, views: int) -> str:
    """The article with the noise a news page changes between two fetches."""
    return article_page("Council approves budget", [*paragraphs, f"Updated {minutes} minutes ago"],
                        views=views, comments=minutes)  # fmt: skip


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        site.set("/story", story_page(STORY, 5, 120))
        site.set("/match", article_page("Derby day", MATCH))
        yield site


def test_alerts_from_a_running_daemon(tmp_path: Path, site: NewsSite) -> None:
    hook, mail, flaky = Inbox(), Inbox(), Inbox(fail_first=2)
    closed = free_port()
    with webhook(hook) as hook_port, webhook(flaky) as flaky_port, smtp_server(mail) as smtp:
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[archive]
path = "archive.db"

[fetch]
host_gap = "0s"
max_retries = 0

[revisit]
min_interval = "1h"

[notify]
archive_url = "http://127.0.0.1:8001/"
dispatch_interval = "{INTERVAL_S:g}s"
retries = 3
retry_backoff = "0.3s"

[[notify.targets]]
url = "json://127.0.0.1:{hook_port}/hook"

[[notify.targets]]
url = "mailto://127.0.0.1:{smtp}?from=alerts@example.com&to=desk@example.com"
on = ["changed"]
sources = ["city"]

[[notify.targets]]
url = "json://127.0.0.1:{flaky_port}/flaky"
sources = ["city"]

[[notify.targets]]
url = "json://127.0.0.1:{closed}/nobody"

[[sources]]
name = "city"
url = "{site.url("/story")}"
kind = "article"
every = "1s"
jitter = "0s"

[[sources]]
name = "sport"
url = "{site.url("/match")}"
kind = "article"
every = "1s"
jitter = "0s"
""",
            encoding="utf-8",
        )
        db = tmp_path / "archive.db"
        log = tmp_path / "daemon.log"
        with running(config, log) as daemon:
            wait_for("both first versions", lambda: rows(db, "SELECT 1 FROM versions")[1:], 20)
            story = site.url("/story")

            def fetched(url: str) -> int:
                return len(rows(db, "SELECT 1 FROM fetches WHERE url = ?", url))

            # Noise only: a view counter, a comment counter and "Updated 5 minutes ago".
            site.set("/story", story_page(STORY, 7, 180))
            seen = fetched(story)
            wait_for("two fetches of the noise", lambda: fetched(story) >= seen + 2, 10)
            assert rows(db, "SELECT count(*) FROM versions WHERE url = ?", story) == [(1,)]

            # A real edit: one alert at the webhook and one mail, within an interval.
            site.set("/story", story_page(EDITED, 9, 200))
            wait_for("the edit at the webhook", lambda: hook.about("Council approves"), 15)
            wait_for("the edit by mail", lambda: mail.messages, 15)
            ((captured, article_id),) = rows(
                db,
                "SELECT captured_at, article_id FROM versions WHERE url = ? AND version = 2",
                story,
            )

            # A burst on the other source: two edits, one after the other: one message.
            match = site.url("/match")
            for n, extra in enumerate(["Police praised the crowd.", "The coach resigned."]):
                site.set("/match", article_page("Derby day", [*MATCH, extra]))
                wait_for(f"edit {n + 1} recorded", lambda n=n: rows(  # type: ignore[misc]
                    db, "SELECT 1 FROM versions WHERE url = ? AND version = ?", match, n + 2
                ), 10)  # fmt: skip
            wait_for("the burst at the webhook", lambda: hook.about("coach resigned"), 15)

            # Removed: gone, and the source (an article) is failing from its next run on.
            site.set("/match", "gone", status=410)
            wait_for("gone and failing", lambda: hook.about("Source failing"), 15)
            wait_for("the flaky webhook took it at last", lambda: flaky.messages, 15)
            wait_for(
                "the closed port given up",
                lambda: "given up after 4 tries" in log.read_text(encoding="utf-8"),
                15,
            )
            still = fetched(story)
            wait_for("fetching goes on", lambda: fetched(story) > still + 1, 10)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text, text

    # The edit: one message each, with the title, the URL, what changed and the link.
    (edit,) = hook.about("Council approves")
    (mailed,) = mail.messages
    for message in (edit, mailed):
        assert message.title == "Changed: Council approves budget"
        assert story in message.body
        assert "text: +" in message.body
        assert "[-four-]{+six+}" in message.body
        assert f"History: http://127.0.0.1:8001/-/article/{article_id}?to=2" in message.body
        assert message.at - seconds(captured) <= INTERVAL_S + MARGIN_S
        assert "minutes ago" not in message.body and "views" not in message.body

    # The burst: one message for both versions; the mail wanted no sport and no removal.
    (burst,) = [m for m in hook.messages if "coach resigned" in m.body]
    assert burst.title == "sport: 2 alerts (2 changed)", burst
    assert "Police praised" in burst.body
    assert any(m.title.startswith("Gone: Derby day") or "Gone: Derby day" in m.body
               for m in hook.about("Gone"))  # fmt: skip
    assert [m.title for m in mail.messages] == ["Changed: Council approves budget"]
    failing = hook.about("Source failing")
    assert len(failing) == 1 and "HTTP 410" in failing[0].body, failing

    # The webhook that failed twice got the edit on its third try; nothing stopped.
    assert flaky.posts >= 3 and flaky.titles() == ["Changed: Council approves budget"]
    assert f"alert to json://127.0.0.1:{flaky_port}/flaky failed" in text
    assert f"alert to json://127.0.0.1:{closed}/nobody given up after 4 tries" in text


@contextmanager
def running(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as err:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "scraper", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            yield daemon
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()


def test_run_once_sends_its_alerts_before_it_exits(tmp_path: Path, site: NewsSite) -> None:
    hook = Inbox()
    with webhook(hook) as port:
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[notify]
dispatch_interval = "1h"  # --once does not wait for it: what is raised goes at the end

[[notify.targets]]
url = "json://127.0.0.1:{port}/hook"

[[sources]]
name = "city"
url = "{site.url("/story")}"
kind = "article"
every = "1h"
""",
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "scraper", "run", "--once", "--config", str(config)]
        first = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert hook.messages == []  # a new article is no alert
        site.set("/story", story_page(EDITED, 5, 120))
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
    assert hook.titles() == ["Changed: Council approves budget"], second.stderr
    assert "[-four-]{+six+}" in hook.messages[0].body


# -- the decisions, on an injected clock ---------------------------------------------------

TARGETS = (
    NotifyTarget("json://a/", "json://a/"),
    NotifyTarget("json://b/", "json://b/", on=(CHANGED,), sources=("city",)),
)


def event(kind: str, source: str, at: float, version: int = 2) -> Event:
    return Event(kind, source, f"http://site/{source}/{at}", at, version)


def test_a_burst_is_one_batch_per_target_and_source_due_one_interval_after_its_first() -> None:
    batcher = Batcher(TARGETS, interval_s=60, retries=2, backoff_s=30)
    batcher.add([event(CHANGED, "city", 0.0), event(GONE, "city", 20.0)])
    batcher.add([event(CHANGED, "sport", 30.0), event(CHANGED, "city", 59.0)])
    assert batcher.next_due() == 60.0
    assert batcher.take_due(59.9) == []
    due = batcher.take_due(60.0)
    assert [(b.target, b.source, [e.kind for e in b.events]) for b in due] == [
        (0, "city", [CHANGED, GONE, CHANGED]),
        (1, "city", [CHANGED, CHANGED]),  # on = ["changed"]: not the removal
    ]
    # The next event of city opens a new batch, an interval after it.
    batcher.add([event(CHANGED, "city", 61.0)])
    assert [(b.source, b.due_at) for b in batcher.take_due(121.0)] == [
        ("sport", 90.0), ("city", 121.0), ("city", 121.0),
    ]  # fmt: skip
    assert batcher.next_due() is None


def test_a_failed_batch_is_retried_with_backoff_then_given_up() -> None:
    batcher = Batcher(TARGETS[:1], interval_s=60, retries=2, backoff_s=30)
    batcher.add([event(SOURCE_FAILING, "city", 0.0)])
    (batch,) = batcher.take_due(60.0)
    first = batcher.failed(batch, 61.0)
    assert (first.given_up, first.wait_s, first.batch.tries) == (False, 30.0, 1)
    batcher.add([event(CHANGED, "city", 70.0)])  # raised while it waits: goes with it
    (again,) = batcher.take_due(91.0)
    assert [e.kind for e in again.events] == [SOURCE_FAILING, CHANGED]
    second = batcher.failed(again, 92.0)
    assert (second.given_up, second.wait_s) == (False, 60.0)
    (last,) = batcher.take_due(152.0)
    assert batcher.failed(last, 153.0).given_up
    assert len(batcher) == 0


def test_a_message_names_the_source_and_the_kinds_when_batched() -> None:
    events = (event(CHANGED, "city", 0.0), event(GONE, "city", 1.0))
    message = compose(None, "city", events, "http://archive")
    assert message.title == "city: 2 alerts (1 changed, 1 gone)"
    single = compose(None, "city", events[:1], None)
    assert single.title == f"Changed: {events[0].url}"


def health_of(name: str, state: State, failures: int = 0) -> SourceHealth:
    return SourceHealth(
        name=name, url=f"http://site/{name}", kind="feed", schedule=None, state=state,
        last_run_at=None, last_outcome=None, last_success_at=None,
        consecutive_failures=failures, last_error="HTTP 503" if failures else None,
        last_error_at=None, last_new_at=None, usual_gap_s=None, quiet_after_s=None,
        articles_24h=0, articles_7d=0,
    )  # fmt: skip


def test_a_source_alerts_when_it_turns_failing_not_at_start_nor_at_every_run() -> None:
    states, events = source_events({}, [health_of("a", State.FAILING, 3)], 0.0)
    assert events == []  # failing already when the daemon started: status says so
    states, events = source_events(
        {**states, "b": State.HEALTHY}, [health_of("b", State.FAILING, 1)], 5.0
    )
    assert [(e.kind, e.source, e.detail) for e in events] == [
        (SOURCE_FAILING, "b", "1 run failed; last error: HTTP 503")
    ]
    _, again = source_events(states, [health_of("b", State.FAILING, 2)], 6.0)
    assert again == []


def test_a_long_passage_is_cut_at_a_word_with_its_marks_closed() -> None:
    passage = "Spending rises by [-four percent-]{+six percent while road repairs are cut+} now"
    cut = cut_line(passage, 50)
    assert cut == "Spending rises by [-four percent-]{+six percent+} …"
    assert cut_line("short [-a-]{+b+}", 50) == "short [-a-]{+b+}"


# -- the config: one line naming the file, the key and why ---------------------------------


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        ('[[notify]]\nurl = "json://x/"', "notify (line 5): expected a [notify] table with"),
        ('[notify]\n[[notify.targets]]\nurl = "nosuch://x"', "notify.targets[0].url (line 7): "
         "Apprise cannot send to this URL"),
        ('[notify]\n[[notify.targets]]\nurl = "json://x/"\non = ["edited"]',
         "notify.targets[0].on (line 8): ['edited'] is not valid; expected a list of events"),
        ('[notify]\n[[notify.targets]]\nurl = "json://x/"\nsources = ["nope"]',
         "notify.targets[0].sources (line 8): 'nope' is not a configured source"),
        ('[notify]\ndispatch_interval = "soon"', "notify.dispatch_interval (line 6): 'soon'"),
        ('[notify]\n[[notify.targets]]\non = ["gone"]', "notify.targets[0].url: missing"),
    ],
)  # fmt: skip
def test_bad_notify_settings_are_one_line(tmp_path: Path, notify: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[[sources]]\nname = "city"\nurl = "http://127.0.0.1:9/"\nevery = "1h"\n'
                    f"{notify}\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value).startswith(f"{path}: {expected}"), str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_secret_in_a_target_url_stays_out_of_logs_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[sources]]\nurl = "http://127.0.0.1:9/"\nevery = "1h"\n[notify]\n[[notify.targets]]\n'
        'url = "mailto://user:hunter2@mail.example.com?to=desk@example.com"\n',
        encoding="utf-8",
    )
    (target,) = load_config(path).notify.targets
    assert "hunter2" in target.url and "hunter2" not in target.label
    assert target.label.startswith("mailto://user:")
