"""Per-site ``content``/``remove`` selectors follow the source that found the article.

Two sources on one host each keep their own selectors, and an article a feed links to
on another host is read with the feed's: when it is first fetched, when the daemon
re-reads a stored page after an extractor upgrade, and in ``scraper reparse``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from newsserver import NewsSite, rss_feed, serve_site

STORY = [
    "The council agreed on Tuesday to rebuild the harbour wall before the winter storms came.",
    "Engineers said the work would take eleven weeks and cost four million euros in total.",
    "Residents of the harbour district welcomed the decision after years of flooding.",
]
# Boxes inside the article body that only one source's selectors remove.
ALPHA_BOX = "Alpha readers also get the morning briefing delivered to their door."
BETA_BOX = "Beta members can listen to this article read aloud by our presenters."


def page(title: str, served: str) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in STORY)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article"></head><body><main><article>
<h1>{title}</h1>
{body}
<div class="alpha-box"><p>{ALPHA_BOX}</p></div>
<div class="beta-box"><p>{BETA_BOX}</p></div>
</article></main><!-- served {served} --></body></html>"""


PATHS = {
    "alpha": "/news/harbour-wall-alpha-story",
    "beta": "/news/harbour-wall-beta-story",
    "gamma": "/news/harbour-wall-gamma-story",
}


def serve_pages(site: NewsSite, served: str) -> None:
    for name, path in PATHS.items():
        site.set(path, page(f"Harbour wall ({name})", served))


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with serve_site() as site:
        for name in ("alpha", "beta", "gamma"):
            site.set(
                f"/{name}.xml", rss_feed(site, [PATHS[name]]), content_type="application/rss+xml"
            )
        serve_pages(site, "first")
        yield site


def write_config(tmp_path: Path, site: NewsSite) -> Path:
    # alpha and beta share the host; gamma's feed is on another host name (localhost) and
    # links to an article on alpha's and beta's host.
    other_host = site.base_url.replace("127.0.0.1", "localhost")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[archive]
path = "archive.db"

[fetch]
host_gap = "0s"
deadline = "10s"
max_retries = 0

[revisit]
min_interval = "1s"
max_interval = "1s"

[[sources]]
name = "alpha"
url = "{site.url("/alpha.xml")}"
every = "1h"
remove = [".alpha-box"]

[[sources]]
name = "beta"
url = "{site.url("/beta.xml")}"
every = "1h"
remove = [".beta-box"]

[[sources]]
name = "gamma"
url = "{other_host}/gamma.xml"
every = "1h"
remove = [".alpha-box", ".beta-box"]
""",
        encoding="utf-8",
    )
    return config


def scraper(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "scraper", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


def texts(db: Path, table: str) -> dict[str, str]:
    """Each article's source and the text of its latest row in ``table``."""
    with sqlite3.connect(db) as conn:
        return dict(
            conn.execute(
                f"SELECT a.source, t.text FROM {table} t JOIN versions v ON v.id = t.version_id"
                " JOIN articles a ON a.id = v.article_id ORDER BY t.id"
                if table == "extractions"
                else "SELECT a.source, v.text FROM versions v JOIN articles a"
                " ON a.id = v.article_id ORDER BY v.id"
            )
        )


def assert_own_selectors(found: dict[str, str]) -> None:
    assert set(found) == {"alpha", "beta", "gamma"}
    assert ALPHA_BOX not in found["alpha"] and BETA_BOX in found["alpha"]
    assert BETA_BOX not in found["beta"] and ALPHA_BOX in found["beta"]
    assert ALPHA_BOX not in found["gamma"] and BETA_BOX not in found["gamma"]
    assert all("eleven weeks" in text for text in found.values())


def test_selectors_follow_the_source_that_found_the_article(tmp_path: Path, site: NewsSite) -> None:
    config = write_config(tmp_path, site)
    db = tmp_path / "archive.db"
    scraper("run", "--once", "--config", str(config))
    assert_own_selectors(texts(db, "versions"))

    # An extractor upgrade: the stored versions now look read by an older extractor, and
    # the pages change only in a served-in comment. The daemon re-reads each stored raw
    # page to compare like with like; read with another source's selectors (or none),
    # the re-read would differ and a false edit would be recorded.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE versions SET extractor_version = '2000.01.01'")
    serve_pages(site, "second")
    time.sleep(1.2)  # the revisit interval of the config
    scraper("run", "--once", "--config", str(config))
    with sqlite3.connect(db) as conn:
        outcomes = conn.execute(
            "SELECT f.source, f.outcome FROM fetches f WHERE f.url LIKE '%/news/%'"
            " ORDER BY f.id DESC LIMIT 3"
        ).fetchall()
        counts = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
    assert sorted(outcomes) == [
        ("alpha", "unchanged"),
        ("beta", "unchanged"),
        ("gamma", "unchanged"),
    ]
    assert counts == 3, "no false edit"
    assert_own_selectors(texts(db, "extractions"))

    # scraper reparse reads every stored page again with the same selectors as the fetch.
    report = scraper("reparse", "--all", "--no-progress", "--config", str(config))
    assert "0 read differently" in report.stdout, report.stdout
    assert_own_selectors(texts(db, "extractions"))
