"""The Datasette plugin shipped with the archive: the one module that imports datasette.

- ``/-/article/<id>``: an article's versions and a word diff between any two of them
  (``?from=N&to=M``); ``/-/article?url=...`` finds the article by its URL.
- ``/-/changes.atom``: an Atom feed of recent edits, disappearances and returns, each with
  its changed passage (``archive.feed``); ``/-/changes.xsl`` makes it a page in a browser.
- ``/-/search?q=...``: articles whose latest text matches, best first among the newest
  ``SEARCH_WINDOW`` matches, with FTS5 ``snippet()`` and the matches marked.
- ``/-/sources``: each source's health (``archive.health``: healthy, failing, quiet, never
  ran), its last error and SVG charts of its last 30 days (``archive.sources_page``);
  linked from the index page (``templates/index.html``) and the menu.
- ``counted`` facets (``CountedFacet``): the facets of articles, latest_articles and
  recent_changes, read from the counts the archive keeps (``archive.facet_counts``) on a
  page without filters, computed by Datasette's own facet of the same kind on a filtered
  page of at most ``COMPUTED_FACET_ROWS`` rows, and listed as timed out beyond that.
- ``indexed_array`` (``filters_from_request``): ``tags__arraycontains=X`` on latest_articles
  also reads the articles with the tag from ``archive.article_tags``' index, so the page,
  its count and its computed facets read those rows only, not every article's tags.
- ``newest_search`` (``filters_from_request``): the search box of latest_articles and
  articles reads the newest ``SEARCH_WINDOW`` matches (by rowid, the page's own order) and
  says how many match in all, counted by FTS5 alone; filters and facets apply to those.
- Table cells (``archive.cells``): version numbers link to the article page, times are
  ``<time>`` shown in local time, JSON lists read as lists, recent_changes' summary
  carries the changed passage; ``templates/table.html`` folds the column descriptions.

Registered through the ``datasette`` entry point in pyproject.toml, and loadable with
``--plugins-dir`` (see ``archive/datasette_plugins/``). Pages use ``?db=NAME`` when
Datasette serves several files; otherwise the first file holding an archive is used.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from datasette import hookimpl
from datasette.database import Database
from datasette.facets import ArrayFacet, ColumnFacet, DateFacet, Facet
from datasette.filters import FilterArguments
from datasette.utils import escape_fts, escape_sqlite, path_with_added_args, path_with_removed_args
from datasette.utils.asgi import NotFound, Response
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader
from markupsafe import Markup, escape

from archive import facet_counts
from archive.cells import (
    MATCH_END,
    MATCH_START,
    cell_html,
    marked_html,
    unfolded_snippet_html,
)
from archive.columns import BODY_COLUMN, COMPARED_COLUMNS
from archive.diff import TextDiff, changed_fields, diff_words, summarise
from archive.diff_html import excerpt_text, render_change, render_excerpt, render_text
from archive.feed import STYLESHEET as FEED_STYLESHEET
from archive.feed import Feed, FeedEntry, atom
from archive.removal import REMOVAL_SQL, Removal
from archive.removal import from_row as removal_from_row
from archive.sources_page import read as read_sources
from contract.clock import SystemClock

TEMPLATES = Path(__file__).parent / "templates"
FEED_ENTRIES = 50
# Metadata compared between two versions on the article page: every compared field but
# those the page shows apart (the headline, the text, the images, the publisher).
METADATA_FIELDS = tuple(
    name for name in COMPARED_COLUMNS if name not in ("title", BODY_COLUMN, "images", "site_name")
)
# Columns that hold a version number, per table or view, that the article page can show.
_VERSION_COLUMNS = {
    "versions": "version",
    "recent_changes": "version",
    "article_history": "version",
    "articles": "current_version",
    "latest_articles": "versions",
}


_Function = TypeVar("_Function", bound=Callable[..., Any])


def _hook(function: _Function) -> _Function:
    """Datasette's ``hookimpl``, typed: it marks the function and returns it unchanged."""
    return cast(_Function, hookimpl(function))


def _hook_for(specname: str) -> Callable[[_Function], _Function]:
    """``hookimpl(specname=...)``, typed: a second implementation of a hook in this module."""

    def mark(function: _Function) -> _Function:
        return cast(_Function, hookimpl(specname=specname)(function))

    return mark


