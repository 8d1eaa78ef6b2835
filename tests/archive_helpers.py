"""Shared values for the archive tests: a settable clock and fetch/article builders."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contract.clock import iso
from contract.model import Article, Fetch, Image, Outcome


@dataclass
class FakeClock:
    """A clock the test moves by hand (time is injected; nothing patches ``datetime``)."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 1, 8, 0, tzinfo=UTC))
    ticks: float = 0.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        self.ticks += seconds


def page(
    url: str,
    clock: FakeClock,
    body: bytes | None,
    *,
    status: int = 200,
    hint: Outcome | None = None,
    final_url: str | None = None,
    etag: str | None = None,
    source: str | None = "news",
) -> Fetch:
    return Fetch(
        url=url,
        started_at=iso(clock.now()),
        outcome_hint=hint,
        final_url=final_url or url,
        status=status,
        content_type="text/html; charset=utf-8",
        body=body,
        etag=etag,
        source=source,
    )


def story(
    *paragraphs: str,
    title: str = "Flood waters rise in the delta",
    byline: tuple[str, ...] = ("Lan Nguyen",),
    published: str | None = "2026-11-01T07:00:00+07:00",
    captions: tuple[str, ...] = ("Residents wade through a street. Photo: AP",),
    comment_count: int | None = None,
    extractor_version: str = "test-1",
    tags: tuple[str, ...] = (),
) -> Article:
    return Article(
        paragraphs=paragraphs or ("Water levels rose by two metres overnight.",),
        title=title,
        byline=byline,
        published=published,
        images=tuple(Image(src="https://cdn.example/a.jpg", caption=c) for c in captions),
        comment_count=comment_count,
        extractor_version=extractor_version,
        tags=tags,
    )


def read_queries(path: Path, queries: Mapping[str, str]) -> dict[str, list[tuple[object, ...]]]:
    """Every named query's rows from the archive at ``path`` (to compare two archives)."""
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        conn.close()
