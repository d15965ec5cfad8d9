"""Every route as every role: nothing outside a user's scope can be read, changed or confirmed.

The routes come from the app's own URL map, so a page added later is walked too. For each
role, every id in a URL is replaced by a record the role may not see; the answer must be a
404 that looks exactly like the one for an id that does not exist, and no POST may change
anything.
"""

from __future__ import annotations

import math
import re
from datetime import date

import pytest
from helpers import csrf_token_from, log_in
from helpers import officer_elsewhere as make_officer_elsewhere
from sqlalchemy import select, text

from registry.accounts.models import Role, UserAccount

NONEXISTENT = 987654321
PUBLIC_ENDPOINTS = {"accounts.login", "home.health", "home.favicon", "static"}
# Pages each blueprint serves, by role. Ids in the URL are checked against scope on top.
BLUEPRINT_ROLES = {
    "admin": {Role.ADMIN},
    "rules": {Role.ADMIN},
    "flags": {Role.POLICE_OFFICER, Role.ADMIN, Role.GRID_WORKER},
    "dashboard": {Role.POLICE_OFFICER, Role.ADMIN},
    "gridwork": {Role.GRID_WORKER},
    "leases": {Role.PROPERTY_MANAGER, Role.GRID_WORKER, Role.POLICE_OFFICER, Role.ADMIN},
    "deskmap": {Role.POLICE_OFFICER, Role.ADMIN},
    "fieldmap": {Role.GRID_WORKER},
    "map": {Role.GRID_WORKER, Role.POLICE_OFFICER, Role.ADMIN},
    "sweeps": {Role.POLICE_OFFICER, Role.ADMIN, Role.GRID_WORKER, Role.SWEEP_TEAM_MEMBER},
}
# Vector tiles are never a 404: a tile over records outside the scope must be the same bytes
# as a tile over empty land (test_tiles_outside_the_scope_are_empty_land).
TILE_ENDPOINTS = {"map.building_tile", "map.organisation_tile"}
ACTORS = ("grid0001", "manager1", "landlord1", "officer_elsewhere", "sweeper1")
TIMESTAMP_COLUMNS = {
    "filing_request": "created_at",
    "rule_version": "created_at",
    "flag_event": "occurred_at",
    "tip": "created_at",
    "visit_report": "created_at",
    "registry_setting": "changed_at",
}
TABLES_WATCHED = (
    "address",
    "dwelling",
    "person",
    "residence",
    "organisation",
    "lease_filing",
    "lease_tenant",
    "rental_pledge",
    "security_guarantee",
    "grid_cell",
    "focus_area",
    "user_account",
    "police_station",
    "rule_version",
    "community",
    "filing_request",
    "sweep",
    "sweep_team",
    "sweep_visit",
    "flag",
    "flag_event",
    "tip",
    "visit_report",
    "registry_setting",
)


# What each role may see, written independently of registry/scope.py in plain SQL, so that
# a mistake there cannot hide itself by also choosing the records this test tries.
VISIBLE_DWELLINGS = {
    Role.GRID_WORKER: """
        SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
        WHERE a.grid_cell_id IN (SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = :uid)""",
    Role.PROPERTY_MANAGER: "SELECT dwelling_id FROM managed_dwelling WHERE user_id = :uid",
    Role.POLICE_OFFICER: """
        SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
        JOIN community c ON c.id = a.community_id
        WHERE c.police_station_id = (SELECT police_station_id FROM user_account WHERE id = :uid)""",
    # A sweep team member: the stops of their teams' open sweeps, and the dwellings inside a
    # stop that is a whole building.
    Role.SWEEP_TEAM_MEMBER: """
        SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
        WHERE a.id IN ({team_stops}) OR a.parent_id IN ({team_stops})""",
}
TEAM_SWEEPS = """
    SELECT w.id FROM sweep w JOIN sweep_team_member m ON m.team_id = w.team_id
    WHERE m.user_id = :uid AND w.closed_at IS NULL"""
