"""The archive's tables, and the migrations that bring any older file up to date.

The table names are part of the user interface: the README and the Datasette
pages name them. Times are ISO-8601 UTC text (``contract.clock.iso``), so they
sort as text and Datasette shows them as they are. Lists (byline, tags,
images, changed fields) are JSON arrays so Datasette's array facets work.

The schema version lives in ``PRAGMA user_version``; each migration moves it
up by one inside the caller's transaction, so a crash mid-migration leaves
the file at the previous version.

Hook point for the Datasette layer: :func:`ensure` also calls
``archive.search.install(conn)``, ``archive.views.install(conn)`` and
``archive.health.install(conn)`` (an index of the fetches health counts) when
those modules exist. They receive the same open ``sqlite3.Connection`` inside
the same write transaction and must be idempotent (``IF NOT EXISTS``).
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Callable

from archive import (
    article_tags,
    change_source,
    columns,
    facet_counts,
    fetch_stats,
    latest,
    received,
)

# The article's columns as the first schema had them, in versions and in extractions. Frozen
# history: a field declared since gets its column from archive.columns.ensure, not here.
_V1_ARTICLE_COLUMNS = """title TEXT, byline TEXT, published TEXT, modified TEXT, language TEXT,
    site_name TEXT, canonical_url TEXT, section TEXT, tags TEXT, description TEXT,
    top_image TEXT, images TEXT, source_url TEXT, comment_count INTEGER, text TEXT,"""

# Publisher history: one row per version a reader could have seen.
_V1_TABLES = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    schedule TEXT,
    added_at TEXT NOT NULL,
    last_fetched_at TEXT,
    last_outcome TEXT,
    last_error TEXT
);

CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    canonical_url TEXT,
    source TEXT,
    site_name TEXT,
    title TEXT,
    first_seen TEXT NOT NULL,
    last_checked TEXT,
    last_changed TEXT,
    current_version INTEGER,
    state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'live', 'gone')),
    checks INTEGER NOT NULL DEFAULT 0,
    changes INTEGER NOT NULL DEFAULT 0,
    next_check_at TEXT,
    check_interval_s REAL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    etag TEXT,
    last_modified TEXT
);
CREATE INDEX IF NOT EXISTS articles_next_check_at ON articles (next_check_at);
CREATE INDEX IF NOT EXISTS articles_source ON articles (source);

CREATE TABLE IF NOT EXISTS bodies (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    content_type TEXT,
    compression TEXT NOT NULL,
    content BLOB NOT NULL,
    first_seen TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS fetches (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    article_id INTEGER REFERENCES articles (id),
    source TEXT,
    started_at TEXT NOT NULL,
    final_url TEXT,
    status INTEGER,
    outcome TEXT NOT NULL,
    error TEXT,
    bytes INTEGER,
    elapsed_ms INTEGER,
    content_type TEXT,
    body_hash TEXT REFERENCES bodies (hash),
    etag TEXT,
    last_modified TEXT,
    headers TEXT,
    version INTEGER
);
CREATE INDEX IF NOT EXISTS fetches_url ON fetches (url);
CREATE INDEX IF NOT EXISTS fetches_article_id ON fetches (article_id);
CREATE INDEX IF NOT EXISTS fetches_source_started_at ON fetches (source, started_at);
CREATE INDEX IF NOT EXISTS fetches_started_at ON fetches (started_at);

CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    captured_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('live', 'gone', 'back')),
    url TEXT NOT NULL,
    {article_columns}
    content_hash TEXT,
    changed_fields TEXT,
    summary TEXT,
    words_added INTEGER,
    words_removed INTEGER,
    body_hash TEXT REFERENCES bodies (hash),
    fetch_id INTEGER REFERENCES fetches (id),
    extractor_version TEXT,
    UNIQUE (article_id, version)
);
CREATE INDEX IF NOT EXISTS versions_captured_at ON versions (captured_at);

-- Parser history: what a later extractor made of the raw body of a version.
-- Never a publisher edit; kept apart so the versions table stays the same.
CREATE TABLE IF NOT EXISTS extractions (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES versions (id),
    article_id INTEGER NOT NULL REFERENCES articles (id),
    version INTEGER NOT NULL,
    extractor_version TEXT NOT NULL,
    previous_extractor_version TEXT,
    extracted_at TEXT NOT NULL,
    {article_columns}
    content_hash TEXT NOT NULL,
    changed_fields TEXT,
    summary TEXT,
    words_added INTEGER,
    words_removed INTEGER,
    UNIQUE (version_id, extractor_version)
);
CREATE INDEX IF NOT EXISTS extractions_article_id ON extractions (article_id);

-- Retry-After holds per host, remembered across restarts.
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    hold_until TEXT NOT NULL,
    hold_reason TEXT
);
""".replace("{article_columns}", _V1_ARTICLE_COLUMNS)

# Due revisits in due order straight from an index, never-fetched articles first: one
# partial index per group, so picking the next 64 reads 64 index entries, not a sort of
# every due row.
_V2_DUE_INDEXES = """
CREATE INDEX IF NOT EXISTS articles_due_new ON articles (next_check_at)
    WHERE last_checked IS NULL;
CREATE INDEX IF NOT EXISTS articles_due_checked ON articles (next_check_at)
    WHERE last_checked IS NOT NULL;
"""

# What the archive last ran with, where a change must reach stored rows (the revisit
# policy: a changed [revisit] reschedules stored articles, see archive.reschedule).
_V3_SETTINGS = """
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    set_at TEXT NOT NULL
);
"""

# When each fetch was due, beside when it started: the scheduler's lag, seen and exported.
_V4_DUE_AT = """
ALTER TABLE fetches ADD COLUMN due_at TEXT;
"""

