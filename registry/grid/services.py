"""Grid cells 网格 (their polygons and workers) and focus areas 重点区域, for administrators.

A cell's polygon comes from an uploaded GeoJSON file or a drawing on the admin map. It
must be one valid polygon inside its community that does not overlap another cell. The
addresses' cells are derived by a database trigger when a polygon changes; the services
count, in SQL, how many addresses joined or left the cell so the user sees the effect.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import shapely
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import shape as shape_from_geojson
from sqlalchemy import Integer, any_, bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from geo.cells import SplitError, overlap_width_exceeds, snap_to_neighbours, split_polygon
from geo.checks import BOUNDARY_TOLERANCE_DEGREES, check_valid_polygon, check_within_parent
from geo.local import LocalFrame
from registry.accounts.models import Role, UserAccount
from registry.address.models import Address, Road
from registry.area.models import Community, SubDistrict
from registry.audit.services import Action, changed, record
from registry.db import SRID
from registry.edits import check_version
from registry.errors import InvalidInput, NotFound
from registry.grid.models import FocusArea, GridCell, focus_area_cell, grid_cell_worker
from registry.scope import get_in_scope, grid_cell_filter
from registry.validators import FieldError, ValidationErrors, validate_name

MAX_VERTICES = 5000
COORDINATE_DIGITS = 7  # about 1 cm: enough for a map, small enough for a page
CODE_PATTERN = r"^[0-9A-Za-z\-]{1,20}$"
FOCUS_NAME_LENGTH = 100
DESCRIPTION_LENGTH = 2000


def _require_admin(actor: UserAccount) -> None:
    if actor is None or actor.role != Role.ADMIN:
        raise NotFound()


# -- GeoJSON ---------------------------------------------------------------------------------


def _geometry_member(data: Any, field: str) -> dict:
    """The geometry object of a Polygon/MultiPolygon, a Feature, or a one-feature collection."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise FieldError(field, _l("This is not a GeoJSON object"))
    kind = data["type"]
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise FieldError(field, _l("The file must hold exactly one feature"))
        return _geometry_member(features[0], field)
    if kind == "Feature":
        geometry = data.get("geometry")
        if not isinstance(geometry, dict):
            raise FieldError(field, _l("The feature has no geometry"))
        return _geometry_member(geometry, field)
    if kind in ("Polygon", "MultiPolygon"):
        return data
    if kind in ("Point", "MultiPoint", "LineString", "MultiLineString", "GeometryCollection"):
        raise FieldError(field, _l("The shape must be a polygon"))
    raise FieldError(field, _l("This is not a GeoJSON object"))


def parse_cell_geojson(text: str, field: str = "geometry") -> shapely.Polygon:
    """One valid lon/lat polygon from GeoJSON text, or a FieldError saying what is wrong."""
    if not text or not text.strip():
        raise FieldError(field, _l("Upload a GeoJSON file or draw the cell on the map"))
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FieldError(field, _l("The file is not valid JSON")) from None
    member = _geometry_member(data, field)
    try:
        geometry = shape_from_geojson(member)
    except Exception:  # shapely raises many kinds for malformed coordinate arrays
        raise FieldError(field, _l("The coordinates of the shape are malformed")) from None
    geometry = shapely.force_2d(geometry)
    if geometry.geom_type == "MultiPolygon":
        if len(geometry.geoms) != 1:
            raise FieldError(field, _l("A grid cell must be one polygon, not several parts"))
        geometry = geometry.geoms[0]
    if shapely.get_num_coordinates(geometry) > MAX_VERTICES:
        raise FieldError(field, _l("The shape has too many points"))
    if not geometry.is_empty:
        min_x, min_y, max_x, max_y = geometry.bounds
        if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
            raise FieldError(
                field, _l("Coordinates must be longitude and latitude (WGS 84, EPSG:4326)")
            )
    check_valid_polygon(geometry, field)
    return geometry


def polygon_geojson(polygon: shapely.Polygon) -> str:
    """GeoJSON text of a polygon (for a form field the map reads back)."""
    return json.dumps(shapely.geometry.mapping(polygon))


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommunityOption:
    id: int
    name: str
    sub_district: str
    cells: int


def communities(session: Session, actor: UserAccount) -> list[CommunityOption]:
    """Communities with their number of grid cells, for the cell pages' community chooser."""
    _require_admin(actor)
    cells = (
        select(func.count())
        .where(GridCell.community_id == Community.id, grid_cell_filter(actor))
        .correlate(Community)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Community.id, Community.name, SubDistrict.name, cells)
        .join(SubDistrict, SubDistrict.id == Community.sub_district_id)
        .order_by(Community.code)
    )
    return [CommunityOption(*row) for row in rows]


