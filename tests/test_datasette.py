"""A real Datasette started by ``archive serve`` on 127.0.0.1, on an archive the store wrote."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import datasette_archive as known
import feedparser
import pytest
from archive_helpers import FakeClock
from datasette_server import Server, archive_serve_command, free_port, running

from archive.store import Archive
from contract.clock import iso
from contract.model import Article, Fetch

DB = "news"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> known.KnownArchive:
    return known.build(tmp_path_factory.mktemp("served") / f"{DB}.db")


@pytest.fixture(scope="module")
def server(archive: known.KnownArchive) -> Iterator[Server]:
    port = free_port()
    log = archive.path.with_name("datasette.log")
    command = archive_serve_command(archive.path, "--host", "127.0.0.1", "--port", str(port))
    with running(command, port, log) as started:
        yield started


def search(server: Server, table: str, words: str) -> list[int]:
    query = urlencode({"_search": words, "_shape": "array"})
    key = "article_id" if table == "latest_articles" else "id"
    return sorted(row[key] for row in server.json(f"/{DB}/{table}.json?{query}"))


# -- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["Müller", "Muller", "Mueller", "MÜLLER", "Straßen", "strassen", "Verfassungsklage"],
)
def test_search_finds_the_german_article_however_the_umlaut_is_typed(
    server: Server, archive: known.KnownArchive, typed: str
) -> None:
    assert search(server, "latest_articles", typed) == [archive.german_id]
    assert search(server, "articles", typed) == [archive.german_id]


@pytest.mark.parametrize(
    "typed", ["người", "nguoi", "đồng", "dong", "Cửu Long", "cuu long", "mặn", "man"]
)
def test_search_finds_the_vietnamese_article_with_and_without_diacritics(
    server: Server, archive: known.KnownArchive, typed: str
) -> None:
    assert search(server, "latest_articles", typed) == [archive.vietnamese_id]


def test_search_of_latest_text_forgets_deleted_words_but_all_versions_keep_them(
    server: Server, archive: known.KnownArchive
) -> None:
    assert search(server, "latest_articles", "Mittwoch") == []
    old_versions = server.json(f"/{DB}/versions.json?_search=Mittwoch&_shape=array")
    assert [(v["article_id"], v["version"]) for v in old_versions] == [(archive.german_id, 1)]


def test_tables_and_views_offer_the_search_box(server: Server) -> None:
    for table in ("articles", "latest_articles", "versions"):
        page = server.text(f"/{DB}/{table}")
        assert 'name="_search"' in page, table


# -- facets, metadata, views ----------------------------------------------------------------


def test_configured_facets_return_counts(server: Server) -> None:
    data = server.json(f"/{DB}/latest_articles.json?_shape=objects")
    facets = data["facet_results"]
    languages = {v["value"]: v["count"] for v in facets["language"]["results"]}
    assert languages == {"en": 2, "de": 1, "vi": 1}
    tags = {v["value"]: v["count"] for v in facets["tags"]["results"]}
    assert tags["Haushalt"] == 1 and tags["Cửu Long"] == 1
    assert facets["tags"]["type"] == "array"
    sources = {v["value"]: v["count"] for v in facets["source"]["results"]}
    assert sources == {"znews": 2, "zeitung": 1, "blog": 1}
    changes = server.json(f"/{DB}/recent_changes.json")["facet_results"]["change"]["results"]
    assert {v["value"]: v["count"] for v in changes} == {"edited": 3, "disappeared": 1}


def test_a_date_facet_counts_captures_per_day(server: Server) -> None:
    data = server.json(f"/{DB}/versions.json")
    days = data["facet_results"]["captured_at"]["results"]
    assert sum(day["count"] for day in days) == 8


def test_every_table_view_and_column_is_described(
    server: Server, archive: known.KnownArchive
) -> None:
    metadata = server.json("/-/metadata.json")
    assert metadata["title"] and metadata["license"] and metadata["source"]
    home = server.text("/")
    assert f'href="/{DB}/latest_articles"' in home and 'href="/-/changes.atom"' in home
    described = metadata["databases"][DB]["tables"]
    conn = sqlite3.connect(archive.path)
    try:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                " AND name NOT LIKE '%_fts%' AND name NOT LIKE 'sqlite_%'"
                " AND name NOT IN ('versions_search', 'articles_search')"
            )
        ]
        missing = []
        for name in names:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({name})")]
            if name not in described or not described[name].get("description"):
                missing.append(name)
                continue
            described_columns = described[name].get("columns", {})
            missing += [f"{name}.{c}" for c in columns if not described_columns.get(c)]
    finally:
        conn.close()
    assert missing == []


def test_latest_articles_lists_one_row_per_article_newest_first_with_current_text(
    server: Server, archive: known.KnownArchive
) -> None:
    rows = server.json(f"/{DB}/latest_articles.json?_shape=array")
    assert [r["article_id"] for r in rows] == [
        archive.gone_id, archive.script_id, archive.vietnamese_id, archive.german_id
    ]  # fmt: skip
    german = next(r for r in rows if r["article_id"] == archive.german_id)
    assert german["text"] == "\n\n".join(known.GERMAN_V2)
    gone = next(r for r in rows if r["article_id"] == archive.gone_id)
    assert gone["state"] == "gone" and "taken down" in gone["text"]


def test_article_history_and_failing_views(server: Server, archive: known.KnownArchive) -> None:
    history = server.json(
        f"/{DB}/article_history.json?" + urlencode({"url": known.GERMAN_URL, "_shape": "array"})
    )
    assert [(h["version"], h["state"]) for h in history] == [(1, "live"), (2, "live")]
    assert history[1]["summary"] == "text, tags: +7 -1 words"
    sources = server.json(f"/{DB}/failing_sources.json?_shape=array")
    assert [(s["source"], s["failures_7d"]) for s in sources] == [("down", 3)]
    hosts = server.json(f"/{DB}/failing_hosts.json?_shape=array")
    assert [(h["host"], h["failures_7d"], h["last_error"]) for h in hosts] == [
        ("down.example", 3, "connect timeout after 10.0 s")
    ]


# -- canned queries ---------------------------------------------------------------------------


def test_canned_query_what_changed_today(server: Server, archive: known.KnownArchive) -> None:
    rows = server.json(f"/{DB}/changed_today.json?_shape=array")
    assert sorted((r["article_id"], r["version"]) for r in rows) == sorted(
        [
            (archive.german_id, 2),
            (archive.script_id, 2),
            (archive.script_id, 3),
            (archive.gone_id, 2),
        ]
    )


def test_canned_query_most_edited(server: Server, archive: known.KnownArchive) -> None:
    rows = server.json(f"/{DB}/most_edited.json?_shape=array")
    assert {r["article_id"]: r["edits"] for r in rows} == {
        archive.german_id: 1,
        archive.script_id: 2,
    }


def test_canned_query_disappeared(server: Server, archive: known.KnownArchive) -> None:
    rows = server.json(f"/{DB}/disappeared.json?_shape=array")
    assert sorted((r["article_id"], r["how"]) for r in rows) == [
        (archive.gone_id, "gone (HTTP 404)"),
        (archive.pulled_id, "never seen live (HTTP 410)"),
    ]


@pytest.mark.parametrize("days", ["", "1", "30"])
def test_canned_query_fetch_errors_by_host(server: Server, days: str) -> None:
    rows = server.json(f"/{DB}/fetch_errors_by_host.json?_shape=array&days={days}")
    assert [(r["host"], r["outcome"], r["fetches"]) for r in rows] == [
        ("down.example", "failed", 3)
    ]


def test_the_database_page_lists_every_canned_query(server: Server) -> None:
    page = server.text(f"/{DB}")
    for title in (
        "What changed today",
        "Most edited articles",
        "Articles that disappeared",
        "Fetch errors by host",
    ):
        assert title in page


# -- the plugin ----------------------------------------------------------------------------------


def test_plugin_is_registered(server: Server) -> None:
    plugins = {p["name"]: p for p in server.json("/-/plugins.json")}
    assert {"register_routes", "render_cell"} <= set(plugins["newsarchive"]["hooks"])


def test_article_page_marks_the_deleted_and_inserted_words_of_the_edit(
    server: Server, archive: known.KnownArchive
) -> None:
    page = server.text(f"/-/article/{archive.german_id}")
    deleted = re.findall(r"<del>(.*?)</del>", page)
    inserted = re.findall(r"<ins>(.*?)</ins>", page)
    assert "Mittwoch" in deleted
    assert "Donnerstag" in inserted
    assert "Die Opposition kündigte eine Verfassungsklage an." in inserted
    assert "Changes from version 1 to version 2" in page
    # Metadata edits are listed beside the text: here the tags gained "Opposition".
    assert "<del>Haushalt, Koalition</del>" in page
    assert "<ins>Haushalt, Koalition, Opposition</ins>" in page


def test_any_two_versions_can_be_compared(server: Server, archive: known.KnownArchive) -> None:
    backwards = server.text(f"/-/article/{archive.german_id}?from=2&to=1")
    assert "<del>Donnerstag</del>" in backwards and "<ins>Mittwoch</ins>" in backwards
    alone = server.text(f"/-/article/{archive.german_id}?to=1")
    assert "<del>" not in alone.split('class="article-diff"')[1].split("</div>")[0]
    status, body, _ = server.get(f"/-/article/{archive.german_id}?to=9")
    assert status == 404 and "no such version" in body


def test_article_page_is_found_by_url(server: Server, archive: known.KnownArchive) -> None:
    page = server.text("/-/article?url=" + quote(known.GERMAN_URL, safe=""))
    assert "<del>Mittwoch</del>" in page
    status, _, _ = server.get("/-/article?url=" + quote("https://nowhere.example/", safe=""))
    assert status == 404


def test_version_numbers_in_tables_link_to_the_article_page(
    server: Server, archive: known.KnownArchive
) -> None:
    page = server.text(f"/{DB}/versions")
    assert f'href="/-/article/{archive.german_id}?db={DB}&amp;to=2"' in page
    changes = server.text(f"/{DB}/recent_changes")
    assert f'href="/-/article/{archive.german_id}?db={DB}&amp;to=2"' in changes


def test_atom_feed_of_recent_changes_parses(server: Server, archive: known.KnownArchive) -> None:
    status, body, headers = server.get("/-/changes.atom")
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [entry.title for entry in feed.entries]
    assert titles[0] == "disappeared: A story that vanished"
    german = next(e for e in feed.entries if e.title == "edited: Einigung im Haushaltsstreit")
    assert german.link == f"{server.base}/-/article/{archive.german_id}?db={DB}&to=2"
    assert "<del>Mittwoch</del>" in german.content[0].value
    assert "<ins>Donnerstag</ins>" in german.content[0].value


# -- stored markup stays text ---------------------------------------------------------------------


def test_script_in_an_article_is_shown_as_text_on_every_page(
    server: Server, archive: known.KnownArchive
) -> None:
    pages = {
        "article": server.text(f"/-/article/{archive.script_id}?from=1&to=2"),
        "table": server.text(f"/{DB}/latest_articles?_search=attacker"),
        "row": server.text(f"/{DB}/versions/{_version_id(archive, archive.script_id, 1)}"),
        "history": server.text(f"/{DB}/recent_changes"),
    }
    for name, page in pages.items():
        assert "archived-xss" in page or "title-xss" in page, name
        assert '<script>alert("archived-xss")' not in page, name
        assert "<script>alert('title-xss')" not in page, name
        assert "<img src=x" not in page, name
    assert "&lt;script&gt;alert(" in pages["article"]
    assert "<ins>Update: &lt;script&gt;document.title=" in pages["article"]


def test_script_in_an_article_is_escaped_in_the_feed(
    server: Server, archive: known.KnownArchive
) -> None:
    feed = feedparser.parse(server.text("/-/changes.atom"))
    scripted = next(e for e in feed.entries if "Markup" in e.title)
    html = scripted.content[0].value
    assert "&lt;script&gt;document.title=" in html
    assert "<script" not in html


def _version_id(archive: known.KnownArchive, article_id: int, version: int) -> int:
    conn = sqlite3.connect(archive.path)
    try:
        row = conn.execute(
            "SELECT id FROM versions WHERE article_id = ? AND version = ?", (article_id, version)
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


# -- live file ---------------------------------------------------------------------------------


def test_archive_serve_answers_json_for_articles_the_daemon_writes_meanwhile(
    tmp_path: Path,
) -> None:
    archive = known.build(tmp_path / "live.db")
    port = free_port()
    command = archive_serve_command(archive.path, "--port", str(port), "--host", "127.0.0.1")
    with running(command, port, tmp_path / "serve.log") as server:
        urls = [r["url"] for r in server.json("/live/articles.json?_shape=array&_col=url")]
        assert known.GERMAN_URL in urls and len(urls) == 5
        # The daemon keeps writing while Datasette serves the same file.
        clock = FakeClock(current=archive.first_capture + timedelta(hours=2))
        late = "https://www.zeitung.example/politik/2026/spaeter.html"
        with Archive.open(archive.path, clock) as writer:
            writer.record(
                Fetch(url=late, started_at=iso(clock.now()), status=200, body=b"<p>x</p>"),
                Article(paragraphs=("Ein später Bericht über Brücken.",), title="Später"),
            )
        rows = server.json("/live/articles.json?_shape=array&_col=url&_col=title")
        assert ("Später", late) in [(r["title"], r["url"]) for r in rows]
        found = server.json("/live/latest_articles.json?_search=bruecken&_shape=array")
        assert [r["url"] for r in found] == [late]


def test_archive_serve_refuses_immutable_mode(tmp_path: Path) -> None:
    import subprocess

    archive = known.build(tmp_path / "live.db")
    result = subprocess.run(
        archive_serve_command(archive.path, "-i", str(archive.path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "-i: not allowed" in result.stderr


def test_archive_serve_names_a_missing_file(tmp_path: Path) -> None:
    import subprocess

    missing = tmp_path / "nothing.db"
    result = subprocess.run(
        archive_serve_command(missing), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert f"{missing}: no archive here" in result.stderr
    assert not missing.exists()


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_users_own_metadata_goes_over_the_projects_instead_of_replacing_it(
    tmp_path: Path, suffix: str
) -> None:
    archive = known.build(tmp_path / "desk.db")
    own = {
        "title": "Newsroom archive",
        "databases": {"desk": {"tables": {"articles": {"description": "Our own words"}}}},
    }
    path = tmp_path / f"own{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(own), encoding="utf-8")
    else:
        path.write_text(
            "title: Newsroom archive\n"
            "databases:\n  desk:\n    tables:\n      articles:\n"
            "        description: Our own words\n",
            encoding="utf-8",
        )
    port = free_port()
    command = archive_serve_command(
        archive.path, "--metadata", str(path), "--host", "127.0.0.1", "--port", str(port)
    )
    with running(command, port, tmp_path / "serve.log") as server:
        metadata = server.json("/-/metadata.json")
        tables = metadata["databases"]["desk"]["tables"]
        assert metadata["title"] == "Newsroom archive"
        assert tables["articles"]["description"] == "Our own words"
        # The project's own descriptions, views and queries are still there.
        assert tables["articles"]["columns"]["url"]
        assert tables["latest_articles"]["description"]
        assert "changed_today" in metadata["databases"]["desk"]["queries"]
        assert "Newsroom archive" in server.text("/")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.json", '{"title": "unfinished"', "not valid JSON (line 1"),
        ("broken.yaml", "title: [unclosed\n", "not valid YAML (line 2"),
        ("list.json", "[1, 2]", "metadata must be an object of keys, not list"),
        ("missing.json", None, "cannot read this metadata file"),
    ],
)
def test_a_broken_metadata_file_is_named_with_the_reason(
    tmp_path: Path, name: str, content: str | None, reason: str
) -> None:
    import subprocess

    archive = known.build(tmp_path / "desk.db")
    broken = tmp_path / name
    if content is not None:
        broken.write_text(content, encoding="utf-8")
    result = subprocess.run(
        archive_serve_command(archive.path, f"--metadata={broken}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{broken}: {reason}" in result.stderr


def test_metadata_json_is_valid_and_keyed_by_the_served_file() -> None:
    from archive.serve import metadata_for

    metadata = metadata_for(Path("/data/my-news.db"))
    assert list(metadata["databases"]) == ["my-news"]
    assert json.dumps(metadata)


def test_plugin_loads_from_plugins_dir_without_the_entry_point(tmp_path: Path) -> None:
    """A source checkout without the installed entry point: ``--plugins-dir`` loads it."""
    import sys

    from archive.serve import PLUGINS_DIR, metadata_for

    archive = known.build(tmp_path / "checkout.db")
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps(metadata_for(archive.path)), encoding="utf-8")
    port = free_port()
    # Datasette skips entry points when sys._called_from_test is set (its own test switch).
    no_entry_points = (
        "import sys; sys._called_from_test = True; "
        "from datasette.cli import cli; cli(prog_name='datasette')"
    )
    command = [
        sys.executable, "-c", no_entry_points, "serve", str(archive.path),
        "--metadata", str(metadata), "--plugins-dir", str(PLUGINS_DIR),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with running(command, port, tmp_path / "serve.log") as server:
        plugins = server.json("/-/plugins.json")
        assert [p["name"] for p in plugins] == ["newsarchive.py"]
        # Every hook of the installed plugin, the search window and tag filter included.
        assert set(plugins[0]["hooks"]) == set(entry_point_hooks())
        assert "<del>Mittwoch</del>" in server.text(f"/-/article/{archive.german_id}")


def entry_point_hooks() -> list[str]:
    """The hook names the installed plugin implements, as Datasette lists them."""
    from archive import datasette_plugin

    implementations = datasette_plugin.hook_implementations().items()
    return [f.datasette_impl.get("specname") or n for n, f in implementations]


def test_archive_serve_passes_plugins_dir_and_settings_to_datasette(tmp_path: Path) -> None:
    archive = known.build(tmp_path / "extra.db")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "hello.py").write_text(
        "from datasette import hookimpl\n"
        "from datasette.utils.asgi import Response\n\n"
        "async def hello(request):\n"
        "    return Response.text('hello from an extra plugin')\n\n"
        "@hookimpl\n"
        "def register_routes():\n"
        "    return [(r'^/-/hello$', hello)]\n",
        encoding="utf-8",
    )
    port = free_port()
    command = archive_serve_command(
        archive.path, "--plugins-dir", str(plugins), "--setting", "default_page_size", "2",
        "--host", "127.0.0.1", "--port", str(port),
    )  # fmt: skip
    with running(command, port, tmp_path / "serve.log") as server:
        assert server.text("/-/hello") == "hello from an extra plugin"
        assert server.json("/-/settings.json")["default_page_size"] == 2
        assert len(server.json("/extra/articles.json?_shape=array")) == 2
        # The archive's own plugin still works beside it.
        assert "<del>Mittwoch</del>" in server.text(f"/-/article/{archive.german_id}")


def test_the_page_of_a_disappeared_version_says_so_and_strikes_the_text(
    server: Server, archive: known.KnownArchive
) -> None:
    page = server.text(f"/-/article/{archive.gone_id}?from=1&to=2")
    assert "The publisher removed this article in version 2." in page
    assert "<del>This story will be taken down by its publisher.</del>" in page
    # By default the page shows the last readable text rather than the empty marker.
    default = server.text(f"/-/article/{archive.gone_id}")
    assert "Version 1" in default and "removed this article" not in default


@pytest.mark.parametrize(
    "path",
    [
        "/-/article/999",
        "/-/article/1?db=nosuchdb",
        "/-/article?url=",
        "/-/changes.atom?db=x",
        "/-/changes.atom?article=999",
    ],
)
def test_unknown_articles_and_databases_are_404(server: Server, path: str) -> None:
    status, _, _ = server.get(path)
    assert status == 404


def test_stopping_archive_serve_stops_datasette(tmp_path: Path) -> None:
    import signal
    import time

    archive = known.build(tmp_path / "stop.db")
    port = free_port()
    command = archive_serve_command(archive.path, "--host", "127.0.0.1", "--port", str(port))
    with running(command, port, tmp_path / "serve.log") as server:
        children_file = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
        if not children_file.exists():
            pytest.skip("needs Linux /proc to find the Datasette child process")
        children = [int(pid) for pid in children_file.read_text().split()]
        assert len(children) == 1
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
        deadline = time.monotonic() + 5
        while Path(f"/proc/{children[0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{children[0]}").exists(), "datasette outlived archive serve"


def test_the_feed_narrows_to_one_article_or_one_source(
    server: Server, archive: known.KnownArchive
) -> None:
    one = feedparser.parse(server.text(f"/-/changes.atom?article={archive.german_id}"))
    assert [e.title for e in one.entries] == ["edited: Einigung im Haushaltsstreit"]
    znews = feedparser.parse(server.text("/-/changes.atom?source=znews"))
    assert [e.title for e in znews.entries] == ["disappeared: A story that vanished"]
    page = server.text(f"/-/article/{archive.german_id}")
    assert f'href="/-/changes.atom?db={DB}&amp;article={archive.german_id}"' in page


def test_archive_serve_get_answers_one_json_query_without_a_server(
    archive: known.KnownArchive,
) -> None:
    import subprocess

    path = f"/{DB}/latest_articles.json?_search=dong&_shape=array&_col=title"
    result = subprocess.run(
        archive_serve_command(archive.path, "--get", path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"title": "Miền Tây chờ mưa"}]


def test_addresses_typed_into_the_plugin_pages_are_escaped_in_errors(server: Server) -> None:
    script = quote("<script>alert(1)</script>", safe="")
    for path in (f"/-/article/1?db={script}", f"/-/article?url={script}"):
        status, body, _ = server.get(path)
        assert status == 404
        assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body


# -- what happened to an article, in words ----------------------------------------------------


def _visible(page: str) -> str:
    """The page's text without its head, scripts and tags (what a reader sees, roughly)."""
    body = page.split("<body", 1)[1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_an_article_gone_at_first_sight_has_a_page_that_says_what_happened(
    server: Server, archive: known.KnownArchive
) -> None:
    status, page, _ = server.get(f"/-/article/{archive.pulled_id}")
    assert status == 200, page[:300]
    text = _visible(page)
    assert "Removed by the publisher (HTTP 410) at" in text
    assert "Never seen live" in text
    assert re.search(r'class="removed-banner".*<time datetime="\d{4}-\d\d-\d\dT[^"]+Z"', page)
    assert "None" not in text and "(no title)" not in text


def test_a_takedown_is_announced_above_the_text_without_none(
    server: Server, archive: known.KnownArchive
) -> None:
    for query in ("?from=1&to=2", ""):
        page = server.text(f"/-/article/{archive.gone_id}{query}")
        text = _visible(page)
        assert "Removed by the publisher (HTTP 404) at" in text, query
        assert text.index("Removed by the publisher") < text.index("This story will be taken down")
        assert "None" not in text and "(no title)" not in text, query
        assert "A story that vanished" in page.split("<h1>", 1)[1].split("</h1>", 1)[0]


def test_comparing_versions_far_apart_summarises_the_combined_change(
    server: Server, archive: known.KnownArchive
) -> None:
    own = {v: _visible(server.text(f"/-/article/{archive.script_id}?to={v}")) for v in (2, 3)}
    combined = _visible(server.text(f"/-/article/{archive.script_id}?from=1&to=3"))
    added_2 = len(known.SCRIPT_TEXT_V2[-1].split())
    added_3 = len(known.SCRIPT_TEXT_V3[-1].split())
    assert f"text: +{added_3} -0 words" in own[3]
    assert f"version 1 → 3: text: +{added_2 + added_3} -0 words" in combined
