"""A sweep team-day on the map: the service and the scoped GeoJSON against the demo
district in PostGIS (registry/sweeps/daymap.py, the map page and its endpoint)."""

from __future__ import annotations

import json
import re

import pytest
from helpers import DEMO_TODAY, account, csrf_token_from, log_in, officer_elsewhere
from sqlalchemy import func, select, text
from sweep_helpers import member_account, plan, team_with

from registry.sweeps.daymap import DoneState, MapBuilding, day_map
from registry.sweeps.models import SweepDay, SweepStop, SweepVisit


@pytest.fixture
def sweep(demo_db):
    record = plan(demo_db)
    member_account(demo_db)
    team_with(demo_db, record, "sweeper1")
    demo_db.commit()
    return record


def _busiest_day(session, sweep) -> int:
    """The day with the most buildings: the route has somewhere to go."""
    return session.execute(
        select(SweepDay.number)
        .join(SweepStop, SweepStop.day_id == SweepDay.id)
        .where(SweepDay.sweep_id == sweep.id)
        .group_by(SweepDay.number)
        .order_by(func.count(SweepStop.building_address_id.distinct()).desc(), SweepDay.number)
        .limit(1)
    ).scalar_one()


def _stored_order(session, sweep, day: int) -> list[tuple[int, int]]:
    """(position, building) of the day's stops as planning stored them, in plain SQL."""
    return session.execute(
        text(
            """SELECT s.position, s.building_address_id FROM sweep_stop s
               JOIN sweep_day d ON d.id = s.day_id
               WHERE d.sweep_id = :sweep AND d.number = :day ORDER BY s.position"""
        ),
        {"sweep": sweep.id, "day": day},
    ).all()


def _visit(session, stop_id: int, submission: str) -> None:
    session.add(
        SweepVisit(
            stop_id=stop_id, submission=submission, outcome="in_order", visited_on=DEMO_TODAY
        )
    )
    session.flush()


def _geojson(client, sweep, day: int):
    response = client.get(f"/sweeps/{sweep.id}/days/{day}.geojson")
    return response, (json.loads(response.data) if response.status_code == 200 else None)


def test_the_stops_come_back_by_building_in_walking_order_with_their_done_state(demo_db, sweep):
    day = _busiest_day(demo_db, sweep)
    stored = _stored_order(demo_db, sweep, day)
    first_building = stored[0][1]
    stops_there = [p for p, b in stored if b == first_building]
    first_stop = demo_db.scalar(
        select(SweepStop.id)
        .join(SweepDay, SweepDay.id == SweepStop.day_id)
        .where(SweepDay.sweep_id == sweep.id, SweepDay.number == day, SweepStop.position == 1)
    )
    _visit(demo_db, first_stop, "22222222-2222-4222-8222-222222222222")

    found = day_map(demo_db, account(demo_db, "sweeper1"), sweep.id, day, DEMO_TODAY)

    walked = [(p, b.address_id) for b in found.buildings for p in b.positions]
    assert walked == [tuple(row) for row in stored]
    assert [b.address_id for b in found.buildings] == list(dict.fromkeys(b for _p, b in stored))
    assert found.stops == len(stored) and found.done == 1
    first = found.buildings[0]
    assert first.done == 1
    assert first.state == (DoneState.DONE if len(stops_there) == 1 else DoneState.PARTLY)
    assert all(b.state == DoneState.TO_DO for b in found.buildings[1:])
    start = demo_db.execute(
        text("SELECT ST_X(start_geom), ST_Y(start_geom) FROM sweep WHERE id = :s"),
        {"s": sweep.id},
    ).one()
    assert found.route[0] == pytest.approx(tuple(start))
    assert len(found.route) == len(found.buildings) + 1