def get_community(session: Session, actor: UserAccount, community_id: int) -> Community:
    _require_admin(actor)
    community = session.get(Community, community_id)
    if community is None:
        raise NotFound()
    return community


@dataclass(frozen=True)
class CellRow:
    cell: GridCell
    addresses: int
    workers: list[str]


def list_cells(session: Session, actor: UserAccount, community_id: int) -> list[CellRow]:
    """A community's cells with their number of addresses and their workers' usernames."""
    _require_admin(actor)
    addresses = (
        select(func.count())
        .where(Address.grid_cell_id == GridCell.id)
        .correlate(GridCell)
        .scalar_subquery()
    )
    workers = (
        select(func.array_agg(UserAccount.username))
        .join(grid_cell_worker, grid_cell_worker.c.user_id == UserAccount.id)
        .where(grid_cell_worker.c.grid_cell_id == GridCell.id)
        .correlate(GridCell)
        .scalar_subquery()
    )
    rows = session.execute(
        select(GridCell, addresses, workers)
        .where(GridCell.community_id == community_id, grid_cell_filter(actor))
        .order_by(GridCell.code)
    ).all()
    return [CellRow(cell, count, sorted(names or [])) for cell, count, names in rows]


def get_cell(session: Session, actor: UserAccount, cell_id: int) -> GridCell:
    _require_admin(actor)
    return get_in_scope(session, actor, GridCell, cell_id)


def cell_address_count(session: Session, cell_id: int) -> int:
    return session.scalar(select(func.count()).where(Address.grid_cell_id == cell_id)) or 0


@dataclass(frozen=True)
class CellChoice:
    id: int
    label: str


def cell_choices(
    session: Session, actor: UserAccount, *, community_id: int | None = None, ids=()
) -> list[CellChoice]:
    """Cells of a community and/or with the given ids, labelled "community · name (code)"."""
    _require_admin(actor)
    ids = set(ids or ())
    if community_id is None and not ids:
        return []
    conditions = []
    if community_id is not None and ids:
        conditions.append(GridCell.id.in_(ids) | (GridCell.community_id == community_id))
    elif community_id is not None:
        conditions.append(GridCell.community_id == community_id)
    else:
        conditions.append(GridCell.id.in_(ids))
    rows = session.execute(
        select(GridCell.id, Community.name, GridCell.name, GridCell.code)
        .join(Community, Community.id == GridCell.community_id)
        .where(*conditions, grid_cell_filter(actor))
        .order_by(GridCell.code)
    )
    return [
        CellChoice(cid, f"{community} · {name} ({code})") for cid, community, name, code in rows
    ]


def _feature(geojson_text: str, **properties) -> dict:
    return {"type": "Feature", "geometry": json.loads(geojson_text), "properties": properties}


def cell_map_data(
    session: Session, actor: UserAccount, community_id: int, cell_id: int | None = None
) -> dict:
    """GeoJSON for the drawing map: the community, the cell itself, and its neighbours.

    Neighbours are every other cell touching the community's outline box, so that cells
    of the next community show too.
    """
    _require_admin(actor)
    community = session.execute(
        select(Community.name, func.ST_AsGeoJSON(Community.geom, COORDINATE_DIGITS)).where(
            Community.id == community_id
        )
    ).one_or_none()
    if community is None:
        raise NotFound()
    envelope = (
        select(func.ST_Envelope(Community.geom))
        .where(Community.id == community_id)
        .scalar_subquery()
    )
    cells = session.execute(
        select(
            GridCell.id,
            GridCell.code,
            GridCell.name,
            GridCell.community_id == community_id,
            func.ST_AsGeoJSON(GridCell.geom, COORDINATE_DIGITS),
        )
        .where(func.ST_Intersects(GridCell.geom, envelope), grid_cell_filter(actor))
        .order_by(GridCell.code)
    ).all()
    features = {
        cid: _feature(geometry, id=cid, code=code, name=name, own=own)
        for cid, code, name, own, geometry in cells
    }
    current = features.pop(cell_id, None)
    neighbours = list(features.values())
    return {
        "community": _feature(community[1], name=community[0]),
        "cell": current,
        "neighbours": {"type": "FeatureCollection", "features": neighbours},
        "roads": _collection(_road_features(session, envelope)),
        "buildings": _collection(_building_features(session, envelope)),
    }


