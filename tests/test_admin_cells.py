"""Grid cells through the admin pages: GeoJSON upload, drawing, re-derived addresses, workers."""

from __future__ import annotations

import io
import json
import re

import pytest
from geoalchemy2.shape import to_shape
from helpers import audit_entries, field_errors, neighbouring_cells, token_of, user_named
from shapely.geometry import box, mapping
from sqlalchemy import func, select

from registry.address.models import Address
from registry.area.models import Community
from registry.grid.models import GridCell


def _cells(session):
    session.expire_all()
    return list(session.scalars(select(GridCell).order_by(GridCell.id)))


def _upload(client, url, content: bytes | str, **fields):
    token = token_of(client, url)
    if isinstance(content, str):
        content = content.encode("utf-8")
    data = {"csrf_token": token, "code": "", "name": "", "drawn_geometry": ""}
    data.update(fields)
    data["geojson_file"] = (io.BytesIO(content), "cell.geojson")
    return client.post(url, data=data, content_type="multipart/form-data")


def _feature(geometry) -> str:
    return json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(geometry)})


def _addresses_in(session, polygon) -> set[int]:
    return set(
        session.scalars(
            select(Address.id).where(
                func.ST_Within(Address.geom, func.ST_GeomFromText(polygon.wkt, 4326))
            )
        )
    )


def _cell_of(session, address_ids) -> set:
    session.expire_all()
    return set(session.scalars(select(Address.grid_cell_id).where(Address.id.in_(address_ids))))


def test_cells_page_lists_a_communitys_cells_with_an_embedded_map(admin_client, demo_db):
    community = demo_db.scalar(select(Community))
    html = admin_client.get(f"/admin/cells?community={community.id}").get_data(as_text=True)
    assert "网格01" in html and "grid0001" in html
    data = re.search(
        r'<script type="application/json" id="cell-map-data">(.*?)</script>', html, re.S
    )
    embedded = json.loads(data.group(1))
    assert embedded["community"]["geometry"]["type"] == "MultiPolygon"
    assert len(embedded["neighbours"]["features"]) == 8
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "http://" not in html and "https://" not in html  # nothing is fetched from outside


def test_split_a_cell_by_upload_and_the_addresses_follow(admin_client, demo_db):
    cell = _cells(demo_db)[0]
    polygon = to_shape(cell.geom)
    minx, miny, maxx, maxy = polygon.bounds
    middle = (minx + maxx) / 2
    west = polygon.intersection(box(minx, miny, middle, maxy))
    east = polygon.intersection(box(middle, miny, maxx, maxy))
    assert west.geom_type == east.geom_type == "Polygon"
    moving = _addresses_in(demo_db, east)
    assert moving and _cell_of(demo_db, moving) == {cell.id}

    shrink = _upload(
        admin_client,
        f"/admin/cells/{cell.id}",
        _feature(west),
        code=cell.code,
        name=cell.name,
        version=str(cell.version),
    )
    assert shrink.status_code == 302, shrink.get_data(as_text=True)
    page = admin_client.get(shrink.headers["Location"]).get_data(as_text=True)
    assert f"0 addresses joined this cell, {len(moving)} addresses left it" in page
    assert _cell_of(demo_db, moving) == {None}

    created = _upload(
        admin_client,
        f"/admin/cells/new?community={cell.community_id}",
        json.dumps(mapping(east)),  # a bare Polygon geometry
        code="420199001001901",
        name="东半网格",
        community_id=str(cell.community_id),
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    new_cell = demo_db.scalar(select(GridCell).where(GridCell.code == "420199001001901"))
    page = admin_client.get(created.headers["Location"]).get_data(as_text=True)
    assert f"{len(moving)} addresses joined this cell" in page
    assert _cell_of(demo_db, moving) == {new_cell.id}
    entry = audit_entries(demo_db, "grid_cell", new_cell.id, "create")[0]
    assert entry.changes["addresses_joined"] == [None, len(moving)]


def test_move_a_boundary_between_two_cells_by_drawing(admin_client, demo_db):
    first, second = neighbouring_cells(demo_db)
    a, b = to_shape(first.geom), to_shape(second.geom)
    for width in (0.0005, 0.001, 0.002, 0.004):
        strip = b.intersection(a.buffer(width))
        moving = _addresses_in(demo_db, strip) & _addresses_in(demo_db, b)
        if moving:
            break
    assert moving and _cell_of(demo_db, moving) == {second.id}
    smaller, bigger = b.difference(strip), a.union(strip)
    assert smaller.geom_type == bigger.geom_type == "Polygon"

    def draw(cell, polygon):
        token = token_of(admin_client, f"/admin/cells/{cell.id}")
        return admin_client.post(
            f"/admin/cells/{cell.id}",
            data={
                "csrf_token": token,
                "code": cell.code,
                "name": cell.name,
                "version": str(cell.version),
                "drawn_geometry": json.dumps(mapping(polygon)),
            },
        )

    # Growing the first cell before the second gives up the strip overlaps it: refused.
    refused = draw(first, bigger)
    assert refused.status_code == 422
    errors = field_errors(refused.get_data(as_text=True), "drawn_geometry") or re.findall(
        r'<p class="error" role="alert">([^<]*)</p>', refused.get_data(as_text=True)
    )
    assert any(second.code in error for error in errors)

    assert draw(second, smaller).status_code == 302
    assert _cell_of(demo_db, moving) == {None}
    assert draw(first, bigger).status_code == 302
    assert _cell_of(demo_db, moving) == {first.id}
    changes = audit_entries(demo_db, "grid_cell", first.id, "update")[-1].changes
    assert changes["addresses_joined"] == [None, len(moving)]


def _refusal(admin_client, demo_db, content):
    cell = _cells(demo_db)[1]
    response = _upload(
        admin_client,
        f"/admin/cells/new?community={cell.community_id}",
        content,
        code="420199001001902",
        name="试验网格",
        community_id=str(cell.community_id),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="试验网格"' in html  # the other input is kept
    assert demo_db.scalar(select(GridCell).where(GridCell.code == "420199001001902")) is None
    return field_errors(html, "geojson_file"), cell


def test_upload_that_is_not_json_is_refused_at_the_field(admin_client, demo_db):
    errors, _ = _refusal(admin_client, demo_db, b"{this is not json")
    assert errors == ["The file is not valid JSON"]


def test_self_intersecting_upload_is_refused(admin_client, demo_db):
    cell = _cells(demo_db)[1]
    minx, miny, maxx, maxy = to_shape(cell.geom).bounds
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[minx, miny], [maxx, maxy], [maxx, miny], [minx, maxy], [minx, miny]]],
    }
    errors, _ = _refusal(admin_client, demo_db, json.dumps(bow_tie))
    assert len(errors) == 1 and errors[0].startswith("The shape is not valid: Self-intersection")


