"""The grid map's pages and data endpoints.

Pages: ``/dashboard/map`` (officers and administrators), ``/cells/map`` (grid workers) and
the officer's cell page ``/dashboard/cells/<id>``. Data, for both maps: ``/map/...``
(GeoJSON, vector tiles, the panel and popups as HTML fragments rendered and escaped here,
and address search). Views are thin: parse, call a service, render.

The map's script is folium's, emitted inside the page with a per-response nonce, and the
page's Content-Security-Policy allows no other inline script.
"""

from __future__ import annotations

import json
import secrets
from functools import wraps

from flask import Blueprint, abort, jsonify, make_response, render_template, request, url_for
from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _

from geo.classes import class_of, colour_classes
from registry.accounts.models import Role
from registry.figures.web import refresh_after
from registry.grid.models import GridCell
from registry.labels import OCCUPANCY_LABELS, ORGANISATION_KIND_LABELS, USE_LABELS
from registry.map import page as spec
from registry.map import services, tiles
from registry.map.measures import MEASURES, CellValues
from registry.scope import get_in_scope
from registry.web import clock
from registry.web.auth import current_actor, roles_required
from registry.web.paging import page_number
from registry.web.session import db_session

desk = Blueprint("deskmap", __name__, url_prefix="/dashboard")
field = Blueprint("fieldmap", __name__, url_prefix="/cells")
data = Blueprint("map", __name__, url_prefix="/map")
BLUEPRINTS = (desk, field, data)

DWELLINGS_PER_PAGE = 50
MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"

desk_only = roles_required(Role.POLICE_OFFICER, Role.ADMIN)
worker_only = roles_required(Role.GRID_WORKER)
map_users = roles_required(Role.POLICE_OFFICER, Role.ADMIN, Role.GRID_WORKER)


def private(view):
    """Scoped data must not be kept by a shared cache; the browser may keep it briefly."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return wrapper


@desk.context_processor
@field.context_processor
@data.context_processor
def _labels() -> dict:
    return {
        "use_labels": {str(k): v for k, v in USE_LABELS.items()},
        "occupancy_labels": {str(k): v for k, v in OCCUPANCY_LABELS.items()},
        "organisation_kind_labels": {str(k): v for k, v in ORGANISATION_KIND_LABELS.items()},
        "status_labels": spec.status_labels(),
        "status_colours": spec.STATUS_COLOURS,
        "flag_rings": spec.flag_rings(),
        "page_url": _page_url,
    }


def _page_url(number: int) -> str:
    args = request.args.to_dict()
    args["page"] = number
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _station_id() -> int | None:
    """``?station=`` for administrators (a number or nothing); officers have their own."""
    raw = (request.args.get("station") or "").strip()
    if not raw or current_actor().role != Role.ADMIN:
        return None
    if not raw.isdigit():
        abort(404)
    return int(raw)


def _zoom() -> int:
    raw = request.args.get("z", "")
    return int(raw) if raw.isdigit() and int(raw) <= 22 else 12


# -- the pages ---------------------------------------------------------------------------


def _map_page(template: str):
    session, actor = db_session(), current_actor()
    station_id = _station_id()
    station = services.chosen_station(session, actor, station_id)
    state = spec.view_state(request.args)
    bounds = services.extent(session, actor, station_id)
    parts = spec.build_parts(actor.role, station_id, state, bounds)
    nonce = secrets.token_urlsafe(18)
    response = make_response(
        render_template(
            template,
            parts=parts,
            nonce=nonce,
            state=state,
            measures=MEASURES,
            station=station,
            stations=services.stations(session, actor),
            station_id=station_id,
        )
    )
    response.headers["Content-Security-Policy"] = content_security_policy(nonce)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def content_security_policy(nonce: str) -> str:
    """Scripts from the app and the nonce'd map script only; images also from the basemap."""
    images = "'self' data: blob:"
    tiles_config = spec.base_tiles()
    if tiles_config is not None:
        images += " " + _origin_of(tiles_config.url)
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'unsafe-inline'; img-src {images}; connect-src 'self'; "
        "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
    )