def test_the_geojson_is_one_day_of_route_start_and_numbered_buildings(demo_app, demo_db, sweep):
    day = _busiest_day(demo_db, sweep)
    stored = _stored_order(demo_db, sweep, day)
    member = log_in(demo_app, "sweeper1")
    response, collection = _geojson(member, sweep, day)
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.headers["Cache-Control"] == "private, no-store"
    kinds = [f["properties"]["kind"] for f in collection["features"]]
    assert kinds[:2] == ["route", "start"] and set(kinds[2:]) == {"building"}
    buildings = collection["features"][2:]
    assert [f["properties"]["order"] for f in buildings] == list(range(1, len(buildings) + 1))
    assert collection["stops"] == len(stored) and collection["done"] == 0
    route = collection["features"][0]["geometry"]["coordinates"]
    assert route[1:] == [f["geometry"]["coordinates"] for f in buildings]
    # Each building's number is its stops' places in the day; the next one to walk is the first.
    assert buildings[0]["properties"]["label"].split("–")[0] == "1"
    assert [f["properties"]["next"] for f in buildings] == [True] + [False] * (len(buildings) - 1)
    # The popup links every stop there to its record page.
    stop_ids = demo_db.scalars(
        select(SweepStop.id)
        .join(SweepDay, SweepDay.id == SweepStop.day_id)
        .where(SweepDay.sweep_id == sweep.id, SweepDay.number == day)
    ).all()
    linked = {
        int(i)
        for f in buildings
        for i in re.findall(r'/sweeps/stops/(\d+)\?back=map"', f["properties"]["popup"])
    }
    assert linked == set(stop_ids)


def test_user_strings_reach_the_popup_escaped(demo_app, demo_db, sweep):
    day = _busiest_day(demo_db, sweep)
    building = _stored_order(demo_db, sweep, day)[0][1]
    demo_db.execute(
        text("UPDATE address SET full_text = :t WHERE id = :a"),
        {"t": '<img src=x onerror="alert(1)">楼', "a": building},
    )
    demo_db.commit()
    _response, collection = _geojson(log_in(demo_app, "sweeper1"), sweep, day)
    popup = collection["features"][2]["properties"]["popup"]
    assert "<img" not in popup
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;楼" in popup


