"""Source kinds are a registry: a new kind is one class, and both the config and the
pipeline take it from the registry.

The JSON Feed kind (https://jsonfeed.org) below is written in this file alone: the
config accepts ``kind = "jsonfeed"``, an ``auto`` source serving one is recognised, and
its items are discovered and archived from a real server into a real archive.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import fetch_settings
from newsserver import NewsSite, article_page, serve_site

from archive.store import Archive
from contract.clock import SystemClock
from contract.model import Outcome
from scraper.config import ConfigError, Source, load_config
from scraper.fetch import Fetcher
from scraper.kinds import KINDS, Kinds, Listing, ListingKind
from scraper.pipeline import Stages, archive_article, run_source

STORY = [
    "The council agreed on Tuesday to rebuild the harbour wall before the winter storms came.",
    "Engineers said the work would take eleven weeks and cost four million euros in total.",
]


class JsonFeed(ListingKind):
    """JSON Feed 1.x: ``{"version": "https://jsonfeed.org/version/1.1", "items": [...]}``."""

    name = "jsonfeed"

    def sniff(self, body: bytes, content_type: str | None) -> bool:
        return b"jsonfeed.org/version/" in body[:512]

    def listing(self, body: bytes, url: str) -> Listing:
        try:
            items = json.loads(body)["items"]
        except (ValueError, KeyError, TypeError) as exc:
            return Listing((), (), f"{url}: not a JSON Feed: {exc}")
        return Listing(tuple(item["url"] for item in items if isinstance(item.get("url"), str)))


WITH_JSON_FEED = KINDS.with_kind(JsonFeed(), before="article")  # JSON may hold markup


def json_feed(site: NewsSite, paths: list[str]) -> str:
    items = [{"id": p, "url": site.url(p), "content_html": "<p>teaser</p>"} for p in paths]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items})


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        site.set(
            "/feed.json",
            json_feed(site, ["/news/one-story-here"]),
            content_type="application/feed+json",
        )
        site.set(
            "/auto.json", json_feed(site, ["/news/two-story-here"]), content_type="application/json"
        )
        site.set("/news/one-story-here", article_page("One story", STORY))
        site.set("/news/two-story-here", article_page("Two story", STORY))
        yield site


def write_config(tmp_path: Path, site: NewsSite) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[[sources]]
name = "declared"
url = "{site.url("/feed.json")}"
kind = "jsonfeed"
every = "1h"

[[sources]]
name = "sniffed"
url = "{site.url("/auto.json")}"
every = "1h"
""",
        encoding="utf-8",
    )
    return path


def test_the_config_accepts_exactly_the_registered_kinds(tmp_path: Path, site: NewsSite) -> None:
    path = write_config(tmp_path, site)
    config = load_config(path, WITH_JSON_FEED)
    assert [s.kind for s in config.sources] == ["jsonfeed", "auto"]
    with pytest.raises(ConfigError) as refused:
        load_config(path)  # the default registry has no jsonfeed
    assert str(refused.value) == (
        f"{path}: sources[0].kind (line 5): 'jsonfeed' is not valid; "
        "expected one of auto, feed, sitemap, article, section"
    )


Found = dict[str, tuple[object, ...]]


def run(sources: tuple[Source, ...], tmp_path: Path, kinds: Kinds) -> Found:
    """Each source's (kind, outcome, error) and each discovered article's (outcome,)."""

    async def go() -> Found:
        clock = SystemClock()
        fetcher = Fetcher(fetch_settings(), clock, trusted_origins=[s.url for s in sources])
        archive = Archive.open(tmp_path / "archive.db", clock)
        stages = Stages(fetcher, archive, logging.getLogger("test"), kinds=kinds)
        try:
            found: Found = {}
            for source in sources:
                result = await run_source(source, stages)
                for url in result.fresh:
                    recorded = await archive_article(url, source, stages)
                    found[url] = (recorded.outcome,)
                found[source.name] = (result.kind, result.outcome, result.error)
            archive.commit()
            return found
        finally:
            await fetcher.aclose()
            archive.close()

    return asyncio.run(go())


def test_the_pipeline_runs_a_source_through_its_registered_kind(
    tmp_path: Path, site: NewsSite
) -> None:
    sources = load_config(write_config(tmp_path, site), WITH_JSON_FEED).sources
    found = run(sources, tmp_path, WITH_JSON_FEED)
    assert found["declared"][:1] == found["sniffed"][:1] == ("jsonfeed",)
    assert found["declared"][2] is found["sniffed"][2] is None  # no error
    articles = {url: outcome for url, outcome in found.items() if url.startswith("http")}
    assert articles == {
        site.url("/news/one-story-here"): (Outcome.NEW,),
        site.url("/news/two-story-here"): (Outcome.NEW,),
    }


def test_auto_tries_the_kinds_in_the_registry_order(tmp_path: Path, site: NewsSite) -> None:
    """Tried after the HTML sniffer, a JSON Feed whose items hold markup is taken for an
    HTML page: where a kind stands in the registry decides what ``auto`` makes of a page."""
    sources = load_config(write_config(tmp_path, site), WITH_JSON_FEED).sources[1:]
    found = run(sources, tmp_path, KINDS.with_kind(JsonFeed()))
    assert found["sniffed"][0] == "article"
    assert not [url for url in found if url.startswith("http")], "no item was discovered"


def test_a_kind_is_registered_once() -> None:
    class AnotherFeed(JsonFeed):
        name = "feed"

    with pytest.raises(ValueError, match="source kind 'feed' is registered already"):
        KINDS.with_kind(AnotherFeed())
    with pytest.raises(ValueError, match="source kind 'jsonfeed' is registered already"):
        WITH_JSON_FEED.with_kind(JsonFeed())
