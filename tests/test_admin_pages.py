"""Focus areas, and who may reach the admin pages at all (rule settings: test_flags_settings)."""

from __future__ import annotations

import pytest
from flask import url_for
from helpers import audit_entries, field_errors, log_in, token_of
from sqlalchemy import select

from registry.grid.models import FocusArea, GridCell


def test_create_and_edit_a_focus_area(admin_client, demo_db):
    cells = list(demo_db.scalars(select(GridCell).order_by(GridCell.id)))
    token = token_of(admin_client, "/admin/focus-areas/new")
    refused = admin_client.post(
        "/admin/focus-areas/new",
        data={"csrf_token": token, "action": "save", "name": "车站周边", "description": "夜间"},
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert field_errors(html, "cell_ids") == ["Choose at least one grid cell"]
    assert 'value="车站周边"' in html and "夜间" in html

    created = admin_client.post(
        "/admin/focus-areas/new",
        data={
            "csrf_token": token,
            "action": "save",
            "name": "车站周边",
            "description": "夜间群租较多",
            "cell_ids": [str(cells[0].id), str(cells[1].id)],
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    area = demo_db.scalar(select(FocusArea).where(FocusArea.name == "车站周边"))
    assert {c.id for c in area.cells} == {cells[0].id, cells[1].id}
    assert audit_entries(demo_db, "focus_area", area.id, "create")
    listing = admin_client.get("/admin/focus-areas").get_data(as_text=True)
    assert "车站周边" in listing and cells[0].code in listing

    version = area.version
    edited = admin_client.post(
        f"/admin/focus-areas/{area.id}",
        data={
            "csrf_token": token,
            "action": "save",
            "version": str(version),
            "name": "车站周边",
            "description": "夜间群租较多",
            "cell_ids": [str(cells[1].id), str(cells[2].id)],
        },
    )
    assert edited.status_code == 302
    demo_db.expire_all()
    area = demo_db.get(FocusArea, area.id)
    assert {c.id for c in area.cells} == {cells[1].id, cells[2].id}
    assert area.version == version + 1  # membership alone moves the version on
    change = audit_entries(demo_db, "focus_area", area.id, "update")[-1].changes
    assert change == {
        "cell_ids": [sorted([cells[0].id, cells[1].id]), sorted([cells[1].id, cells[2].id])]
    }

    stale = admin_client.post(
        f"/admin/focus-areas/{area.id}",
        data={
            "csrf_token": token,
            "action": "save",
            "version": str(version),
            "name": "改名",
            "cell_ids": [str(cells[1].id)],
        },
    )
    assert stale.status_code == 409
    demo_db.expire_all()
    assert demo_db.get(FocusArea, area.id).name == "车站周边"


def test_focus_area_form_browses_a_communitys_cells_without_saving(admin_client, demo_db):
    cell = demo_db.scalar(select(GridCell).order_by(GridCell.id.desc()))
    token = token_of(admin_client, "/admin/focus-areas/new")
    response = admin_client.post(
        "/admin/focus-areas/new",
        data={
            "csrf_token": token,
            "action": "show_cells",
            "name": "浏览",
            "cell_community": str(cell.community_id),
        },
    )
    assert response.status_code == 200
    assert f'value="{cell.id}"' in response.get_data(as_text=True)
    assert demo_db.scalar(select(FocusArea).where(FocusArea.name == "浏览")) is None


def _admin_urls(app, session) -> list[tuple[str, str]]:
    """Every admin route with real ids filled in, and the methods it accepts."""
    ids = {
        "user_id": 2,
        "station_id": 1,
        "cell_id": session.scalar(select(GridCell.id).order_by(GridCell.id)),
        "area_id": session.scalar(select(FocusArea.id)),
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        values = {name: ids[name] for name in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url))
    return urls


@pytest.mark.parametrize("username", ["officer1", "grid0001", "manager1", "landlord1"])
def test_every_admin_url_is_not_found_for_other_roles(demo_app, demo_db, username):
    client = log_in(demo_app, username)
    urls = _admin_urls(demo_app, demo_db)
    assert len(urls) >= 20
    before = demo_db.scalar(select(GridCell.name).order_by(GridCell.id))
    for method, url in urls:
        if method == "GET":
            response = client.get(url)
        else:
            # The form needs a valid CSRF token, so only the role check can refuse it.
            token = token_of(client, "/login")
            response = client.post(url, data={"csrf_token": token, "name": "篡改", "code": "x"})
        assert response.status_code == 404, (method, url)
    demo_db.expire_all()
    assert demo_db.scalar(select(GridCell.name).order_by(GridCell.id)) == before


def test_admin_urls_send_anonymous_visitors_to_the_login(demo_app, demo_db):
    client = demo_app.test_client()
    for method, url in _admin_urls(demo_app, demo_db):
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_admin_page_renders_for_the_admin(demo_app, admin_client, demo_db):
    for method, url in _admin_urls(demo_app, demo_db):
        if method == "GET":
            response = admin_client.get(url)
            assert response.status_code == 200, url
            assert "Traceback" not in response.get_data(as_text=True)
