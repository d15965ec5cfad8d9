"""What a sweep team-day's map shows, as a MapSpec for geo/map.py: one layer (the day's
numbered stops and route, from the scoped GeoJSON endpoint), the configured basemap if
any, and the texts of the shared map script (loading, "where am I").

The page's view of the map (centre, zoom) is kept in its URL by js/map.js, as on the grid
maps; switching days drops it, so each day opens around its own route.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from geo import gcj02
from geo.map import MapParts, MapSpec, Overlay, build_map, render_parts
from registry.map.page import ViewState, base_tiles, datum, map_texts
from registry.sweeps.daymap import DayMap

LAYER_KEY = "stops"


def sweep_texts(shared: dict[str, str]) -> dict[str, str]:
    """The words js/sweep_map.js puts on the map (as text, never as HTML)."""
    return {
        "loading": shared["loading"],
        "failed": shared["failed"],
        "start": _("Start"),
        "stopsDone": _("Stops %(label)s: done", label="{label}"),
        "stopsPartly": _(
            "Stops %(label)s: %(done)s of %(stops)s done",
            label="{label}",
            done="{done}",
            stops="{stops}",
        ),
        "stopsToDo": _("Stops %(label)s: to visit", label="{label}"),
    }


def build_parts(found: DayMap, state: ViewState) -> MapParts:
    """The folium map of one team-day: around its route, or where the URL left it."""
    texts = map_texts()
    center = None
    if state.lat is not None and state.lon is not None and state.zoom is not None:
        center = _shown(state.lon, state.lat)
    (south, west), (north, east) = found.bounds()
    south, west = _shown(west, south)
    north, east = _shown(east, north)
    overlay = Overlay(
        LAYER_KEY,
        _("Stops of day %(number)s", number=found.day),
        "sweep_day",
        url_for("sweeps.day_geojson", sweep_id=found.sweep.id, day=found.day),
        options={"datum": datum(), "texts": sweep_texts(texts)},
    )
    spec = MapSpec(
        asset=lambda name: url_for("static", filename=name),
        overlays=[overlay],
        config={"measure": "", "datum": datum(), "texts": texts},
        bounds=((south, west), (north, east)),
        center=center,
        zoom=state.zoom if center else None,
        base_tiles=base_tiles(),
        layer_control=False,
        fit_padding=36,  # a whole pin at the edge, not half of one
    )
    fmap, names = build_map(spec)
    return render_parts(fmap, names)


def _shown(lon: float, lat: float) -> tuple[float, float]:
    """(lat, lon) as the map draws it: shifted onto a GCJ-02 basemap when there is one."""
    if datum() == "gcj02":
        lon, lat = gcj02.to_gcj02(lon, lat)
    return lat, lon
