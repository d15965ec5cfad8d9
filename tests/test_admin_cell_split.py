"""Reshaping grid cells through the admin pages: snapping a boundary to its neighbours,
splitting a cell along a drawn line, and deleting a cell made by mistake."""

from __future__ import annotations

import json
import re

from geoalchemy2.shape import from_shape, to_shape
from helpers import audit_entries, field_errors, neighbouring_cells, token_of
from shapely import LineString, Point, Polygon
from shapely.geometry import box, mapping
from sqlalchemy import func, select, text

from registry.address.models import Address
from registry.grid.models import FocusArea, GridCell

CELL_ONE = 1


def _cell(session, cell_id: int) -> GridCell:
    session.expire_all()
    return session.get(GridCell, cell_id)


def _post_boundary(client, cell: GridCell, polygon) -> object:
    url = f"/admin/cells/{cell.id}"
    return client.post(
        url,
        data={
            "csrf_token": token_of(client, url),
            "code": cell.code,
            "name": cell.name,
            "version": str(cell.version),
            "drawn_geometry": json.dumps(mapping(polygon)),
        },
    )


def test_resaving_an_unchanged_boundary_just_works(admin_client, demo_db):
    first, _second = neighbouring_cells(demo_db)
    response = _post_boundary(admin_client, first, to_shape(first.geom))
    assert response.status_code == 302
    assert not audit_entries(demo_db, "grid_cell", first.id, "update")  # nothing changed


def test_a_corner_a_few_decimetres_over_the_neighbours_edge_is_snapped_onto_it(
    admin_client, demo_db
):
    first, second = neighbouring_cells(demo_db)
    a, b = to_shape(first.geom), to_shape(second.geom)
    shared = a.intersection(b)  # their common edge
    corner = next(c for c in a.exterior.coords[:-1] if shared.distance(Point(c)) < 1e-9)
    # Push that shared corner about 0.3 m into the neighbour (digitising noise).
    inward = b.representative_point()
    dx, dy = inward.x - corner[0], inward.y - corner[1]
    length = (dx * dx + dy * dy) ** 0.5
    nudged = (corner[0] + dx / length * 3e-6, corner[1] + dy / length * 3e-6)
    ring = [nudged if c == corner else c for c in a.exterior.coords]
    drawn = Polygon(ring)
    assert drawn.intersection(b).area > 0
    response = _post_boundary(admin_client, first, drawn)
    assert response.status_code == 302, field_errors(response.text, "drawn_geometry")
    saved = to_shape(_cell(demo_db, first.id).geom)
    overlap_m2 = demo_db.scalar(
        text(
            "SELECT ST_Area(ST_Intersection(ST_GeomFromText(:wkt, 4326), geom)::geography) "
            "FROM grid_cell WHERE id = :id"
        ),
        {"wkt": saved.wkt, "id": second.id},
    )
    assert overlap_m2 < 0.01


def _split(client, cell: GridCell, line, code="420199001001909", name="新网格"):
    url = f"/admin/cells/{cell.id}/split"
    return client.post(
        url,
        data={
            "csrf_token": token_of(client, url),
            "version": str(cell.version),
            "line": json.dumps(mapping(line)) if line is not None else "",
            "new_code": code,
            "new_name": name,
        },
    )


def _addresses_of(session, cell_id) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(Address.id).where(Address.grid_cell_id == cell_id)))


def test_split_a_cell_along_a_line(admin_client, demo_db):
    cell = _cell(demo_db, CELL_ONE)
    workers = sorted(w.username for w in cell.workers)
    before = _addresses_of(demo_db, cell.id)
    area = FocusArea(name="重点一", district_id=1)
    area.cells = [cell]
    demo_db.add(area)
    demo_db.commit()
    minx, miny, maxx, maxy = to_shape(cell.geom).bounds
    x = minx + (maxx - minx) * 0.35
    line = LineString([(x, miny - 0.001), (x, maxy + 0.001)])
    west = box(minx - 1, miny - 1, x, maxy + 1)
    west_ids = set(
        demo_db.scalars(
            select(Address.id).where(
                Address.id.in_(before),
                func.ST_Within(Address.geom, func.ST_GeomFromText(west.wkt, 4326)),
            )
        )
    )
    east_ids = before - west_ids
    assert west_ids and east_ids and len(east_ids) > len(west_ids)

    response = _split(admin_client, cell, line)
    assert response.status_code == 302, field_errors(response.text, "line")
    created = demo_db.scalar(select(GridCell).where(GridCell.code == "420199001001909"))
    kept = _cell(demo_db, CELL_ONE)
    # The side with more addresses (east) keeps the code, the name and the workers.
    assert kept.code == cell.code and sorted(w.username for w in kept.workers) == workers
    assert created.workers == []
    assert _addresses_of(demo_db, kept.id) == east_ids
    assert _addresses_of(demo_db, created.id) == west_ids
    page = admin_client.get(response.headers["Location"]).text
    assert (
        f"{len(east_ids)} addresses stay in {kept.name} ({kept.code}) with its grid workers; "
        f"{len(west_ids)} addresses are in the new cell 新网格 (420199001001909)"
    ) in page
    demo_db.expire_all()
    assert {c.id for c in demo_db.get(FocusArea, area.id).cells} == {kept.id, created.id}
    # The figures follow the addresses at once.
    counted = demo_db.execute(
        text("SELECT grid_cell_id, sum(dwellings) FROM cell_figures GROUP BY 1")
    ).all()
    dwellings = dict(
        demo_db.execute(
            text(
                "SELECT a.grid_cell_id, count(*) FROM dwelling d "
                "JOIN address a ON a.id = d.address_id GROUP BY 1"
            )
        ).all()
    )
    assert {k: int(v) for k, v in counted if v} == dwellings
    split = audit_entries(demo_db, "grid_cell", kept.id, "update")[-1]
    assert split.reason == "split" and split.changes["split_into"] == [None, created.id]
    assert audit_entries(demo_db, "grid_cell", created.id, "create")[0].changes["split_from"] == [
        None,
        kept.id,
    ]