def _hook_last(function: _Function) -> _Function:
    """``hookimpl(trylast=True)``, typed."""
    return cast(_Function, hookimpl(trylast=True)(function))


# A filtered page's facets are computed over its rows only up to this many (a search for a
# common word can match most of a million articles; each facet would read them all).
COMPUTED_FACET_ROWS = 50_000
# The filter a facet value's link adds, per kind of facet.
_FILTER_SUFFIX = {"column": "", "array": "__arraycontains", "date": "__date"}


def _single(base: Any) -> Any:
    """Datasette's facet class ``base`` made to run one given config of a counted facet."""

    class Single(base):  # type: ignore[misc]
        def __init__(self, parent: Any, config: dict[str, Any]) -> None:
            # The page's rows, only the facet's column, behind a LIMIT: SQLite does not
            # flatten them into the facet's GROUP BY, which could then walk an index in the
            # grouped column's order and test the page's filter on every row (the source
            # facet of recent_changes?change=came+back: 1.9 s at a million articles, 0 rows).
            column = escape_sqlite(config["config"]["simple"])
            rows = f"select {column} from ({parent.sql}) limit -1"
            super().__init__(
                parent.ds, parent.request, parent.database, sql=rows, table=parent.table,
                params=parent.params, metadata=parent.metadata, row_count=parent.row_count,
            )  # fmt: skip
            self._config = config

        def get_configs(self) -> list[dict[str, Any]]:
            return [self._config]

    return Single


_COMPUTED = {
    "column": _single(ColumnFacet), "array": _single(ArrayFacet), "date": _single(DateFacet),
}  # fmt: skip


class CountedFacet(Facet):  # type: ignore[misc]
    """``{"counted": COLUMN}`` in a table's facets: archive.facet_counts' counts when the page
    has no filter, else Datasette's facet of the column's kind (or timed out, past
    ``COMPUTED_FACET_ROWS`` rows)."""

    type = "counted"

    def _unfiltered(self) -> bool:
        return not self.params and str(self.sql).rstrip().endswith(
            " from " + escape_sqlite(str(self.table))
        )

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        unfiltered = self._unfiltered()
        for chosen in self.get_configs():
            column = chosen["config"].get("column") or chosen["config"]["simple"]
            item = facet_counts.find(str(self.table), column)
            kind = item.kind if item is not None else "column"
            if item is not None and unfiltered:
                results.append(await self._counted(item, chosen["source"]))
            elif self.row_count is not None and self.row_count > COMPUTED_FACET_ROWS:
                timed_out.append(column)
            else:
                config = {"source": chosen["source"], "config": {"simple": column}}
                found, late = await _COMPUTED[kind](self, config).facet_results()
                for facet in found:
                    facet["type"] = kind
                results += found
                timed_out += late
        return results, timed_out

    async def _counted(self, item: facet_counts.Counted, source: str) -> dict[str, Any]:
        size = self.get_facet_size()
        rows = (
            await self.ds.execute(
                self.database, facet_counts.READ_SQL, [item.page, item.facet, size + 1]
            )
        ).rows
        key = item.facet + _FILTER_SUFFIX[item.kind]
        values = [
            {
                "value": row["value"], "label": row["value"], "count": row["count"],
                "toggle_url": self.ds.absolute_url(
                    self.request,
                    self.ds.urls.path(path_with_added_args(self.request, {key: row["value"]})),
                ),
                "selected": False,
            }
            for row in rows[:size]
        ]  # fmt: skip
        return {
            "name": item.facet, "type": item.kind, "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(
                path_with_removed_args(self.request, {"_facet": item.facet})
            ),
            "results": values, "truncated": len(rows) > size,
        }  # fmt: skip


def hook_implementations() -> dict[str, Any]:
    """This module's Datasette hook implementations by name, for the ``--plugins-dir`` loader."""
    return {name: value for name, value in globals().items() if hasattr(value, "datasette_impl")}


@_hook
def register_facet_classes() -> list[type]:
    return [CountedFacet]


# Table metadata key: {"fts_table": ..., "fts_pk": ..., "window": N}, a search box that reads
# the newest N (default SEARCH_WINDOW) matches instead of Datasette's, which counts and facets
# every match (a common word is most of a million articles: 0.4 s to 2 s a page).
NEWEST_SEARCH = "newest_search"
# How many of the newest matches a search reads: the table search, and /-/search's ranking.
SEARCH_WINDOW = 2000