TEAM_STOPS = f"SELECT s.address_id FROM sweep_stop s WHERE s.sweep_id IN ({TEAM_SWEEPS})"
# The sweeps each role may open, again in plain SQL.
VISIBLE_SWEEPS = {
    Role.GRID_WORKER: f"""
        SELECT s.sweep_id FROM sweep_stop s JOIN address a ON a.id = s.address_id
        WHERE a.grid_cell_id IN (SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = :uid)
        UNION {TEAM_SWEEPS}""",
    Role.POLICE_OFFICER: f"""
        SELECT w.id FROM sweep w JOIN focus_area_cell f ON f.focus_area_id = w.focus_area_id
        JOIN grid_cell g ON g.id = f.grid_cell_id JOIN community c ON c.id = g.community_id
        WHERE c.police_station_id = (SELECT police_station_id FROM user_account WHERE id = :uid)
        UNION {TEAM_SWEEPS}""",
    Role.PROPERTY_MANAGER: "SELECT -1",
    Role.SWEEP_TEAM_MEMBER: TEAM_SWEEPS,
}
OUTSIDE = {
    "dwelling_id": "SELECT min(id) FROM dwelling WHERE id NOT IN ({visible})",
    "address_id": "SELECT min(address_id) FROM dwelling WHERE id NOT IN ({visible})",
    "filing_id": "SELECT min(id) FROM lease_filing WHERE dwelling_id NOT IN ({visible})",
    "residence_id": "SELECT min(id) FROM residence WHERE dwelling_id NOT IN ({visible})",
    "person_id": """
        SELECT min(r.person_id) FROM residence r WHERE r.dwelling_id NOT IN ({visible})
        AND r.person_id NOT IN (SELECT person_id FROM residence WHERE dwelling_id IN ({visible}))
        AND r.person_id NOT IN (SELECT owner_person_id FROM dwelling
                                WHERE id IN ({visible}) AND owner_person_id IS NOT NULL)
        AND r.person_id NOT IN (SELECT landlord_person_id FROM lease_filing
                                WHERE dwelling_id IN ({visible}))
        AND r.person_id NOT IN (SELECT t.person_id FROM lease_tenant t
                                JOIN lease_filing f ON f.id = t.lease_filing_id
                                WHERE f.dwelling_id IN ({visible}))""",
    "organisation_id": """
        SELECT min(o.id) FROM organisation o WHERE o.address_id NOT IN (
            SELECT a.parent_id FROM address a JOIN dwelling d ON d.address_id = a.id
            WHERE d.id IN ({visible}) AND a.parent_id IS NOT NULL)""",
    # Flags and tips of a dwelling out of scope (whole-building ones have no dwelling).
    "flag_id": "SELECT min(id) FROM flag WHERE dwelling_id NOT IN ({visible})",
    "tip_id": "SELECT min(id) FROM tip WHERE dwelling_id NOT IN ({visible})",
    "cell_id": """
        SELECT min(g.id) FROM grid_cell g WHERE g.id NOT IN (
            SELECT a.grid_cell_id FROM address a JOIN dwelling d ON d.address_id = a.id
            WHERE d.id IN ({visible}) AND a.grid_cell_id IS NOT NULL)""",
    "sweep_id": "SELECT min(id) FROM sweep WHERE id NOT IN ({sweeps})",
    "stop_id": """
        SELECT min(s.id) FROM sweep_stop s WHERE s.dwelling_id NOT IN ({visible})""",
    # Photos are the team's and the stop's officers' only: one outside the dwellings in
    # scope is hidden from every role of this test.
    "photo_id": """
        SELECT min(p.id) FROM visit_photo p JOIN sweep_visit v ON v.id = p.visit_id
        JOIN sweep_stop s ON s.id = v.stop_id WHERE s.dwelling_id NOT IN ({visible})""",
    "team_id": """
        SELECT min(id) FROM sweep_team WHERE police_station_id IS DISTINCT FROM
        (SELECT police_station_id FROM user_account WHERE id = :uid AND role = 'police_officer')""",
}


