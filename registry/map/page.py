"""What each user's map shows: layers, measures, texts and view, as a MapSpec for geo/map.py.

The view state (measure, layers, centre, zoom) lives in the page's URL: the page is built
in that state, and js/map.js writes every change back with ``history.replaceState``, so
Back and a shared link both restore the view.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import gettext as _

from geo import gcj02
from geo.classes import NO_DATA_COLOUR
from geo.map import (
    BUILDING_MIN_ZOOM,
    MAX_ZOOM,
    BaseTiles,
    MapParts,
    MapSpec,
    Overlay,
    build_map,
    render_parts,
)
from registry.accounts.models import Role
from registry.dwelling.status import Worst
from registry.flags.models import FlagState
from registry.map.measures import DEFAULT_MEASURE, MEASURES, MEASURES_BY_KEY

# Worst first, as the map draws buildings: YlOrRd for problems, a quiet blue for in order.
STATUS_COLOURS = {
    Worst.OVER_CAPACITY: "#bd0026",
    Worst.UNFILED: "#f03b20",
    Worst.PLEDGE_MISSING: "#fd8d3c",
    Worst.OCCUPANCY: "#fecc5c",
    Worst.IN_ORDER: "#4a90c2",
    Worst.NO_DWELLINGS: "#ffffff",
}


@dataclass(frozen=True)
class Ring:
    """How a building's marker shows its live flags: a ring around the dot, whose colour
    and line both say the state, so that it reads without colour too."""

    colour: str
    dash: str | None  # SVG stroke-dasharray; None draws a solid line
    label: str

    def as_config(self, state: str) -> dict[str, str | None]:
        return {"state": state, "colour": self.colour, "dash": self.dash}


RING_WIDTH = 4


def flag_rings() -> dict[str, Ring]:
    """The ring of each state a marker shows (registry/map/services.py, most urgent first):
    open solid, in review dashed, confirmed dotted."""
    return {
        str(FlagState.OPEN): Ring("#c51b7d", None, _("Open: nobody has taken it up yet")),
        str(FlagState.IN_REVIEW): Ring("#6a51a3", "7 4", _("In review")),
        str(FlagState.CONFIRMED): Ring("#1f2933", "0.1 6.5", _("Confirmed: to be resolved")),
    }


def status_labels() -> dict[Worst, str]:
    return {
        Worst.OVER_CAPACITY: _("Over capacity"),
        Worst.UNFILED: _("Rented without a current filing"),
        Worst.PLEDGE_MISSING: _("Filed, pledge missing"),
        Worst.OCCUPANCY: _("Occupancy contradicts residents"),
        Worst.IN_ORDER: _("In order"),
        Worst.NO_DWELLINGS: _("No dwellings recorded"),
    }


@dataclass(frozen=True)
class ViewState:
    """The map's state as the URL gives it (already checked)."""

    measure: str
    layers: frozenset[str] | None  # None: each layer's default
    lat: float | None
    lon: float | None
    zoom: int | None


def _number(raw: str | None, low: float, high: float) -> float | None:
    try:
        value = float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and low <= value <= high else None


def view_state(args) -> ViewState:
    """Read ``m``, ``l``, ``lat``, ``lon`` and ``z`` from the query; ignore what is wrong."""
    measure = args.get("m") if args.get("m") in MEASURES_BY_KEY else DEFAULT_MEASURE
    layers = None
    if "l" in args:
        layers = frozenset(key for key in args.get("l", "").split(",") if key)
    zoom = _number(args.get("z"), 0, MAX_ZOOM)
    return ViewState(
        measure=measure,
        layers=layers,
        lat=_number(args.get("lat"), -85, 85),
        lon=_number(args.get("lon"), -180, 180),
        zoom=int(zoom) if zoom is not None else None,
    )


def base_tiles() -> BaseTiles | None:
    """The basemap configured with REGISTRY_MAP_TILE_URL; none by default (no internet)."""
    url = current_app.config.get("MAP_TILE_URL")
    if not url:
        return None
    datum = str(current_app.config.get("MAP_TILE_DATUM", "wgs84")).lower()
    return BaseTiles(
        url=url,
        attribution=current_app.config.get("MAP_TILE_ATTRIBUTION", ""),
        datum="gcj02" if datum == "gcj02" else "wgs84",
    )


def datum() -> str:
    tiles = base_tiles()
    return tiles.datum if tiles else "wgs84"