# Table metadata key: {"column": ..., "table": ..., "key": ...}, a JSON array column whose
# elements a table of (tag, key) pairs indexes (archive.article_tags): its __arraycontains
# filter also asks for the keys of that index range, so SQLite reads only the rows with the
# element (Datasette's own filter, still applied, is a json_each of every row's array).
INDEXED_ARRAY = "indexed_array"


@_hook_for("filters_from_request")
def indexed_array_filter(request: Any, database: str, table: str, datasette: Any) -> Any:
    config = datasette.table_metadata(database, table).get(INDEXED_ARRAY)
    if not config:
        return None
    values = request.args.getlist(f"{config['column']}__arraycontains")
    if not values:
        return None
    key, index = escape_sqlite(config["key"]), escape_sqlite(config["table"])
    params = {f"{INDEXED_ARRAY}_{i}": value for i, value in enumerate(values)}
    return FilterArguments(
        [f"{key} IN (SELECT {key} FROM {index} WHERE tag = :{name})" for name in params], params
    )


# trylast: after Datasette's own search filter, which finds no fts_table here and says the
# page supports no search; this one's extra context says it does.
@_hook_last
def filters_from_request(request: Any, database: str, table: str, datasette: Any) -> Any:
    config = datasette.table_metadata(database, table).get(NEWEST_SEARCH)
    if not config:
        return None

    async def newest_matches() -> FilterArguments:
        words = (request.args.get("_search") or "").strip()
        if not words:
            return FilterArguments([], extra_context={"supports_search": True})
        fts, pk = escape_sqlite(config["fts_table"]), escape_sqlite(config["fts_pk"])
        raw = request.args.get("_searchmode") == "raw"
        query = {NEWEST_SEARCH: words if raw else escape_fts(words)}
        counted = await datasette.get_database(database).execute(
            f"SELECT count(*) FROM {fts} WHERE {fts} MATCH :{NEWEST_SEARCH}", query
        )
        matches = int(counted.first()[0])
        window = int(config.get("window", SEARCH_WINDOW))
        said = f'search matches "{words}"'
        if matches > window:
            said += f" (the newest {window:,} of {matches:,} matches)"
        return FilterArguments(
            [
                f"{pk} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :{NEWEST_SEARCH}"
                f" ORDER BY rowid DESC LIMIT {window})"
            ],
            query,
            [said],
            {"search": words, "supports_search": True, "search_matches": matches},
        )

    return newest_matches


@dataclass(frozen=True)
class VersionRow:
    id: int
    version: int
    captured_at: str
    state: str
    title: str | None
    summary: str | None
    changed_fields: tuple[str, ...]
    words_added: int | None
    words_removed: int | None


@_hook
def prepare_jinja2_environment(env: Environment, datasette: Any) -> None:
    # Our templates (pages, and table.html over Datasette's own, which it extends as
    # "default:table.html") behind anything a deployment puts in --template-dir.
    loaders: list[BaseLoader] = []
    if datasette.template_dir:
        loaders.append(FileSystemLoader(str(datasette.template_dir)))
    loaders.append(FileSystemLoader(str(TEMPLATES)))
    if env.loader is not None:
        loaders.append(env.loader)
    env.loader = ChoiceLoader(loaders)


@_hook
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/article/(?P<article_id>\d+)$", article_page),
        (r"^/-/article$", article_by_url),
        (r"^/-/changes\.atom$", changes_feed),
        (r"^/-/changes\.xsl$", feed_stylesheet),
        (r"^/-/search$", search_page),
        (r"^/-/sources$", sources_page),
    ]


@_hook
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Markup | Callable[[], Awaitable[Markup]] | None:
    if table is not None and _VERSION_COLUMNS.get(table) == column and isinstance(value, int):
        return _version_link(row, value, table, database, datasette)
    if table == "recent_changes" and column == "summary":
        return _summary_with_passage(row, value, database, datasette)
    html = cell_html(column, value)
    return None if html is None else Markup(html)  # built from escaped text in archive.cells


def _version_link(row: Any, value: int, table: str, database: str, datasette: Any) -> Markup | None:
    article_id = row["id"] if table == "articles" else row["article_id"]
    if isinstance(article_id, dict):  # a foreign key Datasette expanded to {value, label}
        article_id = article_id.get("value")
    if not isinstance(article_id, int):
        return None
    query = urlencode({"db": database, "to": value})
    href = datasette.urls.path(f"/-/article/{article_id}?{query}")
    return Markup(f'<a href="{escape(href)}" title="history and word diff">{int(value)}</a>')