@pytest.fixture
def officer_elsewhere(demo_db):
    """An officer of a new station whose jurisdiction holds none of the demo's records."""
    make_officer_elsewhere(demo_db)


@pytest.fixture
def sweep_world(demo_db, officer_elsewhere):
    """Two focus areas' sweeps, each stop's first visit with a photo, and a team of station 1
    with the sweep team member ``sweeper1`` walking the first area's sweep."""
    from sweep_helpers import jpeg_with_exif, member_account, plan, team_with

    from registry.grid.models import FocusArea, GridCell
    from registry.sweeps.models import SweepStop, SweepVisit, VisitPhoto
    from registry.sweeps.visits import clean_photo

    first = plan(demo_db, area=1)
    taken = {cell.id for cell in demo_db.get(FocusArea, 1).cells} | {1}
    others = demo_db.scalars(select(GridCell).where(GridCell.id.not_in(taken))).all()[:2]
    second_area = FocusArea(district_id=1, name="第二重点区域", cells=others)
    demo_db.add(second_area)
    demo_db.flush()
    second = plan(demo_db, area=second_area.id)
    member_account(demo_db)
    team_with(demo_db, first, "sweeper1")
    content, width, height = clean_photo(jpeg_with_exif())
    for sweep in (first, second):
        stop = demo_db.scalars(
            select(SweepStop).where(SweepStop.sweep_id == sweep.id).order_by(SweepStop.id)
        ).first()
        visit = SweepVisit(
            stop_id=stop.id,
            submission=f"00000000-0000-4000-8000-00000000000{sweep.id % 10}",
            outcome="in_order",
            visited_on=date(2026, 11, 25),
        )
        demo_db.add(visit)
        demo_db.flush()
        demo_db.add(VisitPhoto(visit_id=visit.id, content=content, width=width, height=height))
    demo_db.commit()


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        yield rule


def _outside_scope_id(session, actor, parameter: str) -> int | None:
    if parameter not in OUTSIDE:
        return None
    visible = VISIBLE_DWELLINGS[actor.role].format(team_stops=TEAM_STOPS)
    sql = OUTSIDE[parameter].format(visible=visible, sweeps=VISIBLE_SWEEPS[actor.role])
    return session.execute(text(sql), {"uid": actor.id}).scalar()


def _url(rule, values: dict) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^:>]+:)?{name}>", str(value), path)
    return path


def _fingerprint(session) -> dict:
    """Row counts and newest change per table, and the count of audit entries of changes
    (views, log-ins and refused reveals are logged on purpose, even outside the scope)."""
    prints = {}
    for table in TABLES_WATCHED:
        column = TIMESTAMP_COLUMNS.get(table, "updated_at")
        prints[table] = session.execute(
            text(f"SELECT count(*), max({column})::text FROM {table}")
        ).one()
    prints["audit"] = session.execute(
        text(
            "SELECT count(*) FROM audit_log WHERE action NOT IN ('view', 'login', 'reveal_refused')"
        )
    ).scalar_one()
    return prints


def _without_tokens(response) -> str:
    """The page without its CSRF tokens (they carry a timestamp) and without the language
    switch's link, which repeats the URL that was asked for."""
    page = re.sub(r'name="csrf_token"[^>]*>', "", response.get_data(as_text=True))
    return re.sub(r'href="[^"]*lang=[^"]*"', "", page)


def _values_for(rule, session, actor) -> dict | None:
    """Out-of-scope values for every argument of ``rule``; None when the role has none."""
    values = {}
    for name in rule.arguments:
        if name == "kind":
            values[name] = "rental_pledge"
        elif name == "fmt":
            values[name] = "pdf"
        elif name == "step":
            values[name] = "close"
        elif name == "object_type":
            values[name] = "person"
        elif name == "object_id":
            values[name] = _outside_scope_id(session, actor, "person_id")
        elif name in OUTSIDE:
            values[name] = _outside_scope_id(session, actor, name)
        elif actor.role == Role.ADMIN:
            return None  # admins reach every station, user and focus area
        else:
            values[name] = 1  # admin-only objects: stations, users, focus areas
        if values[name] is None:
            return None
    return values


