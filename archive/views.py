"""SQL views a reader understands, installed into every archive by ``schema.ensure``.

- ``latest_articles``: one row per article with its current text, read from
  ``latest_versions`` (``archive.latest``); newest first (discovery order,
  ``article_id``, the table's rowid) by the page's ``sort_desc``.
- ``recent_changes``: every edit, disappearance and return, with a summary (the pages add
  the changed passage), newest first by the page's ``sort_desc`` on ``captured_at``. Few,
  short columns: it fits a laptop screen. Its source is the version's own copy
  (``archive.change_source``), indexed with the time, so a source's page is an index range.

The two views a reader opens first have no ORDER BY and read the articles' columns through
subqueries: SQLite then flattens a ``count(*)`` or a facet's ``GROUP BY`` over the view into
one over the table's own index, and runs the subqueries only for the rows a page shows.
The pages sort them (``sort_desc`` in the metadata), which an index serves.
- ``article_history``: all versions of every URL (filter it by ``url``).
- ``failing_sources`` and ``failing_hosts``: where fetches failed in the last seven UTC
  days (today included), read from the tallies ``archive.fetch_stats`` keeps per source
  and host, never from the fetches themselves.

Views are computed when read, so they cost nothing to keep in sync.
"""

from __future__ import annotations

import sqlite3

from archive import ddl
from archive.ddl import SqlObject
from archive.facet_counts import CHANGE_SQL, IS_CHANGE
from archive.fetch_stats import FAILED

# The first of the last seven UTC days (today the seventh), as archive.fetch_stats' days.
SINCE_7_DAYS = "strftime('%Y-%m-%d', 'now', '-6 days')"


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
  v.source, {_article("url", "v.article_id")} AS url,
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
SELECT s.name AS source, s.url, s.kind, s.last_outcome, s.last_error, s.last_fetched_at,
  coalesce(sum(d.failures), 0) AS failures_7d, coalesce(sum(d.attempts), 0) AS attempts_7d,
  f.consecutive_failures, f.last_failure_at, f.last_success_at
FROM sources s LEFT JOIN source_stats f ON f.source = s.name
LEFT JOIN source_days d ON d.source = s.name AND d.day >= {SINCE_7_DAYS}
WHERE s.last_outcome IN {FAILED} OR f.last_failure_at >= {SINCE_7_DAYS}
GROUP BY s.name
ORDER BY s.last_outcome IN {FAILED} DESC, failures_7d DESC, s.name""",
)

FAILING_HOSTS = SqlObject(
    "view",
    "failing_hosts",
    f"""CREATE VIEW failing_hosts AS
SELECT s.host, sum(d.failures) AS failures_7d, sum(d.attempts) AS attempts_7d,
  round(100.0 * sum(d.failures) / sum(d.attempts), 1) AS failure_percent,
  s.consecutive_failures, s.last_failure_at, s.last_status, s.last_error, s.last_success_at,
  h.hold_until, h.hold_reason
FROM host_stats s JOIN host_days d ON d.host = s.host AND d.day >= {SINCE_7_DAYS}
LEFT JOIN hosts h ON h.host = s.host
WHERE s.last_failure_at >= {SINCE_7_DAYS}
GROUP BY s.host
ORDER BY failures_7d DESC, s.host""",
)

VIEWS = (LATEST_ARTICLES, RECENT_CHANGES, ARTICLE_HISTORY, FAILING_SOURCES, FAILING_HOSTS)


def install(conn: sqlite3.Connection) -> None:
    """Create the views, or replace ones an older program installed (idempotent, no commit)."""
    for view in VIEWS:
        ddl.install(conn, view)
