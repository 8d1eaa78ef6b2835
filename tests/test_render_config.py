"""Rendering settings: per-source ``render``, the ``[render]`` table, and a missing browser
stopping ``scraper run`` with one line before any fetch."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from newsserver import serve_site

from scraper.cli import main
from scraper.config import DEFAULT_RENDER_BLOCK, ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_render_defaults_to_never_and_reads_the_render_table(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[render]
chromium = "/opt/chromium/chrome"
pages = 3
block = ["Tracker.example", ".ads.example"]
restart_after = 50
max_rss = "512MiB"

[[sources]]
url = "https://a.example/"
every = "1h"

[[sources]]
url = "https://b.example/"
every = "1h"
render = "auto"
""",
        )
    )
    assert [s.render for s in config.sources] == ["never", "auto"]
    assert config.render.chromium == "/opt/chromium/chrome"
    assert config.render.pages == 3
    assert config.render.block == ("tracker.example", "ads.example")
    assert config.render.restart_after == 50
    assert config.render.max_rss == 512 * 1024**2
    assert config.render.block_types == ("image", "font", "media")


def test_render_table_left_out_keeps_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[sources]]\nurl = "https://a.example/"\nevery = "1h"\n'))
    assert config.render.pages == 2
    assert config.render.block == DEFAULT_RENDER_BLOCK


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('render = "sometimes"', "sources[0].render (line 4): 'sometimes' is not valid"),
        ("render = true", "expected one of never, auto, always"),
    ],
)
def test_bad_render_mode_names_key_and_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, f'[[sources]]\nurl = "https://a.example/"\nevery = "1h"\n{text}\n')
    with pytest.raises(ConfigError, match="render") as caught:
        load_config(path)
    assert fragment in str(caught.value)


def test_bad_render_pages(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[render]\npages = 0\n[[sources]]\nurl = "https://a.example/"\nevery = "1h"\n'
    )
    with pytest.raises(ConfigError, match=r"render.pages \(line 2\).*from 1 to 64"):
        load_config(path)


def test_run_without_the_browser_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    """render = "always" and a Chromium that is not there: exit 2 before any request."""
    with serve_site() as site:
        site.set("/a", "<html><body><p>hello</p></body></html>")
        missing = tmp_path / "no-such-chromium"
        path = write(
            tmp_path,
            f"""
[render]
chromium = "{missing}"

[[sources]]
name = "app"
url = "{site.url("/a")}"
every = "1h"
render = "always"
""",
        )
        result = CliRunner().invoke(main, ["run", "--once", "--config", str(path)])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert lines[0].startswith("error: ")
        assert "source app" in lines[0] and 'render = "always"' in lines[0]
        assert str(missing) in lines[0] and "is missing" in lines[0]
        assert site.hits == {}
        assert not (tmp_path / "archive.db").exists()
