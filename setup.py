"""Build hook: the extraction core compiled with mypyc, the rest left as Python.

The same type-checked source runs either way; compiled, a page is extracted with
about a fifth fewer instructions (``bench/instructions.py``). Set
NEWSARCHIVE_PURE_PYTHON=1 to skip compiling; without a C compiler the install
goes on in pure Python with a warning rather than failing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

# Per page, the hot path: parse, scan, score, walk, clean, metadata, language, dates.
COMPILED = sorted(
    [
        "scraper/html.py",
        "scraper/language.py",
        "scraper/dates.py",
        "scraper/urls.py",
        *(str(path) for path in Path("scraper/extract").glob("*.py") if path.stem != "__init__"),
    ]
)
# Package __init__ files stay Python: mypyc gives a compiled package a wrong __path__
# when its group library lives inside a package.

# One shared library for the group, inside the package (not at the top of site-packages).
GROUP = "scraper._compiled"
PURE_PYTHON_VARIABLE = "NEWSARCHIVE_PURE_PYTHON"


class OptionalBuildExt(build_ext):
    """Compile the core, or leave it all as Python when this machine cannot."""

    def run(self) -> None:
        try:
            super().run()
            self._mark_fresh()
        except Exception as error:  # compiler missing or failing: any of several types
            for extension in self.extensions:  # all or nothing: no half-compiled group
                Path(self.get_ext_fullpath(extension.name)).unlink(missing_ok=True)
            print(
                f"warning: newsarchive's core was not compiled ({error}); "
                "it runs as pure Python, about a fifth slower",
                file=sys.stderr,
            )

    def _mark_fresh(self) -> None:
        """A rebuild of unchanged sources reuses the old objects, with their old times:
        date the modules now, so they are not taken for older than their sources
        (scraper/compiled.py), e.g. after a checkout that rewrote the same files."""
        for extension in self.extensions:
            for path in (self.get_ext_fullpath(extension.name), self._source_copy(extension)):
                if path is not None and Path(path).exists():
                    os.utime(path)

    def _source_copy(self, extension: Any) -> str | None:
        """Where an editable install copies the module: beside its source (flat layout)."""
        if not getattr(self, "editable_mode", False) or self.inplace:
            return None
        filename = os.path.basename(self.get_ext_fullpath(extension.name))
        return os.path.join(*extension.name.split(".")[:-1], filename)


def extension_modules() -> list[Any]:
    if os.environ.get(PURE_PYTHON_VARIABLE, "") not in ("", "0"):
        return []
    try:
        from mypyc.build import mypycify

        return list(mypycify(COMPILED, opt_level="3", group_name=GROUP))
    except (Exception, SystemExit) as error:  # mypyc exits on a type error it cannot compile
        # tests/test_compiled.py fails where a compiler exists, so CI does not miss this.
        print(f"warning: newsarchive's core cannot be compiled ({error!r})", file=sys.stderr)
        return []


setup(ext_modules=extension_modules(), cmdclass={"build_ext": OptionalBuildExt})