async def _changed_passage(database: Database, article_id: Any, version: Any) -> str | None:
    """HTML of the changed passages of one version (None for a disappearance): one query for
    the version's text and the one before it, as each row of a page of changes asks."""
    before, text = await _texts_before_and_at(database, article_id, version)
    return None if text is None else render_excerpt(before, text)


def _summary_with_passage(
    row: Any, value: Any, database: str, datasette: Any
) -> Callable[[], Awaitable[Markup]]:
    async def render() -> Markup:
        passage = await _changed_passage(
            datasette.get_database(database), row["article_id"], row["version"]
        )
        summary = escape(value or "")
        if passage is None:
            return Markup(summary)
        # The passage is built from escaped words and sanitised (archive.diff_html).
        return Markup(f'{summary}<div class="passage">{passage}</div>')

    return render


# Every <time datetime="..."> the pages show, in the reader's own time zone and language;
# the ISO value stays in the attribute (and in a tooltip), the data is unchanged.
LOCAL_TIME_SCRIPT = """
document.querySelectorAll("time[datetime]").forEach(function (element) {
  var when = new Date(element.getAttribute("datetime"));
  if (isNaN(when.getTime())) { return; }
  element.textContent = when.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
  });
  element.classList.add("local-time");
});
document.querySelectorAll("option[data-datetime]").forEach(function (option) {
  var iso = option.getAttribute("data-datetime");
  var when = new Date(iso);
  if (isNaN(when.getTime())) { return; }
  option.textContent = option.textContent.replace(iso, when.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
  }));
});
"""


@_hook
def extra_body_script() -> str:
    return LOCAL_TIME_SCRIPT


@_hook
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/-/sources"), "label": "Source health"},
        {"href": datasette.urls.path("/-/changes.atom"), "label": "Atom feed of changes"},
    ]


async def _archive_database(datasette: Any, name: str | None) -> Database:
    """The database named by ``?db=``, else the first one that holds an archive."""
    candidates = [name] if name else [n for n in datasette.databases if n != "_internal"]
    for candidate in candidates:
        if candidate not in datasette.databases:
            raise NotFound(f"no database called {candidate!r}")
        database: Database = datasette.get_database(candidate)
        if await database.table_exists("versions") and await database.table_exists("articles"):
            return database
    raise NotFound("no archive database (with articles and versions tables) is being served")


def _version_rows(rows: Any) -> list[VersionRow]:
    return [
        VersionRow(
            id=row["id"],
            version=row["version"],
            captured_at=row["captured_at"],
            state=row["state"],
            title=row["title"],
            summary=row["summary"],
            changed_fields=tuple(json.loads(row["changed_fields"] or "[]")),
            words_added=row["words_added"],
            words_removed=row["words_removed"],
        )
        for row in rows
    ]


def _chosen(request: Any, key: str, numbers: list[int]) -> int | None:
    raw = request.args.get(key)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) not in numbers:
        raise NotFound(f"{key}={raw!r}: no such version of this article")
    return int(raw)


def _default_pair(
    versions: list[VersionRow], to: int | None, frm: int | None
) -> tuple[int | None, int | None]:
    """Compare the chosen versions; by default the newest readable one with the one before."""
    readable = [v.version for v in versions if v.state != "gone"]
    if to is None:
        to = readable[-1] if readable else versions[-1].version
    if frm is None:
        earlier = [n for n in readable if n < to]
        frm = earlier[-1] if earlier else None
    return frm, to


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str
    after: str


def _shown(value: Any) -> str:
    """A stored value as a reader reads it: JSON lists joined, nothing as an empty string."""
    if isinstance(value, str) and value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            return value
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return ", ".join(items)
    return "" if value is None else str(value)


def _field_changes(old: Any, new: Any) -> list[FieldChange]:
    """Metadata that differs between the two versions compared (text and title shown apart)."""
    if old is None:
        return []
    changes = []
    for name in METADATA_FIELDS:
        before, after = _shown(old[name]), _shown(new[name])
        if before != after:
            changes.append(FieldChange(name, before, after))
    return changes


