"""SQL views a reader understands, installed into every archive by ``schema.ensure``.

- ``latest_articles``: one row per article with its current text, read from
  ``latest_versions`` (``archive.latest``); newest first (discovery order,
  ``article_id``, the table's rowid) by the page's ``sort_desc``.
- ``recent_changes``: every edit, disappearance and return, with a summary (the pages add
  the changed passage), newest first by the page's ``sort_desc`` on ``captured_at``. Few,
  short columns: it fits a laptop screen.

The two views a reader opens first have no ORDER BY and read the articles' columns through
subqueries: SQLite then flattens a ``count(*)`` or a facet's ``GROUP BY`` over the view into
one over the table's own index, and runs the subqueries only for the rows a page shows.
The pages sort them (``sort_desc`` in the metadata), which an index serves.
- ``article_history``: all versions of every URL (filter it by ``url``).
- ``failing_sources`` and ``failing_hosts``: where fetches failed in the last seven days.

Views are computed when read, so they cost nothing to keep in sync.
"""

from __future__ import annotations

import sqlite3

from archive import ddl
from archive.ddl import SqlObject
from archive.facet_counts import CHANGE_SQL, IS_CHANGE

# SQL for "seven days ago" in the archive's own time format (ISO-8601 UTC with a Z).
SINCE_7_DAYS = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')"
FAILED = "('failed', 'rejected')"
# The host of a URL: text between '://' and the next '/', '?' or '#'.
_AFTER_SCHEME = "substr(url, instr(url, '://') + 3)"


def _article(column: str, key: str) -> str:
    """One column of the row's article, read only for the rows a page shows: as a subquery,
    not a join, so a count or a facet of the view never reads the articles table."""
    return f"(SELECT {column} FROM articles WHERE id = {key})"


LATEST_ARTICLES = SqlObject(
    "view",
    "latest_articles",
    f"""CREATE VIEW latest_articles AS
SELECT l.article_id, coalesce(l.title, {_article("title", "l.article_id")}) AS title,
  {_article("url", "l.article_id")} AS url, l.source, l.site_name, l.language, l.section,
  l.tags, l.byline, l.published, l.modified, {_article("state", "l.article_id")} AS state,
  {_article("current_version", "l.article_id")} AS versions,
  {_article("first_seen", "l.article_id")} AS first_seen,
  {_article("last_changed", "l.article_id")} AS last_changed,
  {_article("last_checked", "l.article_id")} AS last_checked, l.description, l.text
FROM latest_versions l""",
)

RECENT_CHANGES = SqlObject(
    "view",
    "recent_changes",
    f"""CREATE VIEW recent_changes AS
SELECT v.captured_at, {CHANGE_SQL.format(row="v")} AS change,
  coalesce(v.title, {_article("title", "v.article_id")}) AS title, v.summary, v.version,
  {_article("source", "v.article_id")} AS source, {_article("url", "v.article_id")} AS url,
  v.article_id
FROM versions v
WHERE {IS_CHANGE.format(row="v")}""",
)

ARTICLE_HISTORY = SqlObject(
    "view",
    "article_history",
    """CREATE VIEW article_history AS
SELECT a.url, v.version, v.captured_at, v.state, v.title, v.summary, v.changed_fields,
  v.words_added, v.words_removed, v.byline, v.published, v.modified, v.content_hash,
  v.extractor_version, a.id AS article_id, v.id AS version_id
FROM versions v JOIN articles a ON a.id = v.article_id
ORDER BY a.url, v.version""",
)

FAILING_SOURCES = SqlObject(
    "view",
    "failing_sources",
    f"""CREATE VIEW failing_sources AS
WITH recent AS (
  SELECT source, count(*) AS attempts,
    sum(outcome IN {FAILED}) AS failures,
    max(CASE WHEN outcome IN {FAILED} THEN started_at END) AS last_failure_at,
    max(CASE WHEN outcome NOT IN {FAILED} THEN started_at END) AS last_success_at
  FROM fetches WHERE started_at >= {SINCE_7_DAYS} AND source IS NOT NULL
  GROUP BY source)
SELECT s.name AS source, s.url, s.kind, s.last_outcome, s.last_error, s.last_fetched_at,
  coalesce(r.failures, 0) AS failures_7d, coalesce(r.attempts, 0) AS attempts_7d,
  r.last_failure_at, r.last_success_at
FROM sources s LEFT JOIN recent r ON r.source = s.name
WHERE s.last_outcome IN {FAILED} OR r.failures > 0
ORDER BY s.last_outcome IN {FAILED} DESC, failures_7d DESC, s.name""",
)

FAILING_HOSTS = SqlObject(
    "view",
    "failing_hosts",
    f"""CREATE VIEW failing_hosts AS
WITH recent AS (
  SELECT lower(CASE
      WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1)
      WHEN instr(rest, '?') > 0 THEN substr(rest, 1, instr(rest, '?') - 1)
      ELSE rest END) AS host,
    outcome, status, error, started_at
  FROM (SELECT {_AFTER_SCHEME} AS rest, outcome, status, error, started_at FROM fetches
        WHERE started_at >= {SINCE_7_DAYS})),
totals AS (
  SELECT host, count(*) AS attempts, sum(outcome IN {FAILED}) AS failures,
    max(CASE WHEN outcome NOT IN {FAILED} THEN started_at END) AS last_success_at
  FROM recent GROUP BY host),
-- SQLite takes the bare columns of a max() aggregate from the row holding the maximum.
last_failure AS (
  SELECT host, max(started_at) AS last_failure_at, status AS last_status, error AS last_error
  FROM recent WHERE outcome IN {FAILED} GROUP BY host)
SELECT t.host, t.failures AS failures_7d, t.attempts AS attempts_7d,
  round(100.0 * t.failures / t.attempts, 1) AS failure_percent,
  f.last_failure_at, f.last_status, f.last_error, t.last_success_at,
  h.hold_until, h.hold_reason
FROM totals t JOIN last_failure f ON f.host = t.host
LEFT JOIN hosts h ON h.host = t.host
ORDER BY t.failures DESC, t.host""",
)

VIEWS = (LATEST_ARTICLES, RECENT_CHANGES, ARTICLE_HISTORY, FAILING_SOURCES, FAILING_HOSTS)


def install(conn: sqlite3.Connection) -> None:
    """Create the views, or replace ones an older program installed (idempotent, no commit)."""
    for view in VIEWS:
        ddl.install(conn, view)
