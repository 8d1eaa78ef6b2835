"""The install compiles the extraction core with mypyc (setup.py), and the compiled core
extracts exactly what the pure Python source does."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from scraper.compiled import PACKAGE_ROOT, compiled_modules, stale_modules
from scraper.extract import article_to_json, extract_html

ROOT = PACKAGE_ROOT.parent
GOLDEN = Path(__file__).parent / "golden"
DEV_PAGES = ROOT.parent / "shared" / "data" / "readability-pages"
# The modules a page's extraction spends its time in.
HOT_MODULES = {
    "scraper.html",
    "scraper.extract.api",
    "scraper.extract.content",
    "scraper.extract.walker",
    "scraper.extract.clean",
    "scraper.extract.metadata",
    "scraper.extract.ruleset",
}

# Runs in a child process: our packages import from their .py files only (third-party
# extension modules still load), so the pure Python core runs beside the compiled one.
PURE_PYTHON_RUNNER = textwrap.dedent(
    """
    import importlib.machinery as machinery, json, os, sys
    root = sys.argv[1]
    ours = tuple(os.path.join(root, package) for package in ("scraper", "archive", "contract"))

    def source_only(path):
        if path != root and not path.startswith(ours):  # a venv may live in the root
            raise ImportError("not ours")
        return machinery.FileFinder(path, (machinery.SourceFileLoader, [".py"]))

    sys.path_hooks.insert(0, source_only)
    sys.path_importer_cache.clear()
    sys.path.insert(0, root)
    from scraper.compiled import compiled_modules
    from scraper.extract import article_to_json, extract_html
    assert not compiled_modules(), compiled_modules()
    out = []
    for line in sys.stdin:
        page = json.loads(line)
        out.append(article_to_json(extract_html(page["html"], page["url"])))
    json.dump(out, sys.stdout)
    """
)


def _pure_python_wanted() -> bool:
    return os.environ.get("NEWSARCHIVE_PURE_PYTHON", "") not in ("", "0")


def _compiler() -> str | None:
    command = str(sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(command)


def _pages() -> list[dict[str, str]]:
    pages = [
        {
            "url": f"https://news.example/{case.name}/article.html",
            "html": (case / "page.html").read_text(encoding="utf-8"),
        }
        for case in sorted(GOLDEN.iterdir())
        if (case / "page.html").is_file()
    ]
    if DEV_PAGES.is_dir():  # many more real layouts, when ../shared is there
        pages += [
            {"url": f"http://fakehost/{p.parent.name}/", "html": p.read_text(encoding="utf-8")}
            for p in sorted(DEV_PAGES.glob("*/source.html"))
        ]
    return pages


def test_the_install_compiles_the_extraction_core() -> None:
    if _pure_python_wanted():
        pytest.skip("NEWSARCHIVE_PURE_PYTHON is set: the core is installed as pure Python")
    if _compiler() is None:
        pytest.skip("no C compiler: the install falls back to pure Python")
    missing = HOT_MODULES - set(compiled_modules())
    assert not missing, f"not compiled by `pip install -e .`: {sorted(missing)}"
    assert stale_modules() == []


def test_compiled_and_pure_python_cores_extract_the_same_articles() -> None:
    if not HOT_MODULES & set(compiled_modules()):
        pytest.skip("the core is not compiled here: there is only one core to test")
    pages = _pages()
    compiled = [article_to_json(extract_html(page["html"], page["url"])) for page in pages]
    result = subprocess.run(
        [sys.executable, "-c", PURE_PYTHON_RUNNER, str(ROOT)],
        input="".join(json.dumps(page) + "\n" for page in pages),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pure = json.loads(result.stdout)
    assert len(pure) == len(compiled)
    for page, ours, theirs in zip(pages, compiled, pure, strict=True):
        assert ours == theirs, f"compiled and pure Python differ on {page['url']}"


def test_a_source_edited_after_compiling_is_reported_stale(tmp_path: Path) -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for tree in (tmp_path / "checkout", tmp_path / "lib" / "site-packages"):
        package = tree / "scraper"
        package.mkdir(parents=True)
        source, compiled = package / "walker.py", package / f"walker{suffix}"
        compiled.write_bytes(b"")
        source.write_text("# edited\n")
        os.utime(compiled, (1_000_000, 1_000_000))  # built long before the edit
    assert stale_modules(tmp_path / "checkout" / "scraper") == [
        tmp_path / "checkout" / "scraper" / "walker.py"
    ]
    # An installed wheel's file times say only in which order pip unpacked them.
    assert stale_modules(tmp_path / "lib" / "site-packages" / "scraper") == []
    os.utime(tmp_path / "checkout" / "scraper" / f"walker{suffix}")  # rebuilt now
    assert stale_modules(tmp_path / "checkout" / "scraper") == []
