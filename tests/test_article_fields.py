"""The article's fields are declared once (contract.model.Article); everything else follows.

A field added in one place only fails here: an attribute without a declaration, a
column in the archive that is not declared, a declared column the archive, the
export, the diff, the Datasette descriptions or ``scraper extract`` lack, or a
description written again in datasette_metadata.json. And the proof that one place
is enough: a copy of the packages with one field added to ``contract/model.py`` only
stores, compares, exports and describes it, on an archive written before it existed.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from archive_helpers import FakeClock, page, story

from archive import columns, diff, export
from archive.serve import METADATA, metadata_for
from archive.store import Archive
from contract.fields import declared_fields
from contract.model import ARTICLE_FIELDS, Article
from scraper.extract import article_to_json

REPO = Path(__file__).resolve().parents[1]
URL = "https://news.example/world/2026/flood-waters-rise.html"
# Columns of versions and extractions that are the archive's own, not the article's.
BOOKKEEPING = {
    "versions": {
        "id", "article_id", "version", "captured_at", "state", "url", "content_hash",
        "changed_fields", "summary", "words_added", "words_removed", "body_hash", "fetch_id",
        "extractor_version", "source",
    },
    "extractions": {
        "id", "version_id", "article_id", "version", "extractor_version",
        "previous_extractor_version", "extracted_at", "content_hash", "changed_fields",
        "summary", "words_added", "words_removed",
    },
    "latest_versions": {"article_id", "source", "version_id", "version", "captured_at"},
}  # fmt: skip


def test_an_article_attribute_without_a_declaration_is_refused_by_name() -> None:
    extended = dataclasses.make_dataclass(
        "Extended",
        [("subtitle", str | None, dataclasses.field(default=None))],
        bases=(Article,),
        frozen=True,
        kw_only=True,
    )
    with pytest.raises(TypeError, match=r"Extended\.subtitle: not declared"):
        declared_fields(extended)


def test_the_archive_has_exactly_the_declared_columns(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "archive.db", FakeClock()):
        pass
    conn = sqlite3.connect(tmp_path / "archive.db")
    try:
        for table in columns.TABLES:
            present = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            undeclared = set(present) - BOOKKEEPING[table] - set(columns.CONTENT_COLUMNS)
            assert undeclared == set(), f"{table} has columns no field declares"
            assert set(columns.CONTENT_COLUMNS) <= set(present)
    finally:
        conn.close()


def test_every_declared_column_is_compared_exported_and_described() -> None:
    compared = {f.column for f in columns.CONTENT if f.declared.compared}
    assert set(diff.COMPARED_FIELDS) == {"state", *compared}
    assert set(columns.CONTENT_COLUMNS) <= set(export.COLUMNS)
    shipped = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["archive"]["tables"]
    served = metadata_for(Path("archive.db"))["databases"]["archive"]["tables"]
    for table in columns.TABLES:
        written_again = set(shipped[table].get("columns", {})) & set(columns.CONTENT_COLUMNS)
        assert written_again == set(), f"datasette_metadata.json repeats {table} descriptions"
        described = served[table]["columns"]
        assert all(described.get(name) for name in columns.CONTENT_COLUMNS)


def test_scraper_extract_prints_every_declared_field() -> None:
    assert list(article_to_json(story())) == [f.name for f in ARTICLE_FIELDS]


def test_a_stored_version_holds_every_declared_field(tmp_path: Path) -> None:
    clock = FakeClock()
    article = dataclasses.replace(
        story("A paragraph."), description="d", section="s", tags=("t",), language="en",
        canonical_url="https://news.example/c", site_name="News", top_image="https://i/x.jpg",
        source_url="https://src.example/", comment_count=4, modified="2026-11-02T00:00:00Z",
    )  # fmt: skip
    with Archive.open(tmp_path / "archive.db", clock) as archive:
        archive.record(page(URL, clock, b"<html>1</html>"), article)
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM versions").fetchone()
    finally:
        conn.close()
    empty = [f.column for f in columns.CONTENT if row[f.column] in (None, "", "[]")]
    assert empty == []
    assert json.loads(row["changed_fields"]) == list(diff.COMPARED_FIELDS)  # a first version


# Added to a copy of contract/model.py, before extractor_version: the whole change.
NEW_FIELD = """    subtitle: str | None = field(
        default=None,
        metadata=declare("Standfirst under the headline", Kind.TEXT, hashed="when_set"),
    )