def _safe_link(url: str) -> str | None:
    """The publisher's URL as a link target only when it is http(s)."""
    return url if urlsplit(url).scheme in ("http", "https") else None


async def _removal(database: Database, article_id: int, version: int | None) -> Removal | None:
    """The fetch that found the article gone: the gone version's, or (none given) the latest."""
    if version is not None:
        sql = (
            "SELECT f.started_at, f.url, f.status, f.final_url FROM versions v"
            " JOIN fetches f ON f.id = v.fetch_id WHERE v.article_id = ? AND v.version = ?"
        )
        found = (await database.execute(sql, [article_id, version])).first()
    else:
        found = (await database.execute(REMOVAL_SQL, [article_id])).first()
    return None if found is None else removal_from_row(tuple(found))


async def _never_live_page(
    datasette: Any, request: Any, database: Database, article: Any
) -> Response:
    """An article with no version: gone at first sight, or not fetched successfully yet."""
    gone = await _removal(database, article["id"], None) if article["state"] == "gone" else None
    last = (
        await database.execute(
            "SELECT started_at, outcome, status, error FROM fetches WHERE article_id = ?"
            " ORDER BY id DESC LIMIT 1",
            [article["id"]],
        )
    ).first()
    context = {
        **_page_links(datasette, database, article),
        "article": dict(article),
        "heading": article["title"] or article["url"],
        "removal": gone,
        "last_fetch": dict(last) if last is not None else None,
    }
    return Response.html(
        await datasette.render_template("newsarchive_never_live.html", context, request=request)
    )


def _page_links(datasette: Any, database: Database, article: Any) -> dict[str, Any]:
    return {
        "database": database.name,
        "article_link": _safe_link(article["url"]),
        "feed_url": datasette.urls.path(
            "/-/changes.atom?" + urlencode({"db": database.name, "article": article["id"]})
        ),
        "history_url": datasette.urls.path(
            f"/{database.name}/article_history?" + urlencode({"url": article["url"]})
        ),
    }


def _change_summary(old: Any, new: Any, text_diff: TextDiff) -> str:
    """What changed between two versions, however far apart: fields, then words."""
    return summarise(changed_fields(dict(old), dict(new)), text_diff)


async def article_page(datasette: Any, request: Any) -> Response:
    database = await _archive_database(datasette, request.args.get("db"))
    article_id = int(request.url_vars["article_id"])
    article = (await database.execute("SELECT * FROM articles WHERE id = ?", [article_id])).first()
    if article is None:
        raise NotFound(f"no article with id {article_id}")
    versions = _version_rows(
        await database.execute(
            "SELECT id, version, captured_at, state, title, summary, changed_fields,"
            " words_added, words_removed FROM versions WHERE article_id = ? ORDER BY version",
            [article_id],
        )
    )
    if not versions:
        return await _never_live_page(datasette, request, database, article)
    numbers = [v.version for v in versions]
    frm, to = _default_pair(
        versions, _chosen(request, "to", numbers), _chosen(request, "from", numbers)
    )
    assert to is not None  # an article with versions always has one to show
    texts = {
        row["version"]: row
        for row in await database.execute(
            "SELECT * FROM versions WHERE article_id = ? AND version IN (?, ?)",
            [article_id, frm if frm is not None else -1, to],
        )
    }
    new = texts[to]
    old = texts[frm] if frm is not None else None
    to_row = next(v for v in versions if v.version == to)
    if old is None:
        body = render_text(new["text"])
        summary = to_row.summary
    else:
        body = render_change(old["text"], new["text"])
        summary = (
            to_row.summary
            if to_row.state == "gone"
            else _change_summary(old, new, diff_words(old["text"], new["text"]))
        )
    # A gone version has no title of its own: the page keeps the last title the article had.
    known_titles = [v.title for v in versions if v.title and v.version <= to]
    heading = new["title"] or (known_titles[-1] if known_titles else None) or article["url"]
    old_title = old["title"] if old is not None else None
    shown_removal = None
    if to_row.state == "gone":
        shown_removal = await _removal(database, article_id, to)
    elif article["state"] == "gone":
        shown_removal = await _removal(database, article_id, None)
    context = {
        **_page_links(datasette, database, article),
        "article": dict(article),
        "heading": heading,
        "versions": versions,
        "from_version": frm,
        "to_version": to,
        "to_row": to_row,
        "summary": summary,
        "title_before": old_title
        if old_title and new["title"] and old_title != new["title"]
        else None,
        "title_after": new["title"],
        "field_changes": [] if to_row.state == "gone" else _field_changes(old, new),
        "diff_html": Markup(body),  # built from escaped text and sanitised with nh3
        "removal": shown_removal,
        "removal_is_shown_version": to_row.state == "gone",
    }
    return Response.html(
        await datasette.render_template("newsarchive_article.html", context, request=request)
    )


