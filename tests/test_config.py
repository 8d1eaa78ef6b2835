"""Every configuration mistake stops ``scraper run`` before any fetch, in one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scraper.cli import main
from scraper.config import ConfigError, load_config, parse_duration

GOOD_SOURCE = '[[sources]]\nname = "paper"\nurl = "http://127.0.0.1:9/feed"\nevery = "15m"\n'


def run_with(tmp_path: Path, text: str | None) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--once", "--config", str(path)])
    return result.exit_code, result.output


def assert_one_line_error(output: str, *fragments: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_file(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, None)
    assert code == 2
    assert_one_line_error(output, str(tmp_path / "config.toml"), "file not found")


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, '[fetch]\nuser_agent = "unterminated\n' + GOOD_SOURCE)
    assert code == 2
    assert_one_line_error(output, "config.toml", "not valid TOML", "line 2")


def test_unknown_key_names_the_key_and_line(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, GOOD_SOURCE + 'colour = "blue"\n')
    assert code == 2
    assert_one_line_error(output, "config.toml", "sources[0].colour", "line 5", "unknown key")


def test_unknown_top_level_table(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, "[fetcher]\nconcurrency = 2\n" + GOOD_SOURCE)
    assert code == 2
    assert_one_line_error(output, "fetcher", "line 1", "unknown key")


def test_bad_duration_says_what_is_expected(tmp_path: Path) -> None:
    text = (
        GOOD_SOURCE + '\n[[sources]]\nname = "other"\nurl = "http://127.0.0.1:9/x"\nevery = "5x"\n'
    )
    code, output = run_with(tmp_path, text)
    assert code == 2
    assert_one_line_error(output, "sources[1].every", "line 9", "'5x'", "s, m, h or d")


def test_bad_url(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, '[[sources]]\nurl = "ftp://example.org/feed"\nevery = "1h"\n')
    assert code == 2
    assert_one_line_error(output, "sources[0].url", "line 2", "http:// or https://")


def test_bad_cron(tmp_path: Path) -> None:
    code, output = run_with(
        tmp_path, '[[sources]]\nurl = "http://127.0.0.1:9/"\ncron = "0 25 * * *"\n'
    )
    assert code == 2
    assert_one_line_error(output, "sources[0].cron", "line 3", "crontab")


def test_schedule_is_required(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, '[[sources]]\nurl = "http://127.0.0.1:9/"\n')
    assert code == 2
    assert_one_line_error(output, "sources[0].every", "missing")


def test_bad_kind_and_wrong_type(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, GOOD_SOURCE + 'kind = "podcast"\n')
    assert code == 2
    assert_one_line_error(output, "sources[0].kind", "one of auto, feed, sitemap, article, section")
    code, output = run_with(tmp_path, '[fetch]\nconcurrency = "many"\n' + GOOD_SOURCE)
    assert code == 2
    assert_one_line_error(output, "fetch.concurrency", "line 2", "whole number")


def test_no_fetch_happens_on_a_config_error(tmp_path: Path) -> None:
    # The archive file is created only once the configuration is good.
    run_with(tmp_path, GOOD_SOURCE + "bogus = 1\n")
    assert not (tmp_path / "archive.db").exists()


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("6h", 21600), ("2d", 172800), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_shipped_config_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "config.toml")
    assert any("znews.vn" in source.url for source in config.sources)
    assert {source.kind for source in config.sources} >= {"feed", "article"}


def test_relative_archive_path_is_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[archive]\npath = "data/a.db"\n' + GOOD_SOURCE)
    config = load_config(tmp_path / "c.toml")
    assert config.archive.path == tmp_path / "data" / "a.db"
    with pytest.raises(ConfigError, match="duplicate source name"):
        (tmp_path / "d.toml").write_text(GOOD_SOURCE + GOOD_SOURCE)
        load_config(tmp_path / "d.toml")


def test_bad_css_selector(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, GOOD_SOURCE + 'content = ["article >> p["]\n')
    assert code == 2
    assert_one_line_error(output, "sources[0].content", "line 5", "CSS selector")


def test_archive_min_free(tmp_path: Path) -> None:
    code, output = run_with(tmp_path, '[archive]\nmin_free = "lots"\n' + GOOD_SOURCE)
    assert code == 2
    assert_one_line_error(output, "archive.min_free", "line 2", "'lots'", '"500MiB"')
    (tmp_path / "c.toml").write_text('[archive]\nmin_free = "2GiB"\n' + GOOD_SOURCE)
    assert load_config(tmp_path / "c.toml").archive.min_free == 2 * 1024**3
    (tmp_path / "c.toml").write_text('[archive]\nmin_free = "0"\n' + GOOD_SOURCE)
    assert load_config(tmp_path / "c.toml").archive.min_free == 0
    (tmp_path / "c.toml").write_text(GOOD_SOURCE)
    assert load_config(tmp_path / "c.toml").archive.min_free == 500 * 1024**2


def test_cluster_is_off_without_its_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD_SOURCE, encoding="utf-8")
    assert not load_config(path).cluster.enabled


def test_cluster_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[cluster]\ndatabase = "postgresql://news@127.0.0.1:5432/news"\nheartbeat = "2s"\n'
        'stalled_after = "5s"\nworker_jobs = 3\n' + GOOD_SOURCE,
        encoding="utf-8",
    )
    cluster = load_config(path).cluster
    assert cluster.enabled
    assert (cluster.database, cluster.heartbeat, cluster.stalled_after, cluster.worker_jobs) == (
        "postgresql://news@127.0.0.1:5432/news", 2.0, 5.0, 3
    )  # fmt: skip


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ('heartbeat = "2s"\n', ("cluster.database", "missing", "leave [cluster] out")),
        ('database = "mysql://secret@db/news"\n', ("cluster.database (line 2)", "PostgreSQL URL")),
        (
            'database = "postgresql://db/news"\nheartbeat = "10s"\nstalled_after = "15s"\n',
            ("cluster.stalled_after (line 4)", "shorter than twice cluster.heartbeat (10s)"),
        ),
        ('database = "postgresql://db/news"\nworkers = 2\n', ("cluster.workers", "unknown key")),
    ],
)
def test_cluster_mistakes_are_one_line(
    tmp_path: Path, table: str, fragments: tuple[str, ...]
) -> None:
    code, output = run_with(tmp_path, "[cluster]\n" + table + GOOD_SOURCE)
    assert code == 2
    assert_one_line_error(output, "config.toml", *fragments)
    assert "secret" not in output  # a database URL may hold a password: never repeated
