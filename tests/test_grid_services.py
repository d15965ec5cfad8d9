"""Grid cell and focus area services: GeoJSON parsing, polygon checks in PostGIS, moves."""

from __future__ import annotations

import json

import pytest
import shapely
from geoalchemy2.shape import to_shape
from helpers import account
from shapely.geometry import box, mapping
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.address.models import Address
from registry.audit.models import AuditEntry
from registry.errors import Conflict, InvalidInput, NotFound
from registry.grid import services
from registry.grid.models import FocusArea, GridCell
from registry.validators import FieldError

SQUARE = [[114.0, 30.0], [114.01, 30.0], [114.01, 30.01], [114.0, 30.01], [114.0, 30.0]]


def _polygon(ring=SQUARE) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def _message(excinfo) -> str:
    return str(excinfo.value.message)


@pytest.mark.parametrize(
    "document",
    [
        _polygon(),
        {"type": "Feature", "properties": {"name": "x"}, "geometry": _polygon()},
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": _polygon()}]},
        {"type": "MultiPolygon", "coordinates": [[SQUARE]]},
        {"type": "Polygon", "coordinates": [[[*p, 12.5] for p in SQUARE]]},  # heights dropped
    ],
)
def test_accepted_geojson_forms(document):
    polygon = services.parse_cell_geojson(json.dumps(document))
    assert polygon.geom_type == "Polygon"
    assert not polygon.has_z
    assert polygon.equals(shapely.Polygon(SQUARE))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Upload a GeoJSON file or draw the cell on the map"),
        ("{not json", "The file is not valid JSON"),
        ("[1, 2]", "This is not a GeoJSON object"),
        (json.dumps({"type": "Point", "coordinates": [114, 30]}), "The shape must be a polygon"),
        (json.dumps({"type": "Feature", "geometry": None}), "The feature has no geometry"),
        (json.dumps({"type": "FeatureCollection", "features": []}), "exactly one feature"),
        (json.dumps({"type": "Polygon", "coordinates": [[[114, 30], [114, 31]]]}), "malformed"),
        (json.dumps({"type": "Polygon", "coordinates": "x"}), "malformed"),
        (
            json.dumps(
                {
                    "type": "MultiPolygon",
                    "coordinates": [[SQUARE], [[[p[0] + 1, p[1]] for p in SQUARE]]],
                }
            ),
            "one polygon, not several parts",
        ),
        (
            json.dumps(_polygon([[p[0] * 1000, p[1] * 1000] for p in SQUARE])),
            "longitude and latitude",
        ),
        (
            json.dumps(
                _polygon([[114, 30], [114.01, 30.01], [114.01, 30], [114, 30.01], [114, 30]])
            ),
            "Self-intersection",
        ),
    ],
)
def test_refused_geojson_says_why(text, message):
    with pytest.raises(FieldError) as excinfo:
        services.parse_cell_geojson(text, "geojson_file")
    assert excinfo.value.field == "geojson_file"
    assert message in _message(excinfo)


@pytest.fixture
def admin(demo_session):
    return account(demo_session, "admin")


@pytest.fixture
def officer(demo_session):
    return account(demo_session, "officer1")


def _cells(session):
    return list(session.scalars(select(GridCell).order_by(GridCell.id)))


def _geojson(geometry) -> str:
    return json.dumps(mapping(geometry))


def test_only_administrators_reach_the_cell_services(demo_session, officer):
    cell = _cells(demo_session)[0]
    with pytest.raises(NotFound):
        services.get_cell(demo_session, officer, cell.id)
    with pytest.raises(NotFound):
        services.update_cell(
            demo_session, officer, cell.id, services.CellInput(code="x", name="y"), cell.version
        )
    with pytest.raises(NotFound):
        services.list_focus_areas(demo_session, officer)


