"""Session checks that must run before any test imports the code under test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pgserver import PostgresMissing, Server, postgres_server

from scraper.compiled import PACKAGE_ROOT, stale_modules


def pytest_sessionstart(session: pytest.Session) -> None:
    stale = stale_modules()
    if stale:
        names = ", ".join(str(path.relative_to(PACKAGE_ROOT.parent)) for path in stale)
        pytest.exit(
            f"{names} changed after the core was compiled, so the tests would run the old "
            "compiled code: run `pip install -e '.[test]'` again (or set "
            "NEWSARCHIVE_PURE_PYTHON=1 for that install to keep the core pure Python)",
            returncode=4,
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """A PostgreSQL server of the test run's own (tests/pgserver.py). Without PostgreSQL the
    test is skipped, except in CI (CI=true), where it fails: CI installs it."""
    try:
        with postgres_server() as server:
            yield server
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the cluster tests: {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def postgres_url(postgres: Server) -> str:
    """The URL of a fresh database on the test run's PostgreSQL server."""
    return postgres.new_database()
