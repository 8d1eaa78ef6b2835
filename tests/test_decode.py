"""Charset decoding: BOM, header, meta/XML declaration, detection; UTF-7 refused; never a crash."""

from __future__ import annotations

import asyncio

import pytest
from faultserver import FaultServer, fetch_settings, fixed, response
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.clock import SystemClock
from contract.model import Fetch, Outcome
from scraper.decode import DecodeError, decode_html
from scraper.fetch import Fetcher
from scraper.pipeline import decode_page

RUSSIAN = "Привет, мир! Новости дня: всё спокойно."
GERMAN = "Größere Änderungen über Straßen"


def page(text: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"


def test_bom_wins_over_header_and_meta() -> None:
    body = b"\xef\xbb\xbf" + page(GERMAN, '<meta charset="windows-1252">').encode("utf-8")
    assert GERMAN in decode_html(body, "text/html; charset=iso-8859-1")


def test_utf16_bom() -> None:
    body = b"\xff\xfe" + page(RUSSIAN).encode("utf-16-le")
    assert RUSSIAN in decode_html(body, "text/html")


def test_header_wins_over_meta() -> None:
    body = page(RUSSIAN, '<meta charset="utf-8">').encode("windows-1251")
    assert RUSSIAN in decode_html(body, "text/html; charset=windows-1251")


def test_meta_when_header_has_no_charset() -> None:
    body = page(RUSSIAN, '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">')
    assert RUSSIAN in decode_html(body.encode("koi8-r"), "text/html")


def test_xml_declaration() -> None:
    body = f'<?xml version="1.0" encoding="ISO-8859-1"?><rss><title>{GERMAN}</title></rss>'
    assert GERMAN in decode_html(body.encode("latin-1"), "application/rss+xml")


def test_detection_when_nothing_is_declared() -> None:
    body = page(RUSSIAN * 20).encode("windows-1251")
    assert RUSSIAN in decode_html(body, None)


def test_undeclared_utf8_is_utf8() -> None:
    assert GERMAN in decode_html(page(GERMAN).encode("utf-8"), "text/html")


def test_invalid_utf8_becomes_replacement_characters() -> None:
    body = b"<p>ok \xff\xfe\xc3( broken</p>"
    text = decode_html(body, "text/html; charset=utf-8")
    assert text.startswith("<p>ok ") and "\ufffd" in text and text.endswith("broken</p>")


def test_nul_bytes_are_replaced() -> None:
    text = decode_html(b"<p>a\x00b</p>", "text/html; charset=utf-8")
    assert text == "<p>a\ufffdb</p>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (page("+ADw-script+AD4-", '<meta charset="utf-7">').encode(), "text/html"),
        (b"<p>+ADw-script+AD4-</p>", "text/html; charset=UTF-7"),
        (b"<p>x</p>", "text/html; charset=utf7"),
    ],
)
def test_utf7_is_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(DecodeError, match=r"^charset utf-?7 refused$"):
        decode_html(body, content_type)


def test_utf7_meta_under_a_declared_header_charset_is_not_refused() -> None:
    body = page(GERMAN, '<meta charset="utf-7">').encode("utf-8")
    assert GERMAN in decode_html(body, "text/html; charset=utf-8")


def test_unknown_declared_charset_falls_back() -> None:
    text = decode_html(page(GERMAN).encode("utf-8"), "text/html; charset=no-such-charset")
    assert GERMAN in text


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=2048),
    charset=st.sampled_from([None, "utf-8", "latin-1", "shift_jis", "utf-16", "bogus", "gb18030"]),
)
def test_never_raises_on_arbitrary_bytes(body: bytes, charset: str | None) -> None:
    content_type = f"text/html; charset={charset}" if charset else None
    try:
        text = decode_html(body, content_type)
    except DecodeError:
        return  # a refused charset is the only error allowed
    assert isinstance(text, str) and "\x00" not in text


# --- the same, end to end: served by the fault server, fetched, decoded as the daemon does ---


def fetch_and_decode(body: bytes, content_type: str | None) -> tuple[Fetch, str | None]:
    server = FaultServer()
    headers = {"Content-Type": content_type} if content_type else {}
    server.route("/page", fixed(response(200, body, headers)))

    async def go() -> Fetch:
        fetcher = Fetcher(fetch_settings(), SystemClock(), trusted_hosts={"127.0.0.1"})
        try:
            return await fetcher.fetch(server.url("/page"))
        finally:
            await fetcher.aclose()

    try:
        return decode_page(asyncio.run(go()))
    finally:
        server.stop()


def test_served_utf7_page_is_recorded_as_failed() -> None:
    fetched, text = fetch_and_decode(b"<html><p>+ADw-x</p></html>", "text/html; charset=utf-7")
    assert text is None and fetched.outcome_hint == Outcome.FAILED
    assert fetched.error is not None
    assert fetched.error.startswith("cannot decode http://127.0.0.1:")
    assert fetched.error.endswith(": charset utf-7 refused")


def test_served_conflicting_charsets_follow_the_header() -> None:
    body = page(RUSSIAN, '<meta charset="iso-8859-1">').encode("windows-1251")
    fetched, text = fetch_and_decode(body, "text/html; charset=windows-1251")
    assert fetched.outcome_hint is None and text is not None and RUSSIAN in text


def test_served_invalid_utf8_and_nul_bytes_decode() -> None:
    fetched, text = fetch_and_decode(
        b"<html><p>a\x00b \xff ok</p></html>", "text/html; charset=utf-8"
    )
    assert fetched.outcome_hint is None
    assert text == "<html><p>a\ufffdb \ufffd ok</p></html>"
