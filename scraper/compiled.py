"""Which of our modules run compiled (mypyc, see setup.py), and whether any is stale.

The compiled and the pure Python core are the same source; a benchmark or a bug
report should still say which one ran, and a developer who edits a module after
installing must not run the old compiled one without knowing.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent


def _compiled_files(root: Path) -> dict[Path, Path]:
    """Each compiled module under ``root`` -> the source it was compiled from."""
    found: dict[Path, Path] = {}
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for extension in root.rglob(f"*{suffix}"):
            source = extension.with_name(extension.name[: -len(suffix)] + ".py")
            if source.exists():
                found[extension] = source
    return found


def compiled_modules(root: Path = PACKAGE_ROOT) -> list[str]:
    """Dotted names of the modules under ``root`` that import as compiled extensions."""
    names = []
    for source in _compiled_files(root).values():
        relative = source.relative_to(root.parent).with_suffix("")
        name = ".".join(relative.parts)
        spec = importlib.util.find_spec(name)
        if spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            names.append(name)
    return sorted(names)


def stale_modules(root: Path = PACKAGE_ROOT) -> list[Path]:
    """Sources edited after their compiled module was built: Python would import the
    old compiled code, not the edit. Only a source tree can tell: in an installed
    wheel the file times are the order pip unpacked the files in."""
    if {"site-packages", "dist-packages"} & set(root.parts):
        return []
    return sorted(
        source
        for extension, source in _compiled_files(root).items()
        if source.stat().st_mtime > extension.stat().st_mtime
    )