def _origin_of(url: str) -> str:
    scheme, _sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].replace("{s}", "*")
    return f"{scheme}://{host}" if rest else "'self'"


@desk.route("/map")
@desk_only
def map_page():
    return _map_page("map/desk_map.html")


@field.route("/map")
@worker_only
def map_page_field():
    return _map_page("map/field_map.html")


@desk.route("/cells/<int:cell_id>")
@desk_only
@private
def cell_page(cell_id: int):
    """An officer's cell: its figures and its dwellings with their status, paginated."""
    session, actor = db_session(), current_actor()
    today = clock.today()
    cell = get_in_scope(session, actor, GridCell, cell_id)
    raw_building = request.args.get("building", "")
    building_id = int(raw_building) if raw_building.isdigit() else None
    number = page_number()
    rows, total = services.cell_dwellings(
        session, actor, cell_id, today, number, DWELLINGS_PER_PAGE, building_id
    )
    values, as_of = services.cell_values(session, actor, [cell_id])
    building = services.building(session, actor, building_id, today) if building_id else None
    return render_template(
        "map/cell.html",
        cell=cell,
        figures=_figure_lines(values[cell_id]),
        as_of=as_of,
        rows=rows,
        total=total,
        page=number,
        pages=services.pages(total, DWELLINGS_PER_PAGE),
        building=building,
    )


# -- data: cells, boundaries, roads ------------------------------------------------------


def _geojson_response(features: list[str], **members) -> object:
    extra = "".join(f',"{key}":{json.dumps(value)}' for key, value in members.items())
    body = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]" + extra + "}"
    response = make_response(body)
    response.mimetype = "application/geo+json"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _feature(feature_id: int, properties: dict, geometry: str) -> str:
    return (
        f'{{"type":"Feature","id":{feature_id},"properties":{json.dumps(properties)},'
        f'"geometry":{geometry}}}'
    )