"""

# Run by the copy's Python on an archive written by this checkout (without the field).
CHECK_NEW_FIELD = r"""
import csv, dataclasses, io, json, sqlite3, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from archive_helpers import FakeClock, page, story
from archive import export, history
from archive.db import open_reader
from archive.serve import metadata_for
from archive.store import Archive
from contract.model import Outcome
from scraper.extract.api import article_to_json

path, url = Path(sys.argv[1]), sys.argv[3]
clock = FakeClock()
clock.advance(3600)
same = story("Water levels rose by two metres overnight.")
with Archive.open(path, clock) as archive:
    unchanged = archive.record(page(url, clock, b"<html>again</html>"), same)
    clock.advance(60)
    edited = archive.record(
        page(url, clock, b"<html>new</html>"),
        dataclasses.replace(same, subtitle="Thousands leave their homes"),
    )
conn = open_reader(path)
row = conn.execute(
    "SELECT subtitle, changed_fields, summary FROM versions WHERE version = 2"
).fetchone()
ddl = {
    t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in ("versions", "extractions")
}
out = io.StringIO()
export.write(conn, out, "jsonl")
exported = json.loads(out.getvalue().splitlines()[-1])
out = io.StringIO()
export.write(conn, out, "csv")
header = next(csv.reader(io.StringIO(out.getvalue())))
comparison = history.compare(conn, url)
tables = metadata_for(path)["databases"][path.stem]["tables"]
print(json.dumps({
    "unchanged": unchanged.outcome == Outcome.UNCHANGED,
    "edited": [str(edited.outcome), edited.version],
    "stored": row["subtitle"], "changed_fields": json.loads(row["changed_fields"]),
    "summary": row["summary"],
    "ddl": {t: "subtitle" in names for t, names in ddl.items()},
    "exported": exported.get("subtitle"), "csv": "subtitle" in header,
    "diff": [(c.field, c.old, c.new) for c in comparison.field_changes],
    "described": [tables[t]["columns"].get("subtitle") for t in ("versions", "extractions")],
    "extract_json": article_to_json(same).get("subtitle", "missing"),
}))
"""


def test_a_field_declared_in_one_file_reaches_every_place(tmp_path: Path) -> None:
    """One file changed (contract/model.py): columns added to an existing archive, the
    version stored, hashed only when set, compared, exported, diffed and described."""
    copy = tmp_path / "copy"
    for package in ("contract", "archive", "scraper"):
        shutil.copytree(REPO / package, copy / package, ignore=shutil.ignore_patterns("*.so"))
    model = copy / "contract" / "model.py"
    source = model.read_text(encoding="utf-8")
    anchor = "    extractor_version: str = field("
    assert source.count(anchor) == 1
    model.write_text(source.replace(anchor, NEW_FIELD + anchor), encoding="utf-8")

    path = tmp_path / "archive.db"
    clock = FakeClock()
    with Archive.open(path, clock) as archive:  # written before the field existed
        archive.record(page(URL, clock, b"<html>1</html>"), story())
    done = subprocess.run(
        [sys.executable, "-c", CHECK_NEW_FIELD, str(path), str(REPO / "tests"), URL],
        cwd=copy, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {
        "unchanged": True,  # an article without the field keeps its stored hash
        "edited": ["changed", 2],
        "stored": "Thousands leave their homes",
        "changed_fields": ["subtitle"],
        "summary": "subtitle",
        "ddl": {"versions": True, "extractions": True},
        "exported": "Thousands leave their homes",
        "csv": True,
        "diff": [["subtitle", None, "Thousands leave their homes"]],
        "described": [
            "Standfirst under the headline",
            "Standfirst under the headline (as this extractor reads it)",
        ],
        "extract_json": None,
    }