MAP_BUILDINGS_LIMIT = 3000


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _road_features(session: Session, envelope) -> list[dict]:
    """The registry's roads across the community's box, with their names (no basemap)."""
    rows = session.execute(
        select(Road.name, func.ST_AsGeoJSON(Road.geom, 6))
        .where(Road.geom.is_not(None), func.ST_Intersects(Road.geom, envelope))
        .order_by(Road.id)
    )
    return [_feature(geometry, name=name) for name, geometry in rows]


def _building_features(session: Session, envelope) -> list[dict]:
    """Door-level addresses (buildings) in the community's box, labelled 号/栋."""
    rows = session.execute(
        select(Address.door_number, Address.building, func.ST_AsGeoJSON(Address.geom, 6))
        .where(Address.parent_id.is_(None), func.ST_Intersects(Address.geom, envelope))
        .order_by(Address.id)
        .limit(MAP_BUILDINGS_LIMIT)
    )
    return [
        _feature(geometry, label=f"{door}号" + (f"{building}栋" if building else ""))
        for door, building, geometry in rows
    ]


# -- writing cells ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CellInput:
    code: str
    name: str
    community_id: int | None = None
    geometry_text: str | None = None  # GeoJSON; None or empty keeps the polygon on edit
    geometry_field: str = "geometry"  # the form field that errors about the shape go to
    clip: bool = False  # cut away what lies outside the community or over other cells


@dataclass(frozen=True)
class CellChange:
    """A saved cell and what its polygon change did to the addresses' cells."""

    cell: GridCell
    joined: int  # addresses whose cell became this one
    left: int  # addresses that were in this cell and now are in another or none
    geometry_changed: bool


def _clip(session: Session, polygon, community: Community, cell_id: int | None):
    """The polygon cut to the community and with other cells' area removed, in PostGIS."""
    shape = from_shape(polygon, srid=SRID)
    others = (
        select(func.ST_Union(GridCell.geom))
        .where(func.ST_Intersects(GridCell.geom, shape), GridCell.id.is_distinct_from(cell_id))
        .scalar_subquery()
    )
    inside = func.ST_Intersection(shape, community.geom)
    clipped = func.ST_CollectionExtract(
        func.ST_MakeValid(
            func.ST_Difference(
                inside, func.coalesce(others, func.ST_GeomFromText("POLYGON EMPTY", SRID))
            )
        ),
        3,
    )
    result = session.scalar(select(func.ST_AsBinary(clipped)))
    return shapely.from_wkb(bytes(result)) if result is not None else None


@dataclass(frozen=True)
class _Neighbour:
    code: str
    name: str
    shape: shapely.Polygon


def _neighbours(session: Session, polygon, cell_id: int | None) -> list[_Neighbour]:
    """Other cells within about a metre of the polygon, as shapely shapes."""
    near = from_shape(polygon.buffer(BOUNDARY_TOLERANCE_DEGREES), srid=SRID)
    rows = session.execute(
        select(GridCell.code, GridCell.name, func.ST_AsBinary(GridCell.geom)).where(
            func.ST_Intersects(GridCell.geom, near), GridCell.id.is_distinct_from(cell_id)
        )
    )
    return [_Neighbour(code, name, shapely.from_wkb(bytes(wkb))) for code, name, wkb in rows]


def snapped_polygon(
    polygon: shapely.Polygon, neighbours: list[_Neighbour]
) -> tuple[shapely.Polygon, list[tuple[_Neighbour, float]]]:
    """The polygon snapped to its neighbours' edges (geo.cells, in a local metric frame),
    and the neighbours it still overlaps by more than a sliver, with the overlap in m²."""
    frame = LocalFrame.around(polygon)
    local = frame.to_metres(polygon)
    shapes = [frame.to_metres(n.shape) for n in neighbours]
    snapped = snap_to_neighbours(local, shapes)
    overlaps = []
    for neighbour, shape in zip(neighbours, shapes):
        overlap = snapped.intersection(shape)
        if overlap_width_exceeds(overlap):
            overlaps.append((neighbour, overlap.area))
    overlaps.sort(key=lambda pair: -pair[1])
    if snapped.equals(local):
        return polygon, overlaps  # nothing moved: keep the coordinates as they were sent
    result = frame.to_degrees(snapped)
    return shapely.set_precision(result, 10**-COORDINATE_DIGITS), overlaps


