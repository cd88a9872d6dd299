"""The record's pictures' geometry: bars per edition and country (participants, AGM voters)
and, per country, a bar split by what became of the recommendations.

The templates draw server-side SVG from these plain structures (no JavaScript), each with a
text alternative built from the same numbers. Series are codes (a country, an outcome) that the
templates name in the reader's language; nothing here formats for a language.
"""

from __future__ import annotations

import msgspec

LABEL_WIDTH = 110  # room for "2017-2018" or a country's name left of the bars
BAR_SPACE = 420  # the longest bar
BAR = 16  # one bar's height
GAP = 10  # between two rows


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    series: str  # a country code
    value: int
    y: int
    width: float


class BarRow(msgspec.Struct, frozen=True, kw_only=True):
    label: str  # an edition's slug
    y: int  # the row's label line
    bars: list[Bar]


class GroupedBars(msgspec.Struct, frozen=True, kw_only=True):
    """One row per label (an edition) with one bar per series (a country)."""

    width: int
    height: int
    bar_x: int
    series: list[str]
    rows: list[BarRow]
    largest: int


def grouped_bars(
    rows: list[tuple[str, list[tuple[str, int | None]]]], series: list[str]
) -> GroupedBars | None:
    """Bars of ``rows`` [(label, [(series, value)])]; a missing or None value has no bar.
    None when there is nothing to draw."""
    values = [v for _label, bars in rows for _s, v in bars if v is not None]
    if not values:
        return None
    largest = max(values)
    scale = BAR_SPACE / largest if largest else 0.0
    drawn, y = [], 4
    for label, bars in rows:
        known = {s: v for s, v in bars if v is not None}
        these = []
        for i, name in enumerate(s for s in series if s in known):
            these.append(
                Bar(
                    series=name,
                    value=known[name],
                    y=y + i * (BAR + 2),
                    width=round(known[name] * scale, 1),
                )
            )
        height = max(1, len(these)) * (BAR + 2)
        drawn.append(BarRow(label=label, y=y + height // 2 + 5, bars=these))
        y += height + GAP
    return GroupedBars(
        width=LABEL_WIDTH + BAR_SPACE + 60,
        height=y,
        bar_x=LABEL_WIDTH,
        series=series,
        rows=drawn,
        largest=largest,
    )


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # an outcome (or "pending")
    value: int
    x: float
    width: float


class StackRow(msgspec.Struct, frozen=True, kw_only=True):
    label: str  # a country code
    y: int
    total: int
    segments: list[Segment]


class StackedBars(msgspec.Struct, frozen=True, kw_only=True):
    """One bar per label (a country), split into segments (outcomes), all on one scale."""

    width: int
    height: int
    bar_x: int
    keys: list[str]
    rows: list[StackRow]


def stacked_bars(rows: list[tuple[str, dict[str, int]]], keys: list[str]) -> StackedBars | None:
    """A bar per row, its segments in the order of ``keys`` (empty ones left out). None when
    every row is empty."""
    largest = max((sum(parts.values()) for _label, parts in rows), default=0)
    if not largest:
        return None
    scale = BAR_SPACE / largest
    drawn = []
    for index, (label, parts) in enumerate(rows):
        y = 4 + index * (BAR + 2 * GAP)
        x = float(LABEL_WIDTH)
        segments = []
        for key in keys:
            value = parts.get(key, 0)
            if value:
                width = round(value * scale, 1)
                segments.append(Segment(key=key, value=value, x=round(x, 1), width=width))
                x += width
        drawn.append(StackRow(label=label, y=y, total=sum(parts.values()), segments=segments))
    return StackedBars(
        width=LABEL_WIDTH + BAR_SPACE + 60,
        height=4 + len(rows) * (BAR + 2 * GAP),
        bar_x=LABEL_WIDTH,
        keys=keys,
        rows=drawn,
    )
