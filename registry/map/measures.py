"""What a grid cell can be coloured by: the measures, from the cell's precomputed figures
and its live flags.

A measure is a number per cell read off the cell's precomputed figures (registry/figures;
never a second count of the dwellings) or, for "open flags", off the flags themselves (open,
in review or confirmed, counted when asked, so a decision shows at once), with how to class
it (step, a zero class, which end is worse) and a ColorBrewer palette. Problems use YlOrRd
(darker: more to do); plain quantities, such as the transient population, use Blues:
counting people by residence kind is the registry's own statistics, never a reason to visit
anyone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from geo.classes import BLUES, YL_OR_RD
from registry.figures.services import Figures


@dataclass(frozen=True)
class CellValues:
    """What a cell's measures read: its precomputed figures (None before they were first
    computed) and how many live flags stand on its places now."""

    figures: Figures | None
    live_flags: int = 0


def _figure(read: Callable[[Figures], float | None]) -> Callable[[CellValues], float | None]:
    """A measure read off the precomputed figures: no value while there are none."""
    return lambda cell: None if cell.figures is None else read(cell.figures)


@dataclass(frozen=True)
class Measure:
    key: str
    label: object  # lazy, translated when shown
    value: Callable[[CellValues], float | None]
    kind: str  # "count", "share" or "ratio": how its numbers are written
    step: float
    zero_class: bool
    higher_is_worse: bool
    palette: tuple[str, ...]
    live: bool = False  # counted at each request, not read off the dated figures


MEASURES: tuple[Measure, ...] = (
    Measure(
        "unfiled",
        _l("Rented without a current filing"),
        _figure(lambda f: f.rented_unfiled),
        "count",
        1,
        True,
        True,
        YL_OR_RD,
    ),
    Measure(
        "pledged",
        _l("Current filings with both pledges"),
        _figure(lambda f: f.filings_pledged_share),
        "share",
        0.01,
        False,
        False,
        YL_OR_RD,
    ),
    Measure(
        "over_capacity",
        _l("Over-capacity dwellings"),
        _figure(lambda f: f.over_capacity),
        "count",
        1,
        True,
        True,
        YL_OR_RD,
    ),
    Measure(
        "occupants",
        _l("Occupants per dwelling"),
        _figure(lambda f: f.occupants_per_dwelling),
        "ratio",
        0.1,
        False,
        True,
        BLUES,
    ),
    Measure(
        "transient",
        _l("Transient population"),
        _figure(lambda f: f.transient),
        "count",
        1,
        True,
        True,
        BLUES,
    ),
    Measure(
        "open_flags",
        _l("Open flags"),
        lambda cell: cell.live_flags,
        "count",
        1,
        True,
        True,
        YL_OR_RD,
        live=True,
    ),
)
MEASURES_BY_KEY = {measure.key: measure for measure in MEASURES}
DEFAULT_MEASURE = MEASURES[0].key