def test_a_line_that_does_not_cross_the_cell_is_refused_and_kept(admin_client, demo_db):
    cell = _cell(demo_db, CELL_ONE)
    centre = to_shape(cell.geom).representative_point()
    inside = LineString([(centre.x, centre.y), (centre.x + 0.0001, centre.y)])
    response = _split(admin_client, cell, inside, name="留下的名字")
    assert response.status_code == 422
    assert field_errors(response.text, "line") or "start and end it outside" in response.text
    assert 'value="留下的名字"' in response.text
    assert 'href="#cell-map"' in response.text  # the error summary links to the drawing
    assert demo_db.scalar(select(GridCell).where(GridCell.code == "420199001001909")) is None


def test_split_page_draws_roads_and_buildings_for_context(admin_client, demo_db):
    html = admin_client.get(f"/admin/cells/{CELL_ONE}/split").text
    data = json.loads(re.search(r'id="cell-map-data">(.*?)</script>', html, re.S).group(1))
    assert data["roads"]["features"] and data["buildings"]["features"]
    assert all(f["properties"]["name"] for f in data["roads"]["features"])
    assert 'data-mode="line"' in html and 'data-output="line"' in html


def _mistake(session, **links) -> GridCell:
    """A cell made by mistake, far from every address."""
    cell = GridCell(
        community_id=1,
        code="MISTAKE-1",
        name="误建网格",
        geom=from_shape(box(100.0, 20.0, 100.001, 20.001), srid=4326),
    )
    session.add(cell)
    session.flush()
    return cell


def _delete(client, cell):
    url = f"/admin/cells/{cell.id}/delete"
    return client.post(url, data={"csrf_token": token_of(client, url), "version": cell.version})


def test_delete_a_cell_made_by_mistake(admin_client, demo_db):
    mistake = _mistake(demo_db)
    other = _cell(demo_db, CELL_ONE)
    worker = other.workers[0]
    mistake.workers.append(worker)
    area = FocusArea(name="重点二", district_id=1)
    area.cells = [other, mistake]
    demo_db.add(area)
    demo_db.commit()
    mistake_id = mistake.id
    confirm = admin_client.get(f"/admin/cells/{mistake_id}/delete").text
    assert 'id="delete-addresses">0<' in confirm and worker.username in confirm
    response = _delete(admin_client, mistake)
    assert response.status_code == 302
    assert demo_db.scalar(select(GridCell.id).where(GridCell.id == mistake_id)) is None
    demo_db.expire_all()
    assert [c.id for c in demo_db.get(FocusArea, area.id).cells] == [other.id]
    entry = audit_entries(demo_db, "grid_cell", mistake_id, "delete")[0]
    assert entry.changes["code"] == ["MISTAKE-1", None]
    assert entry.changes["workers"] == [[worker.username], None]
    assert entry.changes["focus_area_ids"] == [[area.id], None]


def test_a_cell_with_addresses_cannot_be_deleted(admin_client, demo_db):
    cell = _cell(demo_db, CELL_ONE)
    page = admin_client.get(f"/admin/cells/{cell.id}/delete").text
    assert "Delete this grid cell</button>" not in page
    response = _delete(admin_client, cell)
    assert response.status_code == 422
    assert "addresses lie in this cell: it cannot be deleted" in response.text
    assert _cell(demo_db, CELL_ONE) is not None


def test_the_only_cell_of_a_focus_area_cannot_be_deleted(admin_client, demo_db):
    mistake = _mistake(demo_db)
    area = FocusArea(name="重点三", district_id=1)
    area.cells = [mistake]
    demo_db.add(area)
    demo_db.commit()
    response = _delete(admin_client, mistake)
    assert response.status_code == 422
    assert "only cell of the focus area 重点三" in response.text
