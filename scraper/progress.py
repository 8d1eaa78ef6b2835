"""Progress bars for long batch jobs: the one module that talks to tqdm."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(
    items: Iterable[T], *, total: int | None, description: str, enabled: bool = True
) -> Iterator[T]:
    """Yield ``items`` while drawing a bar on standard error (nothing when disabled)."""
    bar = tqdm(items, total=total, desc=description, unit="page", disable=not enabled, leave=True)
    try:
        yield from bar
    finally:
        bar.close()
