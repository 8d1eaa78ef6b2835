"""Find what rendering needs (Playwright and the system's Chromium) before any fetch.

Playwright is asked to drive the browser found here (``executable_path``); it is never
asked to download one of its own builds.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from scraper.config import RenderSettings, Source

CHROMIUM_NAMES = ("chromium", "chromium-browser")
DEBIAN_CHROMIUM = "/usr/bin/chromium"


class RenderUnavailable(Exception):
    """Rendering was asked for and cannot be done; the message is one line for the user."""


def rendering_sources(sources: Iterable[Source]) -> list[Source]:
    return [s for s in sources if s.render != "never"]


def find_chromium(settings: RenderSettings) -> str | None:
    """The browser to drive: ``[render] chromium`` (a path or a name on PATH), else
    Debian's /usr/bin/chromium, else chromium or chromium-browser on PATH."""
    if settings.chromium is not None:
        wanted = settings.chromium
        if "/" in wanted:
            return wanted if _executable(wanted) else None
        return shutil.which(wanted)
    if _executable(DEBIAN_CHROMIUM):
        return DEBIAN_CHROMIUM
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def playwright_installed() -> bool:
    return importlib.util.find_spec("playwright") is not None


def check_rendering(
    settings: RenderSettings, sources: Iterable[Source], config: Path
) -> str | None:
    """The Chromium to use when some source renders, None when none does.

    Raises :class:`RenderUnavailable` naming the source, the missing piece and the fix.
    """
    wanting = rendering_sources(sources)
    if not wanting:
        return None
    first = wanting[0]
    who = f'{config}: source {first.name} has render = "{first.render}"'
    if not playwright_installed():
        raise RenderUnavailable(
            f"{who}, which needs Playwright: pip install -e '.[render]' (it drives the "
            "system's Chromium; no browser is downloaded)"
        )
    chromium = find_chromium(settings)
    if chromium is None:
        wanted = settings.chromium or f"{DEBIAN_CHROMIUM} (or chromium on PATH)"
        raise RenderUnavailable(
            f"{who}, but the browser {wanted} is missing: install Debian's chromium "
            "(apt-get install chromium) or set [render] chromium to its path"
        )
    return chromium


def _executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)
