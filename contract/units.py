"""Sizes as a reader reads them, the same in the daemon's messages and in scraper status."""

from __future__ import annotations


def human_bytes(count: int) -> str:
    """``count`` bytes in B, KiB, MiB or GiB: whole bytes, one decimal above."""
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