def test_the_page_has_the_map_its_nonce_and_no_outside_address(demo_app, demo_db, sweep):
    day = _busiest_day(demo_db, sweep)
    response = log_in(demo_app, "sweeper1").get(f"/sweeps/{sweep.id}/map?day={day}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in page
    assert "registryMap.sweepDayLayer" in page and "js/sweep_map.js" in page
    assert f"/sweeps/{sweep.id}/days/{day}.geojson" in page
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    # Every day is one tap away, and so is the checklist of this day.
    days = demo_db.scalar(select(func.count()).where(SweepDay.sweep_id == sweep.id))
    tabs = re.findall(rf'class="menuitem[^"]*" href="/sweeps/{sweep.id}/map\?day=(\d+)"', page)
    assert tabs == [str(n) for n in range(1, days + 1)]
    assert f'href="/sweeps/{sweep.id}?day={day}"' in page


def test_the_checklist_links_to_its_days_map(demo_app, sweep):
    page = log_in(demo_app, "sweeper1").get(f"/sweeps/{sweep.id}?day=1").get_data(as_text=True)
    assert f'href="/sweeps/{sweep.id}/map?day=1"' in page


def test_a_grid_worker_sees_only_the_stops_in_their_cells_and_the_route_through_them(
    demo_app, demo_db, sweep
):
    """The grid worker of one of the area's cells: their buildings only, in the stored order."""
    cell, day = demo_db.execute(
        text(
            """SELECT a.grid_cell_id, d.number FROM sweep_stop s
               JOIN sweep_day d ON d.id = s.day_id JOIN address a ON a.id = s.address_id
               WHERE s.sweep_id = :s ORDER BY d.number, s.position LIMIT 1"""
        ),
        {"s": sweep.id},
    ).one()
    mine = (
        demo_db.execute(
            text(
                """SELECT s.position FROM sweep_stop s JOIN sweep_day d ON d.id = s.day_id
               JOIN address a ON a.id = s.address_id
               WHERE s.sweep_id = :s AND d.number = :d AND a.grid_cell_id = :c
               ORDER BY s.position"""
            ),
            {"s": sweep.id, "d": day, "c": cell},
        )
        .scalars()
        .all()
    )
    _response, collection = _geojson(log_in(demo_app, f"grid{cell:04d}"), sweep, day)
    assert collection["stops"] == len(mine)
    shown = []
    for feature in collection["features"][2:]:
        shown += [
            int(p) for p in re.findall(r'class="sw-pos">(\d+)<', feature["properties"]["popup"])
        ]
    assert shown == list(mine)
    assert (
        len(collection["features"][0]["geometry"]["coordinates"]) == len(collection["features"]) - 1
    )


@pytest.mark.parametrize("username", ["officer_elsewhere", "manager1", "landlord1"])
def test_outsiders_get_the_same_404_as_for_a_missing_sweep(demo_app, demo_db, sweep, username):
    if username == "officer_elsewhere":
        officer_elsewhere(demo_db)
    client = log_in(demo_app, username)
    for url in (f"/sweeps/{sweep.id}/map?day=1", f"/sweeps/{sweep.id}/days/1.geojson"):
        hidden = client.get(url)
        missing = client.get(url.replace(f"/{sweep.id}/", "/987654321/"))
        assert hidden.status_code == missing.status_code == 404
        # The same page, but for the language switch (it repeats the URL) and the tokens.
        assert _without_language_link(hidden) == _without_language_link(missing)


def test_a_day_without_stops_and_a_closed_sweep_are_not_found_for_the_team(
    demo_app, demo_db, sweep
):
    member = log_in(demo_app, "sweeper1")
    days = demo_db.scalar(select(func.count()).where(SweepDay.sweep_id == sweep.id))
    assert member.get(f"/sweeps/{sweep.id}/days/{days + 1}.geojson").status_code == 404
    assert member.get(f"/sweeps/{sweep.id}/map?day={days + 1}").status_code == 404
    sweep.closed_at = func.now()
    demo_db.commit()
    assert member.get(f"/sweeps/{sweep.id}/days/1.geojson").status_code == 404
    officer, _collection = _geojson(log_in(demo_app, "officer1"), sweep, 1)
    assert officer.status_code == 200
    assert "/sweeps/stops/" not in officer.get_data(as_text=True)  # closed: nothing to record


def _without_language_link(response) -> str:
    """The page without the language switch's link and the CSRF tokens (timestamped)."""
    page = re.sub(r'name="csrf_token"[^>]*>', "", response.get_data(as_text=True))
    return re.sub(r'href="[^"]*lang=[^"]*"', "", page)


def _building(positions: list[int]) -> MapBuilding:
    class Row:
        def __init__(self, position):
            self.stop = type("Stop", (), {"position": position})()
            self.visit = None

    return MapBuilding(1, 0.0, 0.0, "楼", [Row(p) for p in positions])


@pytest.mark.parametrize(("positions", "label"), [([3], "3"), ([3, 4, 5], "3–5"), ([3, 7], "3, 7")])
def test_a_buildings_number_is_its_stops_places_in_the_day(positions, label):
    assert _building(positions).label == label


def test_a_stop_opened_from_the_map_leads_back_to_the_map(demo_app, demo_db, sweep):
    member = log_in(demo_app, "sweeper1")
    stop = demo_db.scalar(
        select(SweepStop).where(SweepStop.sweep_id == sweep.id).order_by(SweepStop.id)
    )
    day = stop.day.number
    from_map = member.get(f"/sweeps/stops/{stop.id}?back=map").get_data(as_text=True)
    assert f'href="/sweeps/{sweep.id}/map?day={day}"' in from_map
    saved = member.post(
        f"/sweeps/stops/{stop.id}?back=map",
        data={
            "csrf_token": csrf_token_from(from_map),
            "submission": re.search(r'name="submission" type="hidden" value="([^"]+)"', from_map)[
                1
            ],
            "outcome": "no_one_home",
        },
    )
    assert saved.status_code == 302
    assert saved.headers["Location"].endswith(f"/sweeps/{sweep.id}/map?day={day}")
    from_list = member.get(f"/sweeps/stops/{stop.id}").get_data(as_text=True)
    assert f'href="/sweeps/{sweep.id}?day={day}#stop-{stop.id}"' in from_list
