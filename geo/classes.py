"""Colour classes for a choropleth: where to break a measure's values, and which colours.

Pure Python, no database: the map's cell colours and its legend come from here. Breaks are
quantiles of the values in the user's scope, rounded to numbers people read at a glance,
so each class holds a similar number of cells and the legend never reads "3.17–5.82".
Zero (nothing to do) is a class of its own for measures where zero is the good news.

Palettes are ColorBrewer sequential schemes that ColorBrewer marks colour-blind safe:
YlOrRd for problems (darker is worse), Blues for plain quantities (no judgement).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# ColorBrewer 2.0 (Cynthia Brewer, Apache-2.0), 5 classes each, lightest first.
YL_OR_RD = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
ZERO_COLOUR = "#f7f7f7"
NO_DATA_COLOUR = "#d9d9d9"
MAX_CLASSES = 5


@dataclass(frozen=True)
class ColourClass:
    """Values ``low <= v <= high`` (both rounded) drawn in ``colour``."""

    low: float
    high: float
    colour: str


def nice_ceiling(value: float, step: float) -> float:
    """``value`` rounded up to a multiple of ``step`` (1 for counts, 0.01 for shares)."""
    return round(math.ceil(value / step - 1e-9) * step, 10)


def quantile(ordered: Sequence[float], share: float) -> float:
    """The value below which ``share`` of the ordered values lie (nearest rank)."""
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def class_breaks(values: Sequence[float], step: float, classes: int = MAX_CLASSES) -> list[float]:
    """Strictly increasing upper bounds, at most ``classes`` of them, covering every value."""
    ordered = sorted(values)
    if not ordered:
        return []
    breaks: list[float] = []
    for k in range(1, classes + 1):
        bound = nice_ceiling(quantile(ordered, k / classes), step)
        if not breaks or bound > breaks[-1]:
            breaks.append(bound)
    return breaks


def colour_classes(
    values: Sequence[float | None],
    step: float,
    palette: Sequence[str],
    zero_class: bool,
    higher_is_worse: bool = True,
) -> list[ColourClass]:
    """The classes of a measure over ``values`` (None: no data, left out).

    With ``zero_class``, zero gets a pale class of its own and the palette spreads over the
    values above zero. With ``higher_is_worse`` False (a share of filings in order), the
    palette runs the other way, so the darkest colour still marks the most to do.
    """
    present = [v for v in values if v is not None]
    result: list[ColourClass] = []
    if zero_class:
        if any(v == 0 for v in present):
            result.append(ColourClass(0, 0, ZERO_COLOUR))
        present = [v for v in present if v > 0]
    breaks = class_breaks(present, step, min(MAX_CLASSES, len(palette)))
    colours = _spread(palette, len(breaks))
    if not higher_is_worse:
        colours = colours[::-1]
    low = min(present) if present else 0
    for bound, colour in zip(breaks, colours, strict=True):
        result.append(ColourClass(low, bound, colour))
        low = round(bound + step, 10)
    return result


def _spread(palette: Sequence[str], count: int) -> list[str]:
    """``count`` colours from the palette, as far apart as possible, light to dark."""
    if count <= 0:
        return []
    if count == 1:
        return [palette[-1]]
    last = len(palette) - 1
    return [palette[round(i * last / (count - 1))] for i in range(count)]


def class_of(value: float | None, classes: Sequence[ColourClass]) -> int | None:
    """Index of the class ``value`` falls into, None for no data."""
    if value is None:
        return None
    for index, colour_class in enumerate(classes):
        if value <= colour_class.high:
            return index
    return len(classes) - 1 if classes else None