def _formatted(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "share":
        return format_percent(value, "#,##0%")
    if kind == "ratio":
        return format_decimal(value, "#,##0.0")
    return format_decimal(value, "#,##0")


def _class_label(colour_class, kind: str) -> str:
    low, high = _formatted(colour_class.low, kind), _formatted(colour_class.high, kind)
    return low if low == high else f"{low} – {high}"


@data.route("/cells.geojson")
@map_users
def cells():
    """The cells in scope with every measure's value and colour class, and the legend."""
    session, actor = db_session(), current_actor()
    station_id = _station_id()
    shapes = services.cell_shapes(session, actor, station_id, _zoom())
    today = clock.today()
    cell_values, as_of = services.cell_values(session, actor, [s.id for s in shapes])
    legend, classes_of = {}, {s.id: {} for s in shapes}
    values_of = {s.id: {} for s in shapes}
    for measure in MEASURES:
        values = {s.id: measure.value(cell_values[s.id]) for s in shapes}
        classes = colour_classes(
            list(values.values()),
            measure.step,
            measure.palette,
            measure.zero_class,
            measure.higher_is_worse,
        )
        legend[measure.key] = {
            "label": str(measure.label),
            "classes": [
                {"label": _class_label(c, measure.kind), "colour": c.colour} for c in classes
            ],
            "noData": any(v is None for v in values.values()),
            # A live measure is counted now: the figures' date would mislead under it.
            "asOfLabel": _("Counted now") if measure.live else None,
        }
        for cell_id, value in values.items():
            values_of[cell_id][measure.key] = _formatted(value, measure.kind)
            classes_of[cell_id][measure.key] = class_of(value, classes)
    features = [
        _feature(
            s.id,
            {
                "name": s.name,
                "code": s.code,
                "community": s.community,
                "values": values_of[s.id],
                "classes": classes_of[s.id],
            },
            s.geometry,
        )
        for s in shapes
    ]
    response = _geojson_response(
        features, legend=legend, asOf=as_of.isoformat() if as_of else None, asOfLabel=_as_of(as_of)
    )
    return refresh_after(response, today)


def _as_of(as_of) -> str:
    if as_of is None:
        return _("The figures have not been computed yet.")
    return _("Figures as of %(date)s", date=format_date(as_of, "long"))


@data.route("/boundaries/<kind>.geojson")
@map_users
def boundaries(kind: str):
    if kind not in services.BOUNDARY_KINDS:
        abort(404)
    shapes = services.boundaries(db_session(), current_actor(), kind, _station_id(), _zoom())
    return _geojson_response([_feature(s.id, {"name": s.name}, s.geometry) for s in shapes])


@data.route("/roads.geojson")
@map_users
def roads():
    shapes = services.roads(db_session(), current_actor(), _station_id(), _zoom())
    return _geojson_response([_feature(s.id, {"name": s.name}, s.geometry) for s in shapes])


# -- data: vector tiles ------------------------------------------------------------------


def _tile_response(tile: bytes):
    response = make_response(tile)
    response.mimetype = MVT_MIMETYPE
    response.headers["Cache-Control"] = "private, no-store"
    return response


@data.route("/tiles/buildings/<int:z>/<int:x>/<int:y>.pbf")
@map_users
def building_tile(z: int, x: int, y: int):
    if not tiles.valid_tile(z, x, y):
        return _tile_response(tiles.EMPTY_TILE)
    tile = tiles.buildings_tile(db_session(), current_actor(), z, x, y, clock.today(), spec.datum())
    return _tile_response(tile)


@data.route("/tiles/organisations/<int:z>/<int:x>/<int:y>.pbf")
@map_users
def organisation_tile(z: int, x: int, y: int):
    if not tiles.valid_tile(z, x, y):
        return _tile_response(tiles.EMPTY_TILE)
    tile = tiles.organisations_tile(db_session(), current_actor(), z, x, y, spec.datum())
    return _tile_response(tile)


# -- data: panel, popups, search ---------------------------------------------------------


def _figure_lines(cell: CellValues) -> list[tuple[str, str]]:
    """(label, value) of every measure of one cell, written for people."""
    if cell.figures is None and not cell.live_flags:
        return []
    return [
        (str(measure.label), _formatted(measure.value(cell), measure.kind)) for measure in MEASURES
    ]


@data.route("/cells/<int:cell_id>/panel")
@map_users
@private
def cell_panel(cell_id: int):
    session, actor = db_session(), current_actor()
    today = clock.today()
    cell = get_in_scope(session, actor, GridCell, cell_id)
    values, as_of = services.cell_values(session, actor, [cell_id])
    buildings, total = services.cell_buildings(session, actor, cell_id, today)
    return render_template(
        "map/_panel.html",
        cell=cell,
        figures=_figure_lines(values[cell_id]),
        as_of=as_of,
        buildings=buildings,
        total=total,
        role=actor.role,
        live_flags=values[cell_id].live_flags,
    )


@data.route("/buildings/<int:address_id>/popup")
@map_users
@private
def building_popup(address_id: int):
    session, actor = db_session(), current_actor()
    row = services.building(session, actor, address_id, clock.today())
    flag_counts = services.building_flags(session, actor, row.address.id)
    return render_template("map/_building.html", row=row, role=actor.role, flag_counts=flag_counts)


@data.route("/organisations/<int:organisation_id>/popup")
@map_users
@private
def organisation_popup(organisation_id: int):
    records = services.organisations_with(db_session(), current_actor(), organisation_id)
    return render_template(
        "map/_organisation.html", organisations=records, role=current_actor().role
    )


@data.route("/search", methods=["POST"])
@map_users
@private
def search():
    """Addresses matching the typed text. A POST, so nothing typed lands in a URL or log."""
    query = (request.form.get("q") or "").strip()[:100]
    hits, more = services.search(db_session(), current_actor(), query) if query else ([], False)
    return jsonify(
        results=[{"id": h.id, "text": h.text, "lon": h.lon, "lat": h.lat} for h in hits],
        more=more,
    )