def test_upload_outside_the_community_is_refused(admin_client, demo_db):
    far_away = box(100.0, 20.0, 100.01, 20.01)
    errors, cell = _refusal(admin_client, demo_db, _feature(far_away))
    community = demo_db.get(Community, cell.community_id)
    assert errors == [
        f"The shape extends beyond the community {community.name}; "
        "the option to cut it can trim it to fit"
    ]


def test_upload_overlapping_another_cell_is_refused(admin_client, demo_db):
    cell = _cells(demo_db)[1]
    inside = to_shape(cell.geom).representative_point().buffer(0.0003, quad_segs=2)
    errors, _ = _refusal(admin_client, demo_db, _feature(inside))
    assert len(errors) == 1
    assert f"overlaps grid cell {cell.name} ({cell.code})" in errors[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            json.dumps({"type": "Point", "coordinates": [114.1, 30.6]}),
            "The shape must be a polygon",
        ),
        ("\xff\xfe".encode("latin-1") + b"garbage", "The file is not UTF-8 text"),
    ],
)
def test_other_refused_uploads(admin_client, demo_db, content, message):
    errors, _ = _refusal(admin_client, demo_db, content)
    assert errors == [message]


def test_valid_upload_with_a_wrong_name_keeps_the_shape_as_drawing(admin_client, demo_db):
    cell = _cells(demo_db)[2]
    smaller = to_shape(cell.geom).buffer(-0.0001)
    response = _upload(
        admin_client,
        f"/admin/cells/{cell.id}",
        _feature(smaller),
        code=cell.code,
        name="",
        version=str(cell.version),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html, "name") == ["This field is required"]
    kept = re.search(
        r'id="drawn_geometry" name="drawn_geometry" type="hidden" value="([^"]*)"', html
    )
    assert kept and "Polygon" in kept.group(1)


def test_stale_cell_edit_shows_the_conflict_page(admin_client, demo_db):
    cell = _cells(demo_db)[3]
    token = token_of(admin_client, f"/admin/cells/{cell.id}")
    data = {"csrf_token": token, "code": cell.code, "name": "新名字", "version": "1"}
    assert admin_client.post(f"/admin/cells/{cell.id}", data=data).status_code == 302
    data["name"] = "过期的名字"
    response = admin_client.post(f"/admin/cells/{cell.id}", data=data)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "过期的名字" in html and "新名字" in html
    assert _cells(demo_db)[3].name == "新名字"


def test_assign_and_remove_a_grid_worker(demo_app, admin_client, demo_db):
    cell = _cells(demo_db)[4]
    token = token_of(admin_client, f"/admin/cells/{cell.id}")
    wrong = admin_client.post(
        f"/admin/cells/{cell.id}/workers", data={"csrf_token": token, "username": "manager1"}
    )
    assert wrong.status_code == 422
    assert field_errors(wrong.get_data(as_text=True), "username") == [
        "No grid worker has this username"
    ]
    worker = user_named(demo_db, "grid0001")
    version = worker.version
    added = admin_client.post(
        f"/admin/cells/{cell.id}/workers", data={"csrf_token": token, "username": "grid0001"}
    )
    assert added.status_code == 302
    worker = user_named(demo_db, "grid0001")
    assert cell.id in {c.id for c in worker.grid_cells}
    assert worker.version == version + 1  # open user forms of this worker are stale now
    removed = admin_client.post(
        f"/admin/cells/{cell.id}/workers/{worker.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 302
    assert cell.id not in {c.id for c in user_named(demo_db, "grid0001").grid_cells}
    changes = [e.changes for e in audit_entries(demo_db, "grid_cell", cell.id, "update")]
    assert any("grid0001" in c["workers"][1] for c in changes)