def _overlays(role: Role, station_id: int | None, state: ViewState) -> list[Overlay]:
    station = {"station": station_id} if station_id is not None else {}
    tile_args = {"z": 0, "x": 0, "y": 0}

    def tile_url(endpoint: str) -> str:
        # Leaflet fills in {z}/{x}/{y}; url_for needs numbers, so swap them in afterwards.
        return url_for(endpoint, **tile_args).replace("/0/0/0.", "/{z}/{x}/{y}.")

    layers = [
        Overlay("cells", _("Grid cells"), "cells", url_for("map.cells", **station)),
    ]
    if role != Role.GRID_WORKER:
        layers += [
            Overlay(
                "communities",
                _("Communities"),
                "outline",
                url_for("map.boundaries", kind="communities", **station),
            ),
            Overlay(
                "stations",
                _("Police stations"),
                "outline",
                url_for("map.boundaries", kind="stations", **station),
                show=False,
            ),
        ]
    layers += [
        Overlay(
            "focus_areas",
            _("Focus areas"),
            "outline",
            url_for("map.boundaries", kind="focus_areas", **station),
        ),
        Overlay("roads", _("Roads"), "roads", url_for("map.roads", **station)),
        Overlay("buildings", _("Buildings (from zoom 16)"), "tiles", tile_url("map.building_tile")),
        # Not a layer of its own: the rings of the buildings' markers, shown or hidden.
        Overlay("flags", _("Flags on buildings"), "flags", ""),
        Overlay(
            "organisations",
            _("Organisations (from zoom 16)"),
            "tiles",
            tile_url("map.organisation_tile"),
            show=False,
        ),
    ]
    if state.layers is None:
        return layers
    return [Overlay(o.key, o.label, o.kind, o.url, show=o.key in state.layers) for o in layers]


def map_texts() -> dict[str, str]:
    """The texts js/map.js says (loading, failures, "where am I"), for every map page."""
    return {
        "loading": _("Loading…"),
        "failed": _("Could not load. Check the connection and try again."),
        "noData": _("No figures"),
        "asOf": _("Figures as of %(date)s", date="{date}"),
        "noResults": _("No address found in your area."),
        "moreResults": _("More addresses match: type more of the address."),
        "locating": _("Finding where you are…"),
        "located": _("You are here (within %(metres)s m).", metres="{metres}"),
        "locateFailed": _("The tablet could not tell where you are."),
        "locateInsecure": _(
            "Location needs a secure connection (HTTPS). Ask the office to serve the "
            "registry over HTTPS."
        ),
        "basemap": _("Basemap"),
    }


def _config(role: Role, station_id: int | None, state: ViewState) -> dict:
    station = {"station": station_id} if station_id is not None else {}
    return {
        "measure": state.measure,
        "measures": [{"key": m.key, "label": str(m.label)} for m in MEASURES],
        "panelUrl": url_for("map.cell_panel", cell_id=0).replace("/0/", "/{id}/"),
        "buildingUrl": url_for("map.building_popup", address_id=0).replace("/0/", "/{id}/"),
        "organisationUrl": url_for("map.organisation_popup", organisation_id=0).replace(
            "/0/", "/{id}/"
        ),
        "searchUrl": url_for("map.search"),
        "station": station.get("station"),
        "datum": datum(),
        "buildingMinZoom": BUILDING_MIN_ZOOM,
        "statusColours": {int(k): v for k, v in STATUS_COLOURS.items()},
        # A list: folium writes dict keys in camelCase ("in_review" would be "inReview").
        "flagRings": [ring.as_config(state) for state, ring in flag_rings().items()],
        "ringWidth": RING_WIDTH,
        "noDataColour": NO_DATA_COLOUR,
        "locate": role == Role.GRID_WORKER,
        "texts": map_texts(),
    }


def build_parts(role: Role, station_id: int | None, state: ViewState, bounds) -> MapParts:
    """The folium map of one user's page, rendered into head, body and script."""
    center = None
    if state.lat is not None and state.lon is not None and state.zoom is not None:
        lon, lat = state.lon, state.lat
        if datum() == "gcj02":
            lon, lat = gcj02.to_gcj02(lon, lat)
        center = (lat, lon)
    spec = MapSpec(
        asset=lambda name: url_for("static", filename=name),
        overlays=_overlays(role, station_id, state),
        config=_config(role, station_id, state),
        bounds=_display_bounds(bounds),
        center=center,
        zoom=state.zoom if center else None,
        base_tiles=base_tiles(),
        collapsed_layers=True,
    )
    fmap, names = build_map(spec)
    return render_parts(fmap, names)


def _display_bounds(bounds):
    if bounds is None or datum() != "gcj02":
        return bounds
    (south, west), (north, east) = bounds
    west, south = gcj02.to_gcj02(west, south)
    east, north = gcj02.to_gcj02(east, north)
    return (south, west), (north, east)
