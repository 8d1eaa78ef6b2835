"""The cluster's queue on a real PostgreSQL: one waiting fetch per URL, the host gap kept
in the database, and results that travel with their bodies compressed."""

from __future__ import annotations

import asyncio
import json

import pytest

from archive.compress import BodyCodec
from contract.model import Article, Fetch, Image, Outcome
from scraper.cluster.payload import LEVEL, Result, pack_result, unpack_result
from scraper.cluster.queue import FetchJob, Queue, QueueError
from scraper.config import ClusterSettings

URL = "http://127.0.0.1:9/a/1"


def test_one_waiting_fetch_per_url(postgres_url: str) -> None:
    async def scenario() -> tuple[bool, bool, bool, int]:
        async with Queue(ClusterSettings(database=postgres_url)) as queue:
            first = await queue.defer_fetch({"url": URL}, url=URL, host="127.0.0.1")
            again = await queue.defer_fetch({"url": URL}, url=URL, host="127.0.0.1")
            other = await queue.defer_fetch({"url": URL + "x"}, url=URL + "x", host="127.0.0.1")
            return first, again, other, await queue.waiting()

    assert asyncio.run(scenario()) == (True, False, True, 2)


def test_fetches_queued_together_skip_only_the_url_that_waits_already(postgres_url: str) -> None:
    urls = [f"{URL}{n}" for n in range(4)]

    async def scenario() -> tuple[int, int, int, int]:
        async with Queue(ClusterSettings(database=postgres_url)) as queue:
            await queue.defer_fetch({"url": urls[1]}, url=urls[1], host="127.0.0.1")
            jobs = [FetchJob({"url": url}, url, "127.0.0.1") for url in urls]
            mixed = await queue.defer_fetches(jobs)  # urls[1] waits already
            fresh = [FetchJob({"url": url + "/new"}, url + "/new", "127.0.0.1") for url in urls]
            together = await queue.defer_fetches(fresh)
            return mixed, together, await queue.defer_fetches([]), await queue.waiting()

    assert asyncio.run(scenario()) == (3, 4, 0, 1 + 3 + 4)


def test_the_host_gap_holds_across_queues(postgres_url: str) -> None:
    """Two processes' queues on one database: the second sees the gap the first set."""

    async def scenario() -> tuple[float, float, float]:
        settings = ClusterSettings(database=postgres_url)
        async with Queue(settings) as one, Queue(settings) as two:
            before = await two.host_wait("news.example")
            await one.host_done("news.example", 2.0)
            during = await two.host_wait("news.example")
            other = await two.host_wait("other.example")
            return before, during, other

    before, during, other = asyncio.run(scenario())
    assert before == 0.0 and other == 0.0
    assert 1.5 < during <= 2.0


def test_a_database_that_cannot_be_reached_is_one_clear_error() -> None:
    async def scenario() -> None:
        settings = ClusterSettings(database="postgresql://u:hunter2@127.0.0.1:9/x")
        async with Queue(settings, connect_wait=1.0):
            pass

    with pytest.raises(QueueError) as refused:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    assert "cannot use the cluster database" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_fetches_and_articles_travel_whole_with_bodies_compressed() -> None:
    body = ("<p>" + "The harbour at dawn. " * 4000 + "</p>").encode()
    fetch = Fetch(
        URL, "2026-12-06T10:00:00Z", Outcome.NOT_MODIFIED, status=304, body=body,
        headers=(("ETag", '"x"'), ("Vary", "a")), etag='"x"', source="news",
    )  # fmt: skip
    rendered = Fetch(
        URL + "/r", "2026-12-06T10:00:01Z", status=200, body=b"<p>DOM \xff</p>", via="render",
        original_body=b"\x00raw\"'",
    )  # fmt: skip
    failed = Fetch(URL + "/f", "2026-12-06T10:00:02Z", Outcome.FAILED, error="refused")
    article = Article(
        title="Harbour", paragraphs=("One.", "Two."), byline=("Jane",), tags=("sea",),
        images=(Image(src="/i.jpg", caption="Dawn", credit="Daily"),), comment_count=3,
        extractor_version="v1",
    )  # fmt: skip
    result = Result(((fetch, article), (rendered, None), (failed, None)), ("/a", "/b"), "late")
    codec = BodyCodec(LEVEL)
    # Through JSON, as the job's arguments are kept.
    packed = json.loads(json.dumps({"result": pack_result(result, codec)}))["result"]
    assert unpack_result(packed, codec) == result
    assert len(packed) < len(body) / 10  # compressed, even as base64
    assert unpack_result(pack_result(Result(()), codec), codec) == Result(())