@pytest.mark.parametrize("username", ACTORS)
def test_no_route_reveals_or_changes_anything_outside_the_scope(
    demo_app, demo_db, sweep_world, username
):
    actor = demo_db.scalar(select(UserAccount).where(UserAccount.username == username))
    client = log_in(demo_app, username)
    landing = client.get("/", follow_redirects=True).get_data(as_text=True)
    token = csrf_token_from(landing)
    before = _fingerprint(demo_db)
    walked = 0
    failures = []
    for rule in _routes(demo_app):
        blueprint = rule.endpoint.split(".")[0]
        allowed = BLUEPRINT_ROLES.get(blueprint)
        role_may_enter = allowed is None or actor.role in allowed
        if rule.endpoint in TILE_ENDPOINTS and role_may_enter:
            continue
        if rule.arguments:
            values = _values_for(rule, demo_db, actor)
            if values is None:
                continue  # the role sees every record of this kind (admin)
        elif role_may_enter:
            continue  # a list page: its contents are checked by the area tests
        else:
            values = {}
        url = _url(rule, values)
        for method in sorted(rule.methods & {"GET", "POST"}):
            # A redirect is followed: wherever it leads, the record must stay hidden.
            if method == "GET":
                response = client.get(url, follow_redirects=True)
            else:
                response = client.post(url, data={"csrf_token": token}, follow_redirects=True)
            if response.status_code != 404:
                failures.append(f"{username} {method} {url} {response.status_code}")
            walked += 1
    assert not failures, "\n".join(failures)
    assert walked > 10
    demo_db.expire_all()
    assert _fingerprint(demo_db) == before


@pytest.mark.parametrize("username", ["grid0001", "manager1", "officer_elsewhere", "sweeper1"])
def test_out_of_scope_and_nonexistent_records_look_the_same(
    demo_app, demo_db, sweep_world, username
):
    actor = demo_db.scalar(select(UserAccount).where(UserAccount.username == username))
    client = log_in(demo_app, username)
    compared = 0
    for rule in _routes(demo_app):
        if "GET" not in rule.methods or not rule.arguments or rule.endpoint in TILE_ENDPOINTS:
            continue
        values = _values_for(rule, demo_db, actor)
        if values is None:
            continue
        missing = {name: (NONEXISTENT if isinstance(v, int) else v) for name, v in values.items()}
        hidden = client.get(_url(rule, values), follow_redirects=True)
        absent = client.get(_url(rule, missing), follow_redirects=True)
        assert hidden.status_code == absent.status_code == 404
        assert _without_tokens(hidden) == _without_tokens(absent), rule.rule
        compared += 1
    assert compared > 5


def _tile_over(session, address_id: int, zoom: int = 18) -> tuple[int, int]:
    lon, lat = session.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM address WHERE id = :a"), {"a": address_id}
    ).one()
    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.mark.parametrize("username", ["grid0001", "officer_elsewhere"])
def test_tiles_outside_the_scope_are_empty_land(demo_app, demo_db, officer_elsewhere, username):
    """A tile over a building or organisation outside the scope equals a tile over nothing."""
    actor = demo_db.scalar(select(UserAccount).where(UserAccount.username == username))
    client = log_in(demo_app, username)
    building = demo_db.scalar(
        text("SELECT coalesce(parent_id, id) FROM address WHERE id = :a"),
        {"a": _outside_scope_id(demo_db, actor, "address_id")},
    )
    organisation = _outside_scope_id(demo_db, actor, "organisation_id")
    organisation_address = demo_db.scalar(
        text("SELECT address_id FROM organisation WHERE id = :o"), {"o": organisation}
    )
    admin = log_in(demo_app, "admin")
    for layer, address in (("buildings", building), ("organisations", organisation_address)):
        x, y = _tile_over(demo_db, address)
        url = f"/map/tiles/{layer}/18/{x}/{y}.pbf"
        assert len(admin.get(url).data) > 0  # there is something there to hide
        hidden = client.get(url)
        nothing = client.get(f"/map/tiles/{layer}/18/0/0.pbf")
        assert hidden.status_code == nothing.status_code == 200
        assert hidden.data == nothing.data
        varying = {"Date", "Set-Cookie"}  # the session cookie is re-signed on every response
        assert [h for h in hidden.headers if h[0] not in varying] == [
            h for h in nothing.headers if h[0] not in varying
        ]


