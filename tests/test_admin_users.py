"""Administrators manage accounts, scopes and police stations through the real app."""

from __future__ import annotations

import re

from helpers import audit_entries, field_errors, log_in, submit_login, token_of, user_named
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.address.models import Address
from registry.area.models import Community, PoliceStation
from registry.dwelling.models import Dwelling
from registry.grid.models import GridCell
from registry.scope import address_filter, dwelling_filter, grid_cell_filter

NEW_PASSWORD = "a-long-new-password"


def _new_user(client, **fields):
    token = token_of(client, "/admin/users/new")
    data = {
        "csrf_token": token,
        "action": "save",
        "username": "",
        "display_name": "",
        "role": "grid_worker",
        "active": "y",
    }
    data.update(fields)
    return client.post("/admin/users/new", data=data)


def _set_password(client, user_id: int, password=NEW_PASSWORD, again=None):
    url = f"/admin/users/{user_id}/password"
    token = token_of(client, url)
    return client.post(
        url,
        data={
            "csrf_token": token,
            "password": password,
            "password_again": password if again is None else again,
        },
    )


def _edit_form_data(client, user, **changes):
    """What the edit form of ``user`` submits unchanged, with ``changes`` applied."""
    token = token_of(client, f"/admin/users/{user.id}")
    data = {
        "csrf_token": token,
        "action": "save",
        "version": str(user.version),
        "display_name": user.display_name,
        "role": str(user.role),
        "active": "y" if user.active else "",
        "police_station_id": str(user.police_station_id or ""),
        "grid_cell_ids": [str(c.id) for c in user.grid_cells],
        "dwelling_ids": [str(d.id) for d in user.dwellings],
    }
    data.update(changes)
    return data


def test_users_page_lists_and_filters_accounts(admin_client):
    page = admin_client.get("/admin/users?role=police_officer").get_data(as_text=True)
    assert "officer1" in page
    assert "grid0001" not in page
    found = admin_client.get("/admin/users?q=grid000").get_data(as_text=True)
    assert "grid0003" in found and "officer1" not in found


def test_a_sweep_team_members_scope_is_their_sweeps_stops_not_everything(admin_client):
    page = admin_client.get("/admin/users?q=sweeper1").get_data(as_text=True)
    row = page[page.index(">sweeper1</a>") :].split("</tr>")[0]
    assert "The stops of their current sweeps" in row and "Everything" not in row


