"""Small inline SVG bar charts, drawn on the server: one bar per day, no JavaScript.

Every piece of text in the drawing (the labels, each bar's tooltip) is escaped here, so
the result can be put into a page as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BAR_WIDTH = 4
BAR_GAP = 1
HEIGHT = 28
EMPTY_HEIGHT = 1  # a day with nothing is a baseline tick, so the days stay countable


@dataclass(frozen=True)
class Chart:
    label: str  # what is counted: "new articles", "failed fetches"
    colour: str  # a CSS colour, from the page's own constants
    days: Sequence[str]  # YYYY-MM-DD per bar, oldest first
    counts: Sequence[int]


def bars_svg(chart: Chart) -> str:
    """The chart as an ``<svg>`` element: one bar per day, the highest day filling it."""
    if len(chart.days) != len(chart.counts):
        raise ValueError(f"{len(chart.days)} days but {len(chart.counts)} counts")
    peak = max(chart.counts, default=0)
    total = sum(chart.counts)
    width = len(chart.counts) * (BAR_WIDTH + BAR_GAP) - BAR_GAP
    period = f"{chart.days[0]} to {chart.days[-1]}" if chart.days else "no days"
    summary = f"{total} {chart.label}, {period}; busiest day {peak}"
    bars = []
    for i, (day, count) in enumerate(zip(chart.days, chart.counts, strict=True)):
        height = max(round(HEIGHT * count / peak), 1) if count and peak else EMPTY_HEIGHT
        opacity = "" if count else ' fill-opacity="0.25"'
        bars.append(
            f'<rect x="{i * (BAR_WIDTH + BAR_GAP)}" y="{HEIGHT - height}" width="{BAR_WIDTH}"'
            f' height="{height}"{opacity} data-count="{count}">'
            f"<title>{escape(day)}: {count} {escape(chart.label)}</title></rect>"
        )
    return (
        f'<svg class="sparkline" xmlns="http://www.w3.org/2000/svg" role="img"'
        f' width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}"'
        f' fill="{escape(chart.colour)}" aria-label="{escape(summary)}">'
        f"<title>{escape(summary)}</title>{''.join(bars)}</svg>"
    )