def test_anonymous_users_are_sent_to_the_login_page(demo_app):
    client = demo_app.test_client()
    for rule in _routes(demo_app):
        url = _url(
            rule,
            {name: 1 for name in rule.arguments}
            | ({"kind": "rental_pledge"} if "kind" in rule.arguments else {})
            | ({"object_type": "person"} if "object_type" in rule.arguments else {})
            | ({"fmt": "pdf"} if "fmt" in rule.arguments else {})
            | ({"step": "close"} if "step" in rule.arguments else {}),
        )
        if "GET" in rule.methods:
            response = client.get(url)
            assert response.status_code == 302, url
            assert "/login" in response.headers["Location"]


# The stops each role sees, in plain SQL: a sweep team-day's map shows exactly these.
VISIBLE_STOP_ADDRESSES = {
    Role.ADMIN: "SELECT id FROM address",
    Role.GRID_WORKER: f"""
        SELECT id FROM address WHERE grid_cell_id IN
            (SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = :uid)
        UNION {TEAM_STOPS}""",
    Role.POLICE_OFFICER: f"""
        SELECT a.id FROM address a JOIN community c ON c.id = a.community_id
        WHERE c.police_station_id = (SELECT police_station_id FROM user_account WHERE id = :uid)
        UNION {TEAM_STOPS}""",
    Role.SWEEP_TEAM_MEMBER: TEAM_STOPS,
    Role.PROPERTY_MANAGER: "SELECT -1",
}
SWEEP_DAY_URLS = ("/sweeps/{sweep}/map?day={day}", "/sweeps/{sweep}/days/{day}.geojson")


def _days_with_visible_stops(session, actor) -> set[tuple[int, int]]:
    sweeps = "SELECT id FROM sweep" if actor.role == Role.ADMIN else VISIBLE_SWEEPS[actor.role]
    rows = session.execute(
        text(
            f"""SELECT DISTINCT d.sweep_id, d.number FROM sweep_day d
                JOIN sweep_stop s ON s.day_id = d.id
                WHERE d.sweep_id IN ({sweeps})
                AND s.address_id IN ({VISIBLE_STOP_ADDRESSES[actor.role]})"""
        ),
        {"uid": actor.id},
    ).all()
    return {tuple(row) for row in rows}


@pytest.mark.parametrize(
    "username",
    ["admin", "officer1", "officer_elsewhere", "sweeper1", "manager1", "landlord1"]
    + [f"grid{n:04d}" for n in range(1, 9)],
)
def test_a_sweep_days_map_is_seen_exactly_by_those_who_see_its_stops_that_day(
    demo_app, demo_db, sweep_world, username
):
    """Every team-day of every sweep, as the map page and as its GeoJSON: shown where the
    plain SQL above finds one of the user's stops that day, and otherwise the same 404 as a
    sweep that does not exist."""
    actor = demo_db.scalar(select(UserAccount).where(UserAccount.username == username))
    expected = _days_with_visible_stops(demo_db, actor)
    client = log_in(demo_app, username)
    all_days = demo_db.execute(text("SELECT sweep_id, number FROM sweep_day")).all()
    wrong = []
    for sweep_id, number in all_days:
        for pattern in SWEEP_DAY_URLS:
            url = pattern.format(sweep=sweep_id, day=number)
            status = client.get(url).status_code
            if status != (200 if (sweep_id, number) in expected else 404):
                wrong.append(f"{username} {url} {status}")
    assert not wrong, "\n".join(wrong)
    if username in ("admin", "officer1", "sweeper1"):
        assert expected  # the test shows something to those who may see it
