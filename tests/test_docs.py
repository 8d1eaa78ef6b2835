"""The README documents every command, option and config key, in the manner of
sqlite-utils' test_docs.py: a command, option or key added without a word in the README
fails here, and so does a documented key the config no longer reads.

Commands and options are read from the click groups themselves; the config keys from
the config reader (its one-line error for an unknown key lists the keys it knows).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from archive.cli import main as archive_main
from scraper.cli import main as scraper_main
from scraper.config import ConfigError, load_config

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
LINES = README.splitlines()
_EXPECTED = re.compile(r"unknown key; expected one of (.+)$")
_SOURCE = '[[sources]]\nurl = "http://127.0.0.1:9/"\nevery = "1h"\n'
# Arrays of tables inside a table: their keys are probed under their own header.
_NESTED = {"notify": "targets"}


def commands() -> Iterator[tuple[str, click.Command]]:
    """Every command of both CLIs, as ``scraper run``, with the groups themselves."""
    for name, group in (("scraper", scraper_main), ("archive", archive_main)):
        yield name, group
        assert isinstance(group, click.Group)
        for sub, command in group.commands.items():
            if not command.hidden:
                yield f"{name} {sub}", command


COMMANDS = dict(commands())
OPTIONS = [
    (path, option)
    for path, command in COMMANDS.items()
    for option in command.params
    if isinstance(option, click.Option) and not option.hidden
]


def documentation(path: str) -> str:
    """Where the README documents a command: its row of the command table (a group: the
    rows that name it, and the sentences on what all its commands take)."""
    if " " not in path:
        return "\n".join(line for line in LINES if f"`{path} " in line or f"`{path}`" in line)
    rows = [line for line in LINES if line.startswith(f"| `{path}")]
    group = path.split()[0]
    shared = [line for line in LINES if f"`{group}` commands take" in line]
    return "\n".join(rows + shared)


@pytest.mark.parametrize("path", list(COMMANDS))
def test_every_command_has_a_row(path: str) -> None:
    if " " in path:
        assert any(line.startswith(f"| `{path}") for line in LINES), (
            f"README.md: no row for `{path}` in the command table"
        )


@pytest.mark.parametrize(("path", "option"), OPTIONS, ids=[f"{p} {o.opts[0]}" for p, o in OPTIONS])
def test_every_option_is_documented_with_its_command(path: str, option: click.Option) -> None:
    text = documentation(path)
    names = [*option.opts, *option.secondary_opts]
    documented = any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in names)
    assert documented, f"README.md: `{path}` does not mention {' / '.join(names)}"


def known_keys(tmp_path: Path, toml: str) -> set[str]:
    """The keys the config reader knows where ``toml`` puts an unknown one."""
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    found = _EXPECTED.search(str(refused.value))
    assert found is not None, str(refused.value)
    return set(found.group(1).split(", "))


def config_keys(tmp_path: Path) -> set[tuple[str, str]]:
    unknown = "not_a_key_anywhere = 1\n"
    tables = known_keys(tmp_path, unknown)
    keys: set[tuple[str, str]] = set()
    for table in tables:
        if table == "sources":
            toml = _SOURCE + unknown
            header = "[[sources]]"
        else:
            toml = f"[{table}]\n{unknown}{_SOURCE}"
            header = f"[{table}]"
        keys.update((header, key) for key in known_keys(tmp_path, toml))
        if table in _NESTED:
            nested = f"[[{table}.{_NESTED[table]}]]"
            toml = f"{_SOURCE}[{table}]\n{nested}\n{unknown}"
            keys.update((nested, key) for key in known_keys(tmp_path, toml))
    return keys


def documented_keys() -> set[tuple[str, str]]:
    """The keys of the README's configuration table: rows like ``| `[fetch] a`, `b` |``."""
    start = LINES.index("## Configuration")
    end = next(i for i in range(start + 1, len(LINES)) if LINES[i].startswith("## "))
    keys: set[tuple[str, str]] = set()
    for line in LINES[start:end]:
        row = re.match(r"\| `(\[\[?[\w.]+\]\]?) ([^|]*)\|", line)
        if row is None:
            continue
        header, cell = row.group(1), "`" + row.group(2)
        keys.update((header, key) for key in re.findall(r"`(\w+)`", cell))
    return keys


def test_every_config_key_is_in_the_configuration_table(tmp_path: Path) -> None:
    read = config_keys(tmp_path)
    assert len(read) > 30  # the probe found the tables and their keys
    documented = documented_keys()
    missing = sorted(f"{table} {key}" for table, key in read - documented)
    stale = sorted(f"{table} {key}" for table, key in documented - read)
    assert not missing, f"README.md's configuration table lacks: {', '.join(missing)}"
    assert not stale, f"README.md documents keys the config does not read: {', '.join(stale)}"