def test_create_grid_worker_with_two_cells_who_then_logs_in(demo_app, admin_client, demo_db):
    cells = list(demo_db.scalars(select(GridCell).order_by(GridCell.id).limit(2)))
    # Browsing a community's cells redisplays the form without saving anything.
    browse = _new_user(
        admin_client,
        username="grid_new",
        display_name="新网格员",
        action="show_cells",
        cell_community=str(cells[0].community_id),
    )
    assert browse.status_code == 200
    assert user_named(demo_db, "grid_new") is None
    assert f'value="{cells[1].id}"' in browse.get_data(as_text=True)

    response = _new_user(
        admin_client,
        username="grid_new",
        display_name="新网格员",
        grid_cell_ids=[str(c.id) for c in cells],
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    user = user_named(demo_db, "grid_new")
    assert user.role == Role.GRID_WORKER
    assert sorted(c.id for c in user.grid_cells) == sorted(c.id for c in cells)
    created = audit_entries(demo_db, "user_account", user.id, "create")
    assert created and created[0].changes["grid_cell_ids"] == [None, sorted(c.id for c in cells)]
    assert created[0].changes["password"] == [None, "not set"]
    # The password is the next step, on a page of its own; until then nobody logs in.
    assert response.headers["Location"].endswith(f"/admin/users/{user.id}/password")
    assert submit_login(demo_app.test_client(), "grid_new", NEW_PASSWORD).status_code == 200
    edit = admin_client.get(f"/admin/users/{user.id}").text
    assert 'id="no-password"' in edit
    assert _set_password(admin_client, user.id).status_code == 302
    demo_db.expire_all()
    assert user_named(demo_db, "grid_new").password_hash.startswith("$argon2id$")
    entry = audit_entries(demo_db, "user_account", user.id, "update")[-1]
    assert entry.changes == {"password": ["not set", "set"]}

    worker = log_in(demo_app, "grid_new", NEW_PASSWORD)
    assert worker.get("/").headers["Location"].endswith("/cells/")
    visible = set(demo_db.scalars(select(GridCell.id).where(grid_cell_filter(user))))
    assert visible == {c.id for c in cells}
    assert audit_entries(demo_db, "user_account", user.id, "login")


def test_create_user_errors_keep_the_input_and_name_the_field(admin_client, demo_db):
    response = _new_user(
        admin_client,
        username="x",
        display_name="王警官",
        role="police_officer",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html, "username")
    assert field_errors(html, "police_station_id") == ["A police officer needs a police station"]
    assert 'value="王警官"' in html
    assert user_named(demo_db, "x") is None
    # The summary at the top lists each error as a link to its field.
    summary = re.search(r'<div class="flash error error-summary".*?</div>', html, re.S).group(0)
    assert 'href="#username"' in summary and 'href="#police_station_id"' in summary


def test_the_new_user_form_never_carries_a_password(admin_client, demo_db):
    html = admin_client.get("/admin/users/new").text
    assert 'type="password"' not in html
    browse = _new_user(admin_client, username="grid_new", action="show_cells", password="x" * 12)
    assert 'type="password"' not in browse.text and "x" * 12 not in browse.text


def test_a_short_or_repeated_wrongly_password_is_refused_on_its_page(admin_client, demo_db):
    worker = user_named(demo_db, "grid0003")
    short = _set_password(admin_client, worker.id, "short")
    assert short.status_code == 422
    assert field_errors(short.text, "password") == ["At least 10 characters"]
    assert 'value="short"' not in short.text  # a refused password is not put back
    differ = _set_password(admin_client, worker.id, NEW_PASSWORD, again="different-one")
    assert field_errors(differ.text, "password_again") == ["The two passwords differ"]


def test_taken_username_and_no_role_are_refused(admin_client):
    response = _new_user(admin_client, username="Officer1", display_name="某人", role="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html, "username") == ["This username is taken"]
    assert field_errors(html, "role") == ["Choose a role"]


def test_change_an_officers_station_and_the_stations_jurisdiction(demo_app, admin_client, demo_db):
    token = token_of(admin_client, "/admin/stations/new")
    response = admin_client.post(
        "/admin/stations/new",
        data={"csrf_token": token, "code": "420199099", "name": "新建派出所", "district_id": "1"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    station = demo_db.scalar(select(PoliceStation).where(PoliceStation.code == "420199099"))
    officer = user_named(demo_db, "officer1")
    old_station_id = officer.police_station_id

    data = _edit_form_data(admin_client, officer, police_station_id=str(station.id))
    assert admin_client.post(f"/admin/users/{officer.id}", data=data).status_code == 302
    officer = user_named(demo_db, "officer1")
    assert officer.police_station_id == station.id
    assert officer.version == int(data["version"]) + 1
    change = audit_entries(demo_db, "user_account", officer.id, "update")[-1].changes
    assert change["police_station_id"] == [old_station_id, station.id]
    # The new station covers no community yet: the officer sees no address.
    assert demo_db.scalar(select(func.count()).where(address_filter(officer))) == 0

    community = demo_db.scalar(select(Community).order_by(Community.id))
    edit = admin_client.get(f"/admin/stations/{station.id}").get_data(as_text=True)
    assert "now: " in edit  # the community is shown with the station covering it now
    token = token_of(admin_client, f"/admin/stations/{station.id}")
    version = demo_db.scalar(select(PoliceStation.updated_at).where(PoliceStation.id == station.id))
    response = admin_client.post(
        f"/admin/stations/{station.id}",
        data={
            "csrf_token": token,
            "code": "420199099",
            "name": "新建派出所",
            "version": version.isoformat(),
            "community_ids": [str(community.id)],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.expire_all()
    assert demo_db.get(Community, community.id).police_station_id == station.id
    assert demo_db.scalar(select(func.count()).where(address_filter(officer))) > 0
    changes = audit_entries(demo_db, "police_station", station.id, "update")[-1].changes
    assert changes["community_ids"] == [[], [community.id]]
    # The station that lost the community has its own entry.
    lost = audit_entries(demo_db, "police_station", old_station_id, "update")[-1]
    assert community.id in lost.changes["community_ids"][0]
    assert community.id not in lost.changes["community_ids"][1]

    officer_client = log_in(demo_app, "officer1")
    assert officer_client.get(f"/admin/stations/{station.id}").status_code == 404


def test_stale_station_form_shows_the_conflict_page(admin_client, demo_db):
    station = demo_db.scalar(select(PoliceStation).order_by(PoliceStation.id))
    token = token_of(admin_client, f"/admin/stations/{station.id}")
    response = admin_client.post(
        f"/admin/stations/{station.id}",
        data={
            "csrf_token": token,
            "code": station.code,
            "name": "改名派出所",
            "version": "2000-01-01T00:00:00+00:00",
            "community_ids": [str(c.id) for c in station.communities],
        },
    )
    assert response.status_code == 409
    assert "改名派出所" in response.get_data(as_text=True)
    demo_db.expire_all()
    assert demo_db.get(PoliceStation, station.id).name != "改名派出所"


def test_stale_user_edit_shows_both_versions_and_saves_nothing(admin_client, demo_db):
    worker = user_named(demo_db, "grid0002")
    stale = _edit_form_data(admin_client, worker, display_name="我的改动")
    first = _edit_form_data(admin_client, worker, display_name="别人的改动")
    assert admin_client.post(f"/admin/users/{worker.id}", data=first).status_code == 302

    response = admin_client.post(f"/admin/users/{worker.id}", data=stale)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "我的改动" in html and "别人的改动" in html
    assert user_named(demo_db, "grid0002").display_name == "别人的改动"
    # The conflict page resubmits the input with the new version: saving it then works,
    # and the cell assignment (a check box list) survives the round trip.
    current_version = user_named(demo_db, "grid0002").version
    assert f'name="version" value="{current_version}"' in html
    assert re.search(
        rf'<input type="hidden" name="grid_cell_ids" value="{stale["grid_cell_ids"][0]}">', html
    )


def test_deactivated_account_cannot_log_in(demo_app, admin_client, demo_db):
    manager = user_named(demo_db, "landlord1")
    data = _edit_form_data(admin_client, manager, active="")
    assert admin_client.post(f"/admin/users/{manager.id}", data=data).status_code == 302
    assert user_named(demo_db, "landlord1").active is False
    client = demo_app.test_client()
    assert submit_login(client, "landlord1").status_code == 200


def test_admin_cannot_lock_themselves_out(admin_client, demo_db):
    admin = user_named(demo_db, "admin")
    data = _edit_form_data(admin_client, admin, role="grid_worker", active="")
    response = admin_client.post(f"/admin/users/{admin.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html, "role") == ["You cannot remove your own administrator role"]
    assert user_named(demo_db, "admin").role == Role.ADMIN


def test_property_manager_scope_by_building_search(admin_client, demo_db):
    manager = user_named(demo_db, "manager1")
    before = {d.id for d in manager.dwellings}
    building = demo_db.scalar(
        select(Address)
        .where(
            Address.parent_id.is_(None),
            Address.id.in_(
                select(Address.parent_id)
                .join(Dwelling, Dwelling.address_id == Address.id)
                .where(Dwelling.id.not_in(before))
            ),
        )
        .order_by(Address.id)
    )
    search = _edit_form_data(
        admin_client, manager, action="find_dwellings", dwelling_query=building.full_text
    )
    found = admin_client.post(f"/admin/users/{manager.id}", data=search)
    assert found.status_code == 200
    assert f'name="building_ids" type="checkbox" value="{building.id}"' in found.get_data(
        as_text=True
    )

    save = _edit_form_data(admin_client, manager, building_ids=[str(building.id)])
    assert admin_client.post(f"/admin/users/{manager.id}", data=save).status_code == 302
    manager = user_named(demo_db, "manager1")
    in_building = set(
        demo_db.scalars(
            select(Dwelling.id)
            .join(Address, Address.id == Dwelling.address_id)
            .where(Address.parent_id == building.id)
        )
    )
    assert {d.id for d in manager.dwellings} == before | in_building
    visible = set(demo_db.scalars(select(Dwelling.id).where(dwelling_filter(manager))))
    assert in_building <= visible

    # Unticking dwellings removes them from the scope again.
    data = _edit_form_data(admin_client, manager, dwelling_ids=[str(i) for i in sorted(before)])
    assert admin_client.post(f"/admin/users/{manager.id}", data=data).status_code == 302
    assert {d.id for d in user_named(demo_db, "manager1").dwellings} == before


def test_password_reset_by_admin(demo_app, admin_client, demo_db):
    worker = user_named(demo_db, "grid0003")
    token = token_of(admin_client, f"/admin/users/{worker.id}/password")
    short = admin_client.post(
        f"/admin/users/{worker.id}/password",
        data={"csrf_token": token, "password": "grid0003", "password_again": "grid0003"},
    )
    assert short.status_code == 422
    logged_in = log_in(demo_app, "grid0003")
    assert "/login" not in logged_in.get("/").headers["Location"]
    response = admin_client.post(
        f"/admin/users/{worker.id}/password",
        data={"csrf_token": token, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert response.status_code == 302
    # The session that logged in with the old password ends.
    ended = logged_in.get("/")
    assert ended.headers["Location"].startswith("/login")
    assert "Your password was changed" in logged_in.get(ended.headers["Location"]).get_data(True)
    client = demo_app.test_client()
    assert submit_login(client, "grid0003").status_code == 200  # the old password no longer works
    assert submit_login(client, "grid0003", NEW_PASSWORD).status_code == 302
    entry = audit_entries(demo_db, "user_account", worker.id, "update")[-1]
    assert entry.changes == {"password": ["set", "reset"]}


def test_changing_role_clears_the_old_scope(admin_client, demo_db):
    worker = user_named(demo_db, "grid0004")
    station = demo_db.scalar(select(PoliceStation).order_by(PoliceStation.id))
    data = _edit_form_data(
        admin_client, worker, role="police_officer", police_station_id=str(station.id)
    )
    assert admin_client.post(f"/admin/users/{worker.id}", data=data).status_code == 302
    worker = user_named(demo_db, "grid0004")
    assert worker.role == Role.POLICE_OFFICER and worker.grid_cells == []
    assert worker.police_station_id == station.id


def test_admin_changing_their_own_password_gives_the_current_one_and_stays_logged_in(
    demo_app, admin_client, demo_db
):
    admin = user_named(demo_db, "admin")
    url = f"/admin/users/{admin.id}/password"
    token = token_of(admin_client, url)
    assert 'name="current_password"' in admin_client.get(url).get_data(as_text=True)
    wanted = {"csrf_token": token, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    for current in ("", "not-the-password"):
        refused = admin_client.post(url, data={**wanted, "current_password": current})
        assert refused.status_code == 422
        assert field_errors(refused.get_data(as_text=True), "current_password") == [
            "This is not your current password"
        ]
    assert submit_login(demo_app.test_client(), "admin").status_code == 302  # unchanged
    response = admin_client.post(url, data={**wanted, "current_password": "demo-2026"})
    assert response.status_code == 302
    assert admin_client.get("/admin/users").status_code == 200
    assert submit_login(demo_app.test_client(), "admin", NEW_PASSWORD).status_code == 302
    entry = audit_entries(demo_db, "user_account", admin.id, "update")[-1]
    assert entry.changes == {"password": ["set", "changed"]}


def test_another_users_password_needs_no_current_one(admin_client, demo_db):
    worker = user_named(demo_db, "grid0005")
    url = f"/admin/users/{worker.id}/password"
    assert 'name="current_password"' not in admin_client.get(url).get_data(as_text=True)