def _checked_polygon(
    session: Session, data: CellInput, community: Community, cell_id: int | None
) -> shapely.Polygon:
    """Parse, optionally clip, and check the polygon; raises FieldError."""
    field = data.geometry_field
    polygon = parse_cell_geojson(data.geometry_text, field)
    if data.clip:
        clipped = _clip(session, polygon, community, cell_id)
        if clipped is None or clipped.is_empty:
            raise FieldError(field, _l("Nothing is left of the shape after cutting"))
        if clipped.geom_type == "MultiPolygon" and len(clipped.geoms) == 1:
            clipped = clipped.geoms[0]
        if clipped.geom_type != "Polygon":
            raise FieldError(field, _l("Cutting split the shape into several parts"))
        polygon = check_valid_polygon(clipped, field)
    try:
        check_within_parent(polygon, to_shape(community.geom), field)
    except FieldError:
        raise FieldError(
            field,
            _l(
                "The shape extends beyond the community %(name)s; the option to cut it "
                "can trim it to fit",
                name=community.name,
            ),
        ) from None
    polygon, overlaps = snapped_polygon(polygon, _neighbours(session, polygon, cell_id))
    polygon = check_valid_polygon(polygon, field)
    if overlaps:
        neighbour, area = overlaps[0]
        code, name = neighbour.code, neighbour.name
        raise FieldError(
            field,
            _l(
                "The shape overlaps grid cell %(name)s (%(code)s) by %(area)s m²; the option "
                "to cut it can trim the overlap away",
                name=name,
                code=code,
                area=f"{area:,.0f}",
            ),
        )
    return polygon


def _clean_cell_fields(
    session: Session, data: CellInput, cell_id: int | None, errors: ValidationErrors
) -> tuple[str | None, str | None]:
    code = (data.code or "").strip()
    if not re.fullmatch(CODE_PATTERN, code):
        errors.add("code", _l("1 to 20 letters, digits or dashes"))
        code = None
    elif session.scalar(
        select(GridCell.id).where(GridCell.code == code, GridCell.id.is_distinct_from(cell_id))
    ):
        errors.add("code", _l("Another grid cell has this code"))
    name = None
    with errors.collect():
        name = validate_name(data.name, field="name")
    return code, name


def _addresses_in(session: Session, cell_id: int) -> list[int]:
    return list(session.scalars(select(Address.id).where(Address.grid_cell_id == cell_id)))


def _count_moves(session: Session, cell_id: int, before: list[int]) -> tuple[int, int]:
    """Addresses that joined and left the cell, compared with the ids it held before."""
    before_ids = bindparam("before_ids", before, type_=ARRAY(Integer))
    joined = session.scalar(
        select(func.count()).where(
            Address.grid_cell_id == cell_id, ~(Address.id == any_(before_ids))
        )
    )
    left = session.scalar(
        select(func.count()).where(
            Address.id == any_(before_ids), Address.grid_cell_id.is_distinct_from(cell_id)
        )
    )
    return joined or 0, left or 0


def create_cell(session: Session, actor: UserAccount, data: CellInput) -> CellChange:
    """A new cell in a community; the trigger moves the addresses inside it to it."""
    _require_admin(actor)
    errors = ValidationErrors()
    code, name = _clean_cell_fields(session, data, None, errors)
    community = session.get(Community, data.community_id) if data.community_id else None
    polygon = None
    if community is None:
        errors.add("community_id", _l("Choose a community"))
    else:
        with errors.collect():
            polygon = _checked_polygon(session, data, community, None)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    cell = GridCell(
        community_id=community.id, code=code, name=name, geom=from_shape(polygon, srid=SRID)
    )
    session.add(cell)
    session.flush()
    joined, left = _count_moves(session, cell.id, [])
    record(
        session,
        actor,
        Action.CREATE,
        "grid_cell",
        cell.id,
        {
            "code": [None, code],
            "name": [None, name],
            "community_id": [None, community.id],
            "geometry": [None, polygon.wkt],
            "addresses_joined": [None, joined],
        },
    )
    return CellChange(cell, joined, left, True)


def cell_current_values(session: Session, cell: GridCell) -> dict[str, Any]:
    """The saved values under the form's field names (the polygon is resubmitted, not shown)."""
    return {"code": cell.code, "name": cell.name}


