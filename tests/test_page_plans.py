"""The SQL of the pages a reader opens first never scans the history where it need not.

Each page is requested from a real ``archive serve`` with Datasette's SQL trace on
(``trace_debug``, ``?_trace=1``), so the statements explained are exactly those Datasette
ran for the table, its count and its facets; the plan needs no size, so the archive is
the small known one. A scan of a table that grows with history is allowed only where it
is the cheapest answer: an ordered scan that stops at the page's rows (LIMIT, no sort),
or a count over the narrowest covering index.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import datasette_archive as known
import pytest
from datasette_server import Server, archive_serve_command, free_port, running

from archive import datasette_plugin

DB = "news"
# Tables (and the aliases the views give them) that grow with history.
_HISTORY = {
    "articles", "a", "versions", "v", "fetches", "latest_versions", "l",
    "latest_articles", "recent_changes",
}  # fmt: skip
PAGES = (
    "latest_articles", "latest_articles?source=znews", "latest_articles?_search=Haushalt",
    "latest_articles?tags__arraycontains=Koalition",
    "recent_changes", "recent_changes?change=edited", "recent_changes?change=came+back",
    "recent_changes?source=zeitung",
    "failing_hosts", "failing_sources", "articles", "articles?_search=Haushalt",
)  # fmt: skip
# Pages that must not read a table at all, whatever the plan: the failure pages read the
# tallies archive.fetch_stats keeps, never the fetches (10^7 rows at a million articles).
_NEVER_READ = {"failing_hosts": {"fetches"}, "failing_sources": {"fetches"}}


# ANALYZE's statistics of the bench archive of a million articles (bench/archive_scale.py):
# the small archive is planned as that one is. Its few rows would make any plan look good
# (a filter on a rare change could walk the source index in the facet's order).
STATS_AT_A_MILLION = (
    ("article_tags", "article_tags", "2000000 41667 1"),
    ("articles", "articles_due_checked", "1000000 1"),
    ("articles", "articles_first_seen", "1000000 1"),
    ("articles", "articles_next_check_at", "1000000 1"),
    ("articles", "articles_source", "1000000 100"),
    ("articles", "sqlite_autoindex_articles_1", "1000000 1"),
    ("latest_versions", "latest_versions_language", "1000000 250000"),
    ("latest_versions", "latest_versions_section", "1000000 200000"),
    ("latest_versions", "latest_versions_site_name", "1000000 100"),
    ("latest_versions", "latest_versions_source", "1000000 100"),
    ("versions", "sqlite_autoindex_versions_1", "1270372 2 1"),
    ("versions", "versions_captured_at", "1270372 1"),
    ("versions", "versions_change", "270372 135186 1"),
    ("versions", "versions_changes", "270372 1"),
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> known.KnownArchive:
    built = known.build(tmp_path_factory.mktemp("plans") / f"{DB}.db")
    conn = sqlite3.connect(built.path)
    with conn:
        conn.execute("ANALYZE")
        conn.execute("DELETE FROM sqlite_stat1")
        conn.executemany(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", STATS_AT_A_MILLION
        )
    conn.close()
    return built


@pytest.fixture(scope="module")
def server(archive: known.KnownArchive) -> Iterator[Server]:
    port = free_port()
    command = archive_serve_command(
        archive.path, "--port", str(port), "--setting", "trace_debug", "1"
    )
    with running(command, port, archive.path.with_name("datasette.log")) as started:
        yield started


def _traced(server: Server, page: str) -> list[tuple[str, Any]]:
    joiner = "&" if "?" in page else "?"
    path = page.replace("?", ".json?", 1) if "?" in page else page + ".json"
    traces = server.json(f"/{DB}/{path}{joiner}_trace=1")["_trace"]["traces"]
    found = []
    for trace in traces:
        sql = trace.get("sql") or ""
        ours = trace.get("database") == DB and re.match(r"\s*(select|with)\b", sql, re.I)
        if ours and "sqlite_master" not in sql and "pragma" not in sql.lower():
            found.append((sql, trace.get("params") or []))
    return found


def _bad_steps(sql: str, plan: list[str], filtered: bool, partial: set[str]) -> list[str]:
    """Scans of history a page may not make. On a filtered page (a column's value in the
    query string) even an ordered scan that stops at the page is one: the rows it skips
    to find a rare value are the whole history."""
    lowered = sql.lower()
    bad = []
    for step in plan:
        # On a filtered page "col>?" is "col IS NOT NULL": every row, in the index's order.
        every_row = re.match(r"SEARCH (\w+) USING .*INDEX \w+ \(\w+>\?\)$", step)
        if filtered and every_row and every_row.group(1) in _HISTORY:
            bad.append(step)
            continue
        scan = re.match(r"SCAN (\w+)( USING (COVERING )?INDEX (\w+))?", step)
        if scan is None or scan.group(1) not in _HISTORY:
            continue
        stops_at_page = (
            " limit " in lowered and not any("TEMP B-TREE" in s for s in plan) and not filtered
        )
        # A count of every row of an index: a covering one, or a partial one of the rows.
        counts = lowered.lstrip().startswith("select count(*) from") and (
            scan.group(3) or scan.group(4) in partial
        )
        if not (stops_at_page or counts):
            bad.append(step)
    return bad


def _reads_every_match(sql: str) -> bool:
    """A statement that joins the history to every match of a search: a common word is most
    of the archive. Only a count of the index alone, or the newest matches up to a LIMIT."""
    lowered = " ".join(sql.lower().split())
    if " match " not in lowered or re.match(
        r"select count\(\*\) from \w+ where \w+ match", lowered
    ):
        return False
    return not re.search(r" match [^;]*? order by rowid desc limit \d+", lowered)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_reads_the_history_through_its_indexes(
    server: Server, archive: known.KnownArchive, page: str
) -> None:
    statements = _traced(server, page)
    assert any(sql.lower().startswith("select count(*)") for sql, _ in statements), statements
    filtered = "?" in page and not page.split("?", 1)[1].startswith("_")
    conn = sqlite3.connect(archive.path)
    conn.create_function("escape_fts", 1, lambda text: text)
    read: set[str] = set()

    def reads(action: int, table: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_READ and table is not None:
            read.add(table)
        return sqlite3.SQLITE_OK

    partial = _partial_indexes(conn)
    conn.set_authorizer(reads)  # every table a statement reads, through the views too
    bad = {}
    for sql, params in statements:
        plan = [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        if _bad_steps(sql, plan, filtered, partial) or _reads_every_match(sql):
            bad[sql] = plan
    conn.close()
    assert not bad, "\n".join(f"{s}\n    {p}" for s, p in bad.items())
    assert not read & _NEVER_READ.get(page, set()), sorted(read)


def test_the_search_page_reads_articles_through_the_index(archive: known.KnownArchive) -> None:
    conn = sqlite3.connect(archive.path)
    plan = [
        str(row[3])
        for sql, params in (
            (datasette_plugin._SEARCH_BEST_SQL, {"query": "Haushalt", "window": 2000, "limit": 50}),
            (
                datasette_plugin._SEARCH_SQL,
                {"start": "[", "end": "]", "query": "Haushalt", "id": 1},
            ),
        )
        for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)
    ]
    conn.close()
    assert not [s for s in plan if re.match(r"SCAN (articles|a|latest_versions)\b", s)], plan


# Each canned query, and the index its newest (or most) rows come from first, in its order.
CANNED = {
    "changed_today": "versions_changes",
    "most_edited": "articles_changes",
    "disappeared": "versions_gone",
    "fetch_errors_by_host": "fetches_failures",
}


def _partial_indexes(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql NOT NULL")
    return {name for name, sql in rows if " where " in " ".join(sql.lower().split())}


@pytest.mark.parametrize("query", CANNED)
def test_a_canned_query_reads_only_the_rows_it_shows(
    server: Server, archive: known.KnownArchive, query: str
) -> None:
    """The canned queries of the database page read the history only through an index of the
    rows they show (the failed fetches of the days asked, the edited or gone articles, the
    changes of today), never every fetch of a week (780,000 at a million articles) or
    every article."""
    traces = server.json(f"/{DB}/{query}.json?_trace=1")["_trace"]["traces"]
    statements = [
        (t["sql"], t.get("params") or {})
        for t in traces
        if t.get("database") == DB
        and re.search(r"\bfrom (articles|versions|fetches)\b", t.get("sql") or "")
    ]
    assert statements, traces
    conn = sqlite3.connect(archive.path)
    partial = _partial_indexes(conn)
    bad = {}
    for sql, params in statements:
        plan = [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        for step in plan:
            scan = re.match(r"SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", step)
            if scan and scan.group(1) in _HISTORY | {"f", "g"} and scan.group(2) not in partial:
                bad[sql] = plan
        first = next(s for s in plan if re.match(r"(SCAN|SEARCH) (\w+) ", s))
        if f"INDEX {CANNED[query]}" not in first:
            bad[sql] = plan
    conn.close()
    assert not bad, "\n".join(f"{s}\n    {p}" for s, p in bad.items())