# Which path made a fetch's body: "plain" (the response) or "render" (the DOM Chromium
# built from it); for a render, original_hash is the response as served (also in bodies).
_V5_RENDER = """
ALTER TABLE fetches ADD COLUMN via TEXT NOT NULL DEFAULT 'plain';
ALTER TABLE fetches ADD COLUMN original_hash TEXT REFERENCES bodies (hash);
"""

# Reading at a million articles: the order of the articles page, and the changes (versions
# after the first) in recent_changes' order, counted from a small index of their own.
_V6_READ_INDEXES = """
CREATE INDEX IF NOT EXISTS articles_first_seen ON articles (first_seen);
CREATE INDEX IF NOT EXISTS versions_changes ON versions (captured_at) WHERE version > 1;
"""


def _v6_latest(conn: sqlite3.Connection) -> None:
    """Each article's latest readable version kept in a table (archive.latest), and the
    pages' facet counts (archive.facet_counts), filled from the versions stored so far."""
    for statement in _statements(_V6_READ_INDEXES):
        conn.execute(statement)
    latest.migrate(conn)
    facet_counts.migrate(conn)


# recent_changes filtered by its change column (edited, disappeared, came back), newest
# first: the view's own CASE expression, indexed, so the filter is an index range.
_V7_CHANGE_INDEX = (
    "CREATE INDEX IF NOT EXISTS versions_change ON versions"
    f" ({facet_counts.CHANGE_SQL.replace('{row}.', '')}, captured_at)"
    f" WHERE {facet_counts.IS_CHANGE.replace('{row}.', '')}"
)


def _v7_fetch_stats(conn: sqlite3.Connection) -> None:
    """Fetches and failures per host and per source (archive.fetch_stats), what the failure
    pages read, filled from the fetches stored so far; and the index of recent_changes'
    change filter."""
    fetch_stats.migrate(conn)
    conn.execute(_V7_CHANGE_INDEX)


# A cluster's results recorded by fetch id, so a result delivered twice is recorded once.
_V8_RECEIVED = received.TABLE_SQL


# The canned queries of the database page: "fetch errors by host" reads the failed and
# refused fetches of its days (with what it shows of them), not every fetch of those days;
# "most edited" the edited articles in its order, up to its 100; "articles that
# disappeared" the gone articles, not every article.
_V9_CANNED_INDEXES = f"""
CREATE INDEX IF NOT EXISTS fetches_failures ON fetches
    (started_at, outcome, url, status, error) WHERE outcome IN {fetch_stats.FAILED};
CREATE INDEX IF NOT EXISTS articles_changes ON articles (changes, last_changed)
    WHERE changes > 0;
CREATE INDEX IF NOT EXISTS articles_gone ON articles (current_version) WHERE state = 'gone';
"""


def _v9_change_source(conn: sqlite3.Connection) -> None:
    """Each version's source (archive.change_source), filled from the articles and indexed
    for recent_changes?source=; and the indexes of the canned queries."""
    change_source.migrate(conn)
    for statement in _statements(_V9_CANNED_INDEXES):
        conn.execute(statement)


# "Articles that disappeared", newest first: the gone markers in time order, so the query
# reads its 100 newest, not every gone article before a sort.
_V10_GONE_INDEX = """
CREATE INDEX IF NOT EXISTS versions_gone ON versions (captured_at) WHERE state = 'gone';
"""

# A tag chosen from latest_articles' tags facet: the articles with it from an index of the
# latest versions' tags (archive.article_tags), not a json_each of every article's tags.
_v11_article_tags = article_tags.migrate


# Ordered: MIGRATIONS[n] takes a file from user_version n to n + 1: a DDL script, or a
# function of the connection for one that fills what it creates.
Migration = str | Callable[[sqlite3.Connection], None]
MIGRATIONS: tuple[Migration, ...] = (
    _V1_TABLES, _V2_DUE_INDEXES, _V3_SETTINGS, _V4_DUE_AT, _V5_RENDER, _v6_latest,
    _v7_fetch_stats, _V8_RECEIVED, _v9_change_source, _V10_GONE_INDEX,
    _v11_article_tags,
)  # fmt: skip
SCHEMA_VERSION = len(MIGRATIONS)

# Modules that add tables kept by triggers, FTS tables, views and indexes, in this order
# (the search index, the facet counts and the tags read latest_versions; the failure views read
# fetch_stats' tables).
_INSTALLERS = (
    "archive.latest", "archive.facet_counts", "archive.article_tags", "archive.fetch_stats",
    "archive.change_source", "archive.search", "archive.views", "archive.health",
)  # fmt: skip


class SchemaTooNew(Exception):
    """The file was written by a newer version of this program."""


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing migrations; the caller holds a write transaction."""
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the archive has schema version {current}, this program knows up to "
            f"{SCHEMA_VERSION}; upgrade newsarchive before writing to it"
        )
    for target in range(current, SCHEMA_VERSION):
        migration = MIGRATIONS[target]
        if callable(migration):
            migration(conn)
            conn.execute(f"PRAGMA user_version = {target + 1}")
            continue
        for statement in _statements(migration):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {target + 1}")
    return SCHEMA_VERSION


def ensure(conn: sqlite3.Connection) -> None:
    """Bring the file to the current schema and let the Datasette layer add its parts.

    Runs inside the caller's write transaction (``BEGIN IMMEDIATE``).
    """
    migrate(conn)
    columns.ensure(conn)  # a field declared since the last migration gets its column
    for installer in _installers():
        installer(conn)


def _installers() -> list[Callable[[sqlite3.Connection], None]]:
    found = []
    for name in _INSTALLERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but something it imports is missing
                raise
            continue
        found.append(module.install)
    return found


def _statements(script: str) -> list[str]:
    """Split a DDL script into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