def update_cell(
    session: Session, actor: UserAccount, cell_id: int, data: CellInput, seen_version: Any
) -> CellChange:
    """Rename a cell or replace its polygon; the addresses' cells follow (trigger)."""
    cell = get_cell(session, actor, cell_id)
    errors = ValidationErrors()
    code, name = _clean_cell_fields(session, data, cell.id, errors)
    polygon = None
    if data.geometry_text and data.geometry_text.strip():
        with errors.collect():
            polygon = _checked_polygon(session, data, cell.community, cell.id)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    check_version(cell, seen_version, cell_current_values(session, cell))
    changes: dict[str, list] = {}
    if cell.code != code:
        changes["code"] = [cell.code, code]
        cell.code = code
    if cell.name != name:
        changes["name"] = [cell.name, name]
        cell.name = name
    joined = left = 0
    if polygon is not None:
        old_wkt = to_shape(cell.geom).wkt
        if not shapely.equals(to_shape(cell.geom), polygon):
            before = _addresses_in(session, cell.id)
            cell.geom = from_shape(polygon, srid=SRID)
            session.flush()
            joined, left = _count_moves(session, cell.id, before)
            changes["geometry"] = [old_wkt, polygon.wkt]
            changes["addresses_joined"] = [None, joined]
            changes["addresses_left"] = [None, left]
    if changes:
        session.flush()
        record(session, actor, Action.UPDATE, "grid_cell", cell.id, changes)
    return CellChange(cell, joined, left, "geometry" in changes)


def cell_workers(session: Session, actor: UserAccount, cell: GridCell) -> list[UserAccount]:
    _require_admin(actor)
    return sorted(cell.workers, key=lambda user: user.username)


def assign_worker(session: Session, actor: UserAccount, cell_id: int, username: str) -> UserAccount:
    """Add a grid worker to a cell; the worker's account version moves on too."""
    cell = get_cell(session, actor, cell_id)
    worker = session.scalar(
        select(UserAccount).where(
            UserAccount.username == (username or "").strip(),
            UserAccount.role == Role.GRID_WORKER,
        )
    )
    if worker is None:
        raise InvalidInput(fields={"username": [_l("No grid worker has this username")]})
    if worker in cell.workers:
        return worker
    before = sorted(user.username for user in cell.workers)
    cell.workers.append(worker)
    worker.updated_at = func.now()  # the account's scope changed: stale user forms conflict
    session.flush()
    record(
        session,
        actor,
        Action.UPDATE,
        "grid_cell",
        cell.id,
        {"workers": [before, sorted(before + [worker.username])]},
    )
    return worker


def remove_worker(session: Session, actor: UserAccount, cell_id: int, user_id: int) -> None:
    cell = get_cell(session, actor, cell_id)
    worker = next((user for user in cell.workers if user.id == user_id), None)
    if worker is None:
        raise NotFound()
    before = sorted(user.username for user in cell.workers)
    cell.workers.remove(worker)
    worker.updated_at = func.now()
    session.flush()
    record(
        session,
        actor,
        Action.UPDATE,
        "grid_cell",
        cell.id,
        {"workers": [before, [name for name in before if name != worker.username]]},
    )


# -- focus areas -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FocusAreaInput:
    name: str
    description: str = ""
    cell_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class FocusAreaRow:
    area: FocusArea
    cells: list[str]


def list_focus_areas(session: Session, actor: UserAccount) -> list[FocusAreaRow]:
    _require_admin(actor)
    names = (
        select(func.array_agg(GridCell.name + " (" + GridCell.code + ")"))
        .join(focus_area_cell, focus_area_cell.c.grid_cell_id == GridCell.id)
        .where(focus_area_cell.c.focus_area_id == FocusArea.id)
        .correlate(FocusArea)
        .scalar_subquery()
    )
    rows = session.execute(select(FocusArea, names).order_by(FocusArea.name)).all()
    return [FocusAreaRow(area, sorted(cells or [])) for area, cells in rows]


def get_focus_area(session: Session, actor: UserAccount, area_id: int) -> FocusArea:
    _require_admin(actor)
    area = session.get(FocusArea, area_id)
    if area is None:
        raise NotFound()
    return area


def focus_area_current_values(area: FocusArea) -> dict[str, Any]:
    return {
        "name": area.name,
        "description": area.description,
        "cell_ids": sorted(cell.id for cell in area.cells),
    }


