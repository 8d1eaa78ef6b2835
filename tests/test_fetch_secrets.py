"""Secret headers: sent to the source's host only, dropped on a cross-host redirect, masked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from faultserver import FaultServer, MapResolver, fetch_settings, fixed, html, response

from contract.clock import SystemClock
from contract.model import Fetch, Outcome
from scraper.config import Source
from scraper.fetch import Fetcher
from scraper.schedule import Schedule
from scraper.secrets import SecretError, SecretStore, mask_headers, read_secrets_file

PAGE = b"<html><body><p>members only</p></body></html>"


def source(url: str, **kw: Any) -> Source:
    return Source("paywalled", url, "article", Schedule(every=60), **kw)


def fetch_with(url: str, src: Source, store: SecretStore, **settings: Any) -> Fetch:
    resolver = MapResolver({"news.test": ["127.0.0.1"], "cdn.test": ["127.0.0.2"]})

    async def go() -> Fetch:
        fetcher = Fetcher(
            fetch_settings(**settings),
            SystemClock(),
            trusted_hosts={"news.test", "cdn.test"},
            resolver=resolver,
            secrets=store,
        )
        try:
            return await fetcher.fetch(url, source=src)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_env_secret_is_sent_and_masked_in_the_record() -> None:
    server = FaultServer()
    try:
        server.route("/a", html(PAGE, extra={"Set-Cookie": "session=s3cr3t; HttpOnly"}))
        url = f"http://news.test:{server.port}/a"
        src = source(url, secret_headers=(("X-Api-Key", "NEWS_KEY"), ("Cookie", "NEWS_COOKIE")))
        store = SecretStore(environ={"NEWS_KEY": "key-123", "NEWS_COOKIE": "sid=abc"})
        result = fetch_with(url, src, store)
        assert result.outcome_hint is None
        sent = server.records[0].request.headers
        assert sent["x-api-key"] == "key-123" and sent["cookie"] == "sid=abc"
        assert ("set-cookie", "***") in result.headers
        assert "s3cr3t" not in repr(result)
    finally:
        server.stop()


def test_secrets_are_dropped_on_a_redirect_to_another_host() -> None:
    home, cdn = FaultServer(), FaultServer(host="127.0.0.2")
    try:
        cdn.route("/b", html(PAGE))
        home.route(
            "/a",
            fixed(response(302, b"", {"Location": f"http://cdn.test:{cdn.port}/b"}), keep=True),
        )
        url = f"http://news.test:{home.port}/a"
        src = source(url, secret_headers=(("Authorization", "NEWS_TOKEN"),))
        result = fetch_with(url, src, SecretStore(environ={"NEWS_TOKEN": "Bearer t0ken"}))
        assert result.outcome_hint is None
        assert home.records[0].request.headers["authorization"] == "Bearer t0ken"
        assert "authorization" not in cdn.records[0].request.headers
    finally:
        home.stop()
        cdn.stop()


def test_missing_environment_variable_is_a_clear_failure() -> None:
    src = source("http://news.test/a", secret_headers=(("Cookie", "NOT_SET_ANYWHERE"),))
    result = fetch_with("http://news.test:1/a", src, SecretStore(environ={}))
    assert result.outcome_hint == Outcome.FAILED
    assert result.error == (
        "source paywalled: header Cookie needs environment variable NOT_SET_ANYWHERE, "
        "which is not set"
    )


def test_secrets_file_headers_and_cookies(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(
        '[sources.paywalled.headers]\nX-Token = "tok"\n'
        '[sources.paywalled.cookies]\nsid = "abc"\nlang = "de"\n',
        encoding="utf-8",
    )
    server = FaultServer()
    try:
        server.route("/a", html(PAGE))
        url = f"http://news.test:{server.port}/a"
        result = fetch_with(
            url, source(url), SecretStore.from_settings(fetch_settings(secrets_file=path))
        )
        assert result.outcome_hint is None
        sent = server.records[0].request.headers
        assert sent["x-token"] == "tok" and sent["cookie"] == "sid=abc; lang=de"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources = 3", "sources: expected tables like [sources.NAME.headers]"),
        ("[sources.x.headers]\nA = 1", "sources.x.headers: expected a table of names to string"),
        (
            "[sources.x.tokens]\nA = 'b'",
            "sources.x.tokens: unknown key; expected headers or cookies",
        ),
        ("[sources.x", "not valid TOML"),
    ],
)
def test_bad_secrets_file_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SecretError) as caught:
        read_secrets_file(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_masking() -> None:
    masked = mask_headers(
        [("Cookie", "sid=1"), ("X-Api-Key", "k"), ("Content-Type", "text/html")], {"x-api-key"}
    )
    assert masked == (("Cookie", "***"), ("X-Api-Key", "***"), ("Content-Type", "text/html"))
    store = SecretStore({"s": (("X", "hunter2"),)}, environ={"E": "env-hunter3"})
    assert "hunter" not in repr(store) and "hunter" not in str(store)


def test_secrets_are_dropped_when_only_the_port_changes() -> None:
    home, other = FaultServer(), FaultServer()
    try:
        other.route("/b", html(PAGE))
        home.route(
            "/a",
            fixed(response(302, b"", {"Location": f"http://news.test:{other.port}/b"}), keep=True),
        )
        url = f"http://news.test:{home.port}/a"
        src = source(url, secret_headers=(("Cookie", "NEWS_COOKIE"),))
        result = fetch_with(url, src, SecretStore(environ={"NEWS_COOKIE": "sid=1"}))
        assert result.outcome_hint is None
        assert home.records[0].request.headers["cookie"] == "sid=1"
        assert "cookie" not in other.records[0].request.headers
    finally:
        home.stop()
        other.stop()