async def article_by_url(datasette: Any, request: Any) -> Response:
    url = request.args.get("url")
    if not url:
        raise NotFound("pass the article's address as ?url=...")
    database = await _archive_database(datasette, request.args.get("db"))
    row = (
        await database.execute(
            "SELECT id FROM articles WHERE url = ? OR canonical_url = ?"
            " ORDER BY url = ? DESC LIMIT 1",
            [url, url, url],
        )
    ).first()
    if row is None:
        raise NotFound(f"no archived article with the address {url}")
    query = urlencode({"db": database.name})
    return Response.redirect(datasette.urls.path(f"/-/article/{row['id']}?{query}"))


async def changes_feed(datasette: Any, request: Any) -> Response:
    """Recent changes as Atom; ``?source=NAME`` or ``?article=ID`` narrows it down."""
    database = await _archive_database(datasette, request.args.get("db"))
    where, params = [], []
    if request.args.get("source"):
        where.append("source = ?")
        params.append(request.args["source"])
    if request.args.get("article"):
        if not request.args["article"].isdigit():
            raise NotFound(f"article={request.args['article']!r}: expected an article number")
        article_id = int(request.args["article"])
        known = await database.execute("SELECT 1 FROM articles WHERE id = ?", [article_id])
        if known.first() is None:
            raise NotFound(f"no article with id {article_id}")
        where.append("article_id = ?")
        params.append(article_id)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    rows = list(
        await database.execute(
            "SELECT article_id, version, change, title, url, summary, captured_at"
            f" FROM recent_changes{condition} ORDER BY captured_at DESC LIMIT ?",
            [*params, FEED_ENTRIES],
        )
    )
    entries = [await _feed_entry(datasette, request, database, row) for row in rows]
    if rows:
        updated = rows[0]["captured_at"]
    else:  # no change yet: the feed is as old as the newest capture
        newest = (await database.execute("SELECT max(captured_at) FROM versions")).first()
        updated = (newest[0] if newest is not None else None) or "1970-01-01T00:00:00Z"
    self_link = datasette.absolute_url(request, datasette.urls.path("/-/changes.atom"))
    xml = atom(
        Feed(
            title=f"Changes in {database.name}",
            self_link=self_link,
            updated=updated,
            entries=tuple(entries),
            stylesheet=datasette.urls.path("/-/changes.xsl"),
        )
    )
    # Chromium shows application/atom+xml as plain text and applies no stylesheet; a browser
    # (it asks for text/html) gets the same feed as application/xml, which it renders with
    # the XSL. Feed readers ask for Atom, or for anything, and get application/atom+xml.
    browser = "text/html" in request.headers.get("accept", "")
    kind = "application/xml" if browser else "application/atom+xml"
    return Response(xml, content_type=f"{kind}; charset=utf-8", headers={"Vary": "Accept"})


async def _feed_entry(datasette: Any, request: Any, database: Database, row: Any) -> FeedEntry:
    page = datasette.absolute_url(
        request,
        datasette.urls.path(
            f"/-/article/{row['article_id']}?"
            + urlencode({"db": database.name, "to": row["version"]})
        ),
    )
    title = f"{row['change']}: {row['title'] or row['url']}"
    if row["change"] == "disappeared":
        gone = await _removal(database, row["article_id"], row["version"])
        said = (
            f"{gone.description} at {gone.at[:16].replace('T', ' ')} UTC"
            if gone is not None
            else row["summary"] or "disappeared"
        )
        sentence = said[:1].upper() + said[1:]
        return FeedEntry(title, page, row["captured_at"], sentence, f"<p>{escape(sentence)}</p>")
    texts = await _texts_before_and_at(database, row["article_id"], row["version"])
    summary = row["summary"] or row["change"]
    passage = excerpt_text(*texts)
    html = f"<p>{escape(summary)}</p>{render_excerpt(*texts)}"
    return FeedEntry(title, page, row["captured_at"], f"{summary}\n\n{passage}", html)