def _clean_focus_area(
    session: Session, actor: UserAccount, data: FocusAreaInput, area_id: int | None
) -> tuple[str, str, list[GridCell], int | None]:
    errors = ValidationErrors()
    name = " ".join((data.name or "").split())
    if not name:
        errors.add("name", _l("This field is required"))
    elif len(name) > FOCUS_NAME_LENGTH:
        errors.add("name", _l("At most %(maximum)s characters", maximum=FOCUS_NAME_LENGTH))
    elif session.scalar(
        select(FocusArea.id).where(FocusArea.name == name, FocusArea.id.is_distinct_from(area_id))
    ):
        errors.add("name", _l("Another focus area has this name"))
    description = (data.description or "").strip()
    if len(description) > DESCRIPTION_LENGTH:
        errors.add("description", _l("At most %(maximum)s characters", maximum=DESCRIPTION_LENGTH))
    wanted = set(data.cell_ids)
    cells: list[GridCell] = []
    district_id = None
    if not wanted:
        errors.add("cell_ids", _l("Choose at least one grid cell"))
    else:
        rows = session.execute(
            select(GridCell, SubDistrict.district_id)
            .join(Community, Community.id == GridCell.community_id)
            .join(SubDistrict, SubDistrict.id == Community.sub_district_id)
            .where(GridCell.id.in_(wanted), grid_cell_filter(actor))
            .order_by(GridCell.code)
        ).all()
        cells = [cell for cell, _ in rows]
        districts = {district for _, district in rows}
        if len(cells) != len(wanted):
            errors.add("cell_ids", _l("Some of the chosen grid cells do not exist"))
        elif len(districts) > 1:
            errors.add("cell_ids", _l("All cells of a focus area must be in one district"))
        else:
            district_id = districts.pop()
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return name, description, cells, district_id


def create_focus_area(session: Session, actor: UserAccount, data: FocusAreaInput) -> FocusArea:
    _require_admin(actor)
    name, description, cells, district_id = _clean_focus_area(session, actor, data, None)
    area = FocusArea(name=name, description=description, district_id=district_id)
    area.cells = cells
    session.add(area)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        "focus_area",
        area.id,
        {
            "name": [None, name],
            "description": [None, description],
            "cell_ids": [None, sorted(c.id for c in cells)],
        },
    )
    return area


def update_focus_area(
    session: Session, actor: UserAccount, area_id: int, data: FocusAreaInput, seen_version: Any
) -> FocusArea:
    area = get_focus_area(session, actor, area_id)
    name, description, cells, _district = _clean_focus_area(session, actor, data, area.id)
    check_version(area, seen_version, focus_area_current_values(area))
    before = focus_area_current_values(area)
    after = {"name": name, "description": description, "cell_ids": sorted(c.id for c in cells)}
    changes = changed(before, after)
    if changes:
        area.name = name
        area.description = description
        if before["cell_ids"] != after["cell_ids"]:
            area.cells = cells
        area.updated_at = func.now()  # membership alone must bump the version too
        session.flush()
        record(session, actor, Action.UPDATE, "focus_area", area.id, changes)
    return area


# -- splitting a cell ------------------------------------------------------------------------

SPLIT_MESSAGES = {
    SplitError.NOT_A_LINE: _l("Draw a line across the cell, from one edge to the other"),
    SplitError.DOES_NOT_CROSS: _l(
        "The line must cross the cell from one edge to the other; start and end it outside"
    ),
    SplitError.MORE_THAN_TWO: _l("The line cuts the cell into more than two parts"),
    SplitError.TOO_SMALL: _l("One of the two parts would be smaller than %(area)s m²"),
}
MIN_PART_M2 = 100.0


@dataclass(frozen=True)
class SplitInput:
    line_text: str  # GeoJSON LineString (or a Feature holding one), longitude/latitude
    new_code: str
    new_name: str


@dataclass(frozen=True)
class SplitResult:
    kept: GridCell  # the cell that keeps its code, workers and history
    created: GridCell  # the new cell for the other side
    kept_addresses: int
    created_addresses: int


def parse_line_geojson(text: str, field: str = "line") -> shapely.LineString:
    """One lon/lat line from GeoJSON text (a LineString or a Feature holding one)."""
    try:
        data = json.loads(text or "")
    except (ValueError, RecursionError):
        raise FieldError(field, SPLIT_MESSAGES[SplitError.NOT_A_LINE]) from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or data.get("type") != "LineString":
        raise FieldError(field, SPLIT_MESSAGES[SplitError.NOT_A_LINE])
    try:
        line = shapely.force_2d(shape_from_geojson(data))
    except Exception:  # malformed coordinate arrays
        raise FieldError(field, SPLIT_MESSAGES[SplitError.NOT_A_LINE]) from None
    if shapely.get_num_coordinates(line) > MAX_VERTICES:
        raise FieldError(field, _l("The shape has too many points"))
    return line


