"""A small but realistic archive, written through the real store API, for the Datasette tests.

Everything goes through ``Archive.record`` with ``Fetch``/``Article`` values, exactly as
the daemon writes it: a German article that is edited once (a known word diff), a
Vietnamese article, an article whose text carries markup and a script, an article that
disappears, a source that fails and a host whose fetches fail.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive_helpers import FakeClock

from archive.store import Archive, SourceInfo
from contract.clock import iso
from contract.model import Article, Fetch, Image, Outcome

GERMAN_URL = "https://www.zeitung.example/politik/2026/haushalt-einigung.html"
VIETNAMESE_URL = "https://znews.example/nguoi-dan-dong-bang-song-cuu-long-post1500.html"
SCRIPT_URL = "https://blog.example/posts/markup-in-text"
GONE_URL = "https://news.example/world/deleted-story.html"
FAILING_URL = "https://down.example/articles/unreachable.html"
# Listed in a feed, then 410 Gone on its first fetch: an article never seen live.
PULLED_URL = "https://news.example/world/pulled-before-we-looked.html"

GERMAN_V1 = (
    "Die Koalition hat sich am Mittwoch nach langen Verhandlungen auf den Haushalt geeinigt.",
    "Finanzministerin Müller sprach von einem tragfähigen Kompromiss für Straßen und Schulen.",
)
GERMAN_V2 = (
    "Die Koalition hat sich am Donnerstag nach langen Verhandlungen auf den Haushalt geeinigt.",
    "Finanzministerin Müller sprach von einem tragfähigen Kompromiss für Straßen und Schulen.",
    "Die Opposition kündigte eine Verfassungsklage an.",
)
# The word-level edit between GERMAN_V1 and GERMAN_V2.
GERMAN_DELETED = ("Mittwoch",)
GERMAN_INSERTED = ("Donnerstag", "Verfassungsklage")

VIETNAMESE_TEXT = (
    "Người dân đồng bằng sông Cửu Long đang chờ những cơn mưa đầu mùa.",
    "Nhiều hộ nông dân đã chuyển sang trồng lúa chịu mặn.",
)
SCRIPT_TEXT = (
    'An attacker wrote <script>alert("archived-xss")</script> into the comment.',
    "The tag <b>bold</b> and an <img src=x onerror=alert(1)> must stay text.",
)
SCRIPT_TEXT_V2 = (*SCRIPT_TEXT, "Update: <script>document.title='pwned'</script> was added later.")
SCRIPT_TEXT_V3 = (*SCRIPT_TEXT_V2, "Second update: the blog fixed its comment filter.")
SCRIPT_TITLE = "Markup <em>in</em> the text <script>alert('title-xss')</script>"


@dataclass(frozen=True)
class KnownArchive:
    path: Path
    german_id: int
    vietnamese_id: int
    script_id: int
    gone_id: int
    pulled_id: int
    first_capture: datetime


def _html(title: str, paragraphs: tuple[str, ...]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    head = f"<head><title>{title}</title></head>"
    return f"<!doctype html><html>{head}<body>{body}</body></html>".encode()


def _fetch(
    url: str,
    clock: FakeClock,
    body: bytes | None,
    *,
    source: str,
    status: int | None = 200,
    hint: Outcome | None = None,
    error: str | None = None,
) -> Fetch:
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Encoding", "gzip"),
        ("Date", clock.now().strftime("%a, %d %b %Y %H:%M:%S GMT")),
        ("ETag", f'"{hashlib.sha256(body or b"").hexdigest()[:12]}"'),
    )
    return Fetch(
        url=url,
        started_at=iso(clock.now()),
        outcome_hint=hint,
        final_url=url,
        status=status,
        error=error,
        elapsed_ms=42,
        content_type="text/html; charset=utf-8",
        headers=headers if body is not None else (),
        body=body,
        source=source,
    )


def _article(
    paragraphs: tuple[str, ...],
    *,
    title: str,
    language: str,
    site: str,
    section: str,
    tags: tuple[str, ...],
    byline: tuple[str, ...] = (),
) -> Article:
    return Article(
        paragraphs=paragraphs,
        title=title,
        byline=byline,
        published="2026-11-01T07:00:00+01:00",
        language=language,
        site_name=site,
        section=section,
        tags=tags,
        images=(Image(src="https://cdn.example/photo.jpg", caption="Ein Foto", credit="dpa"),),
        extractor_version="test-1",
    )


def build(path: Path, start: datetime | None = None) -> KnownArchive:
    """Write the known archive to ``path``; times start an hour before ``start`` (default now).

    Never before today's midnight UTC, so "what changed today" holds every edit even when
    the tests run just after midnight (later times are fine for every query).
    """
    now = start or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = max(now - timedelta(hours=1), midnight + timedelta(seconds=1))
    clock = FakeClock(current=first)
    german = _article(
        GERMAN_V1, title="Einigung im Haushaltsstreit", language="de", site="Zeitung",
        section="Politik", tags=("Haushalt", "Koalition"), byline=("Anna Schmidt",),
    )  # fmt: skip
    german_v2 = _article(
        GERMAN_V2, title="Einigung im Haushaltsstreit", language="de", site="Zeitung",
        section="Politik", tags=("Haushalt", "Koalition", "Opposition"), byline=("Anna Schmidt",),
    )  # fmt: skip
    vietnamese = _article(
        VIETNAMESE_TEXT, title="Miền Tây chờ mưa", language="vi", site="Znews",
        section="Thời sự", tags=("Cửu Long", "Nông nghiệp"),
    )  # fmt: skip
    scripted = _article(
        SCRIPT_TEXT, title=SCRIPT_TITLE, language="en", site="Blog", section="Security",
        tags=("<script>tag</script>",),
    )  # fmt: skip
    doomed = _article(
        ("This story will be taken down by its publisher.",), title="A story that vanished",
        language="en", site="News", section="World", tags=("World",),
    )  # fmt: skip

    with Archive.open(path, clock, delta_bodies=True) as archive:  # as the daemon writes
        archive.sync_sources(
            [
                SourceInfo("zeitung", "https://www.zeitung.example/feed.xml", "feed", "every 15m"),
                SourceInfo("znews", "https://znews.example/rss.xml", "feed", "every 15m"),
                SourceInfo("blog", "https://blog.example/atom.xml", "feed", "every 1h"),
                SourceInfo("down", "https://down.example/feed.xml", "feed", "every 1h"),
            ]
        )
        archive.record(_fetch(GERMAN_URL, clock, _html("v1", GERMAN_V1), source="zeitung"), german)
        clock.advance(60)
        archive.record(
            _fetch(VIETNAMESE_URL, clock, _html("vi", VIETNAMESE_TEXT), source="znews"), vietnamese
        )
        clock.advance(60)
        archive.record(_fetch(SCRIPT_URL, clock, _html("s", SCRIPT_TEXT), source="blog"), scripted)
        clock.advance(60)
        archive.record(
            _fetch(GONE_URL, clock, _html("g", doomed.paragraphs), source="znews"), doomed
        )
        clock.advance(600)
        # An unchanged re-fetch: same body again, a fetches row and no version.
        archive.record(_fetch(GERMAN_URL, clock, _html("v1", GERMAN_V1), source="zeitung"), german)
        clock.advance(600)
        archive.record(
            _fetch(GERMAN_URL, clock, _html("v2", GERMAN_V2), source="zeitung"), german_v2
        )
        clock.advance(30)
        scripted_v2 = replace(scripted, paragraphs=SCRIPT_TEXT_V2)
        archive.record(
            _fetch(SCRIPT_URL, clock, _html("s2", SCRIPT_TEXT_V2), source="blog"), scripted_v2
        )
        clock.advance(10)
        scripted_v3 = replace(scripted, paragraphs=SCRIPT_TEXT_V3)
        archive.record(
            _fetch(SCRIPT_URL, clock, _html("s3", SCRIPT_TEXT_V3), source="blog"), scripted_v3
        )
        clock.advance(20)
        archive.record(
            _fetch(GONE_URL, clock, b"not found", source="znews", status=404, hint=Outcome.GONE),
            None,
        )
        archive.add_discovered([PULLED_URL], "znews")
        archive.record(
            _fetch(PULLED_URL, clock, b"gone", source="znews", status=410, hint=Outcome.GONE),
            None,
        )
        for _ in range(3):
            clock.advance(60)
            archive.record(
                _fetch(
                    FAILING_URL, clock, None, source="down", hint=Outcome.FAILED,
                    error="connect timeout after 10.0 s", status=None,
                ),
                None,
            )  # fmt: skip
        archive.record_source_result("down", Outcome.FAILED, "HTTP 503 from the feed")
        archive.record_source_result("zeitung", Outcome.CHANGED, None)
    conn = sqlite3.connect(path)
    try:
        ids = dict(conn.execute("SELECT url, id FROM articles").fetchall())
    finally:
        conn.close()
    return KnownArchive(
        path=path,
        german_id=ids[GERMAN_URL],
        vietnamese_id=ids[VIETNAMESE_URL],
        script_id=ids[SCRIPT_URL],
        gone_id=ids[GONE_URL],
        pulled_id=ids[PULLED_URL],
        first_capture=first,
    )