async def _texts_before_and_at(
    database: Database, article_id: int, version: int
) -> tuple[str | None, str | None]:
    """The text of the last readable version before ``version``, and of ``version``."""
    pair = (
        await database.execute(
            "SELECT version, text FROM versions WHERE article_id = ? AND version <= ?"
            " AND state != 'gone' ORDER BY version DESC LIMIT 2",
            [article_id, version],
        )
    ).rows
    texts = [r["text"] for r in pair if r["version"] <= version]
    if not pair or pair[0]["version"] != version:
        return (texts[0] if texts else None), None
    return (texts[1] if len(texts) > 1 else None), texts[0]


SEARCH_RESULTS = 50
# snippet() of each text column: the folded copies match "Mueller" for "Müller".
_SEARCH_SQL = """
SELECT a.id AS article_id, a.url, a.title, a.source, a.first_seen, a.last_changed,
  articles_fts.text AS text, articles_fts.text_folded AS text_folded,
  highlight(articles_fts, 0, :start, :end) AS title_marked,
  snippet(articles_fts, 1, :start, :end, ' … ', 28) AS text_snippet,
  snippet(articles_fts, 3, :start, :end, ' … ', 28) AS folded_snippet
FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
WHERE articles_fts MATCH :query AND articles_fts.rowid = :id
"""
# A common word matches most articles: ranking them all reads every match (1.4 s at a
# million articles). So the best SEARCH_RESULTS of the newest SEARCH_WINDOW matches, read in
# rowid order from the newest, are chosen first; then each one's snippet (a rowid lookup).
_SEARCH_BEST_SQL = """
SELECT id FROM (SELECT rowid AS id, rank AS score FROM articles_fts
  WHERE articles_fts MATCH :query ORDER BY rowid DESC LIMIT :window)
ORDER BY score, id DESC LIMIT :limit
"""


async def search_page(datasette: Any, request: Any) -> Response:
    """Articles whose latest version matches, each with FTS5's snippet() and its matches marked."""
    database = await _archive_database(datasette, request.args.get("db"))
    query = (request.args.get("q") or "").strip()
    results = []
    if query:
        matched = escape_fts(query)
        best = await database.execute(
            _SEARCH_BEST_SQL, {"query": matched, "window": SEARCH_WINDOW, "limit": SEARCH_RESULTS}
        )
        found = []
        for (article_id,) in best.rows:
            shown = await database.execute(
                _SEARCH_SQL,
                {"start": MATCH_START, "end": MATCH_END, "query": matched, "id": article_id},
            )
            found += shown.rows
        for row in found:
            snippet_html = marked_html(row["text_snippet"] or "")
            if MATCH_START not in (row["text_snippet"] or "") and MATCH_START in (
                row["folded_snippet"] or ""
            ):  # only the folded copy matched ("Mueller" for "Müller"): show the own spelling
                snippet_html = unfolded_snippet_html(
                    row["folded_snippet"], row["text"] or "", row["text_folded"] or ""
                ) or marked_html(row["folded_snippet"])
            title = row["title_marked"] or row["title"] or row["url"]
            page = datasette.urls.path(
                f"/-/article/{row['article_id']}?" + urlencode({"db": database.name})
            )
            results.append(
                {
                    **dict(row),
                    "page": page,
                    "title_html": Markup(marked_html(title)),  # escaped, then <mark> added
                    "snippet_html": Markup(snippet_html),  # escaped, then <mark> added
                }
            )
    context = {
        "database": database.name,
        "query": query,
        "results": results,
        "limit": SEARCH_RESULTS,
    }
    return Response.html(
        await datasette.render_template("newsarchive_search.html", context, request=request)
    )


async def feed_stylesheet(datasette: Any, request: Any) -> Response:
    return Response(
        FEED_STYLESHEET.read_text(encoding="utf-8"),
        content_type="text/xsl; charset=utf-8",
    )


async def sources_page(datasette: Any, request: Any) -> Response:
    """Each source's state, last error and 30 days of new articles and failures."""
    database = await _archive_database(datasette, request.args.get("db"))
    now = SystemClock().now()
    report = await database.execute_fn(lambda conn: read_sources(conn, now))
    context = {"database": database.name, "report": report, "now": now}
    return Response.html(
        await datasette.render_template("newsarchive_sources.html", context, request=request)
    )