def test_overlap_is_refused_with_the_cell_it_overlaps(demo_session, admin):
    first, second = _cells(demo_session)[:2]
    inside_second = to_shape(second.geom).representative_point().buffer(0.0003, quad_segs=2)
    with pytest.raises(InvalidInput) as excinfo:
        services.create_cell(
            demo_session,
            admin,
            services.CellInput(
                code="X1",
                name="新网格",
                community_id=second.community_id,
                geometry_text=_geojson(inside_second),
            ),
        )
    (message,) = excinfo.value.details["fields"]["geometry"]
    assert second.code in str(message)
    assert demo_session.scalar(select(func.count()).where(GridCell.code == "X1")) == 0


def test_clipping_cuts_a_drawing_to_the_free_space(demo_session, admin):
    """A shape drawn over a neighbour becomes valid once the neighbour's part is cut away."""
    first, second = _cells(demo_session)[:2]
    old = to_shape(first.geom)
    shrunk = old.buffer(-0.0008)
    shrinking = services.update_cell(
        demo_session,
        admin,
        first.id,
        services.CellInput(code=first.code, name=first.name, geometry_text=_geojson(shrunk)),
        first.version,
    )
    assert shrinking.left > 0
    # Draw the old cell a little too big: it overlaps its neighbours, clipping fixes that.
    drawn = old.buffer(0.0002)
    data = services.CellInput(
        code=first.code, name=first.name, geometry_text=_geojson(drawn), clip=True
    )
    change = services.update_cell(demo_session, admin, first.id, data, first.version)
    assert change.geometry_changed and change.joined == shrinking.left
    assert to_shape(first.geom).symmetric_difference(old).area < old.area * 0.01


def test_polygon_change_counts_addresses_in_sql_and_is_audited(demo_session, admin):
    cell = _cells(demo_session)[0]
    before = demo_session.scalar(select(func.count()).where(Address.grid_cell_id == cell.id))
    polygon = to_shape(cell.geom)
    minx, miny, maxx, maxy = polygon.bounds
    west = polygon.intersection(box(minx, miny, (minx + maxx) / 2, maxy))
    change = services.update_cell(
        demo_session,
        admin,
        cell.id,
        services.CellInput(code=cell.code, name=cell.name, geometry_text=_geojson(west)),
        cell.version,
    )
    after = demo_session.scalar(select(func.count()).where(Address.grid_cell_id == cell.id))
    assert change.left == before - after > 0
    assert change.joined == 0
    entry = demo_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.object_type == "grid_cell", AuditEntry.object_id == str(cell.id))
        .order_by(AuditEntry.id.desc())
    )
    assert entry.changes["addresses_left"] == [None, change.left]
    with pytest.raises(Conflict):
        services.update_cell(
            demo_session,
            admin,
            cell.id,
            services.CellInput(code=cell.code, name="旧版本"),
            cell.version - 1,
        )


def test_focus_area_needs_cells_and_a_unique_name(demo_session, admin):
    existing = demo_session.scalar(select(FocusArea))
    with pytest.raises(InvalidInput) as excinfo:
        services.create_focus_area(
            demo_session, admin, services.FocusAreaInput(name=existing.name, cell_ids=())
        )
    fields = excinfo.value.details["fields"]
    assert set(fields) == {"name", "cell_ids"}
    with pytest.raises(InvalidInput) as excinfo:
        services.create_focus_area(
            demo_session, admin, services.FocusAreaInput(name="新区域", cell_ids=(999_999,))
        )
    assert "cell_ids" in excinfo.value.details["fields"]


def test_assigning_a_worker_needs_a_grid_worker(demo_session, admin):
    cell = _cells(demo_session)[0]
    with pytest.raises(InvalidInput):
        services.assign_worker(demo_session, admin, cell.id, "officer1")
    worker = services.assign_worker(demo_session, admin, cell.id, "grid0002")
    assert worker.role == Role.GRID_WORKER
    assert worker in cell.workers
    services.remove_worker(demo_session, admin, cell.id, worker.id)
    assert worker not in cell.workers