def _halves(cell: GridCell, line: shapely.LineString) -> tuple[shapely.Polygon, shapely.Polygon]:
    """The cell's two parts either side of the line, in longitude/latitude."""
    polygon = to_shape(cell.geom)
    frame = LocalFrame.around(polygon)
    try:
        halves = split_polygon(
            frame.to_metres(polygon), frame.to_metres(line), min_area=MIN_PART_M2
        )
    except SplitError as refused:
        message = SPLIT_MESSAGES[refused.reason]
        if refused.reason == SplitError.TOO_SMALL:
            message = _l(
                "One of the two parts would be smaller than %(area)s m²", area=f"{MIN_PART_M2:,.0f}"
            )
        raise FieldError("line", message) from None
    precision = 10**-COORDINATE_DIGITS
    parts = [
        shapely.set_precision(frame.to_degrees(part), precision)
        for part in (halves.first, halves.second)
    ]
    for part in parts:
        check_valid_polygon(part, "line")
    return parts[0], parts[1]


def _addresses_within(session: Session, cell_id: int, polygon) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Address.grid_cell_id == cell_id,
                func.ST_Intersects(Address.geom, from_shape(polygon, srid=SRID)),
            )
        )
        or 0
    )


def split_cell(
    session: Session, actor: UserAccount, cell_id: int, data: SplitInput, seen_version: Any
) -> SplitResult:
    """Split a cell in two along a drawn line (shapely's split).

    The side with more addresses keeps the cell's code, name, workers and history; the
    other becomes a new cell with the code and name given. The trigger re-derives the
    addresses' cells; focus areas that held the cell hold both halves. Flags and sweeps
    refer to dwellings and addresses, so they follow their addresses; the caller refreshes
    the per-cell figures.
    """
    cell = session.scalar(
        select(GridCell).where(GridCell.id == cell_id, grid_cell_filter(actor)).with_for_update()
    )
    _require_admin(actor)
    if cell is None:
        raise NotFound()
    errors = ValidationErrors()
    code, name = _clean_cell_fields(
        session, CellInput(code=data.new_code, name=data.new_name), None, errors
    )
    halves = None
    with errors.collect():
        halves = _halves(cell, parse_line_geojson(data.line_text))
    if errors.errors:
        fields = {("new_" + k if k in ("code", "name") else k): v for k, v in errors.errors.items()}
        raise InvalidInput(fields=fields)
    check_version(cell, seen_version, cell_current_values(session, cell))
    first, second = halves
    total = cell_address_count(session, cell.id)
    in_first = _addresses_within(session, cell.id, first)
    in_second = total - in_first
    keep, give = (
        (first, second)
        if (in_first, first.area) >= (in_second, second.area)
        else (
            second,
            first,
        )
    )
    old_wkt = to_shape(cell.geom).wkt
    cell.geom = from_shape(keep, srid=SRID)
    session.flush()
    created = GridCell(
        community_id=cell.community_id, code=code, name=name, geom=from_shape(give, srid=SRID)
    )
    session.add(created)
    session.flush()
    kept_count = cell_address_count(session, cell.id)
    created_count = cell_address_count(session, created.id)
    for area in cell_focus_areas(session, actor, cell.id):
        _set_area_cells(
            session, actor, area, [*area.cells, created], f"grid cell {cell.code} split"
        )
    session.flush()
    record(
        session,
        actor,
        Action.UPDATE,
        "grid_cell",
        cell.id,
        {
            "geometry": [old_wkt, keep.wkt],
            "split_into": [None, created.id],
            "addresses_left": [None, total - kept_count],
        },
        reason="split",
    )
    record(
        session,
        actor,
        Action.CREATE,
        "grid_cell",
        created.id,
        {
            "code": [None, code],
            "name": [None, name],
            "community_id": [None, cell.community_id],
            "geometry": [None, give.wkt],
            "split_from": [None, cell.id],
            "addresses_joined": [None, created_count],
        },
        reason="split",
    )
    return SplitResult(cell, created, kept_count, created_count)


