"""The project's rule "type hints everywhere; ruff and mypy clean", checked on the whole repo.

Each tool runs as a subprocess from the repository root with the settings in pyproject.toml,
so a failure here reads exactly like running the command by hand.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_tool(module: str, *args: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (it is in the `test` extra)")
    command = [sys.executable, "-m", module, *args]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, (
        f"`{' '.join(command[1:])}` failed in {REPO} (exit {result.returncode}):\n"
        f"{result.stdout}\n{result.stderr}"
    )


def test_ruff_check_is_clean() -> None:
    run_tool("ruff", "check", ".")


def test_ruff_format_leaves_nothing_to_change() -> None:
    run_tool("ruff", "format", "--check", ".")


def test_mypy_strict_is_clean_on_packages_tests_and_bench() -> None:
    run_tool("mypy")
