"""Session checks that must run before any test imports the code under test."""

from __future__ import annotations

import pytest

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