def _set_area_cells(
    session: Session, actor: UserAccount, area: FocusArea, cells: list[GridCell], reason: str
) -> None:
    """A focus area's cells changed by a split or a deletion: audited, version moved on."""
    before = sorted(c.id for c in area.cells)
    area.cells = cells
    area.updated_at = func.now()
    record(
        session,
        actor,
        Action.UPDATE,
        "focus_area",
        area.id,
        {"cell_ids": [before, sorted(c.id for c in cells)]},
        reason=reason,
    )


def suggested_code(session: Session, cell: GridCell) -> str:
    """A free code for a new cell beside ``cell``: the next number after the community's
    highest numeric code, or the cell's code with a letter."""
    codes = set(session.scalars(select(GridCell.code)))
    if cell.code.isdigit():
        number = max(int(c) for c in codes if c.isdigit() and len(c) == len(cell.code)) + 1
        candidate = str(number).zfill(len(cell.code))
        if len(candidate) <= 20 and candidate not in codes:
            return candidate
    for letter in "BCDEFGHJKLMNPQRSTUVWXYZ":
        candidate = f"{cell.code[:18]}-{letter}"
        if candidate not in codes:
            return candidate
    return ""


# -- deleting a cell made by mistake ----------------------------------------------------------

# Tables whose rows end with the cell: link tables and the precomputed figures. Any other
# table with a foreign key to grid_cell (sweeps, flags …) is a record that refers to it.
ENDS_WITH_CELL = frozenset({"grid_cell_worker", "focus_area_cell", "cell_figures", "address"})


def _references(session: Session, cell_id: int) -> list[str]:
    """Names of the tables holding a record that refers to the cell (from the models)."""
    found = []
    for table in GridCell.metadata.sorted_tables:
        if table.name in ENDS_WITH_CELL:
            continue
        for key in table.foreign_keys:
            refers = key.column.table.name == "grid_cell" and key.parent.table is table
            if refers and session.scalar(select(exists().where(key.parent == cell_id))):
                found.append(table.name)
                break
    return found


def delete_cell(session: Session, actor: UserAccount, cell_id: int, seen_version: Any) -> int:
    """Delete a cell made by mistake: only when no address lies in it and no record (a
    sweep, a flag) refers to it. Its worker assignments and focus-area memberships end
    with it; the audit log keeps the cell. Returns the community's id."""
    _require_admin(actor)
    cell = session.scalar(select(GridCell).where(GridCell.id == cell_id).with_for_update())
    if cell is None:
        raise NotFound()
    check_version(cell, seen_version, cell_current_values(session, cell))
    addresses = cell_address_count(session, cell.id)
    if addresses:
        raise InvalidInput(
            fields={
                "delete": [
                    _l(
                        "%(count)s addresses lie in this cell: it cannot be deleted. Move its "
                        "boundary or split it instead.",
                        count=addresses,
                    )
                ]
            }
        )
    references = _references(session, cell.id)
    if references:
        raise InvalidInput(
            fields={"delete": [_l("Sweeps or flags refer to this cell: it cannot be deleted.")]}
        )
    areas = cell_focus_areas(session, actor, cell.id)
    for area in areas:
        if len(area.cells) == 1:
            raise InvalidInput(
                fields={
                    "delete": [
                        _l(
                            "This is the only cell of the focus area %(name)s: change the focus "
                            "area first.",
                            name=area.name,
                        )
                    ]
                }
            )
    workers = sorted(user.username for user in cell.workers)
    for worker in cell.workers:
        worker.updated_at = func.now()  # the account's scope changes: open forms go stale
    for area in areas:
        remaining = [c for c in area.cells if c.id != cell.id]
        _set_area_cells(session, actor, area, remaining, f"grid cell {cell.code} deleted")
    record(
        session,
        actor,
        Action.DELETE,
        "grid_cell",
        cell.id,
        {
            "code": [cell.code, None],
            "name": [cell.name, None],
            "community_id": [cell.community_id, None],
            "geometry": [to_shape(cell.geom).wkt, None],
            "workers": [workers, None],
            "focus_area_ids": [sorted(a.id for a in areas), None],
        },
    )
    community_id = cell.community_id
    session.delete(cell)
    session.flush()
    return community_id


def cell_focus_areas(session: Session, actor: UserAccount, cell_id: int) -> list[FocusArea]:
    """The focus areas that hold the cell."""
    _require_admin(actor)
    return list(
        session.scalars(
            select(FocusArea)
            .join(focus_area_cell, focus_area_cell.c.focus_area_id == FocusArea.id)
            .where(focus_area_cell.c.grid_cell_id == cell_id)
            .order_by(FocusArea.name)
        )
    )
