"""The grid map's "open flags": a cell measure counted from the live flags, each building's
live flags in the buildings tile (its marker's ring), and a building's counts and links in
its popup; all scoped, all following a decision at once."""

from __future__ import annotations

import json

import pytest
from helpers import log_in
from mvt import decode
from sqlalchemy import text
from test_map_web import cell_ids_of, tile_of

# Live flags per cell, written independently of registry/flags/services.py.
PLAIN_LIVE_FLAGS = """
    SELECT a.grid_cell_id, count(*) FROM flag f JOIN address a ON a.id = f.address_id
     WHERE f.state IN ('open', 'in_review', 'confirmed') GROUP BY 1"""


def cells_geojson(demo_app, username: str) -> dict:
    return json.loads(log_in(demo_app, username).get("/map/cells.geojson").data)


def shown_counts(collection: dict) -> dict[int, int]:
    return {
        f["id"]: int(f["properties"]["values"]["open_flags"].replace(",", ""))
        for f in collection["features"]
    }


@pytest.mark.parametrize("username", ["admin", "officer1", "grid0001"])
def test_each_cell_shows_its_live_flags_in_scope(demo_app, demo_db, username):
    plain = dict(demo_db.execute(text(PLAIN_LIVE_FLAGS)).all())
    collection = cells_geojson(demo_app, username)
    own = cell_ids_of(demo_db, username)
    assert shown_counts(collection) == {cell: plain.get(cell, 0) for cell in own}
    assert any(plain.get(cell) for cell in own)  # the demo has flags in every scope
    legend = collection["legend"]["open_flags"]
    assert legend["label"] == "Open flags" and legend["classes"]


def test_a_decision_shows_on_the_map_at_once(demo_app, demo_db):
    """Flags are counted when asked, not read from the nightly figures."""
    cell, count = demo_db.execute(text(PLAIN_LIVE_FLAGS + " ORDER BY 2 DESC LIMIT 1")).one()
    demo_db.execute(
        text("""UPDATE flag SET state = 'resolved', decided_at = now()
                 WHERE address_id IN (SELECT id FROM address WHERE grid_cell_id = :c)"""),
        {"c": cell},
    )
    demo_db.commit()
    assert count > 0
    assert shown_counts(cells_geojson(demo_app, "admin"))[cell] == 0


def test_a_dismissed_flag_no_longer_counts(demo_app, demo_db):
    flag_id, cell = demo_db.execute(
        text("""SELECT f.id, a.grid_cell_id FROM flag f JOIN address a ON a.id = f.address_id
                 WHERE f.state = 'open' ORDER BY f.id LIMIT 1""")
    ).one()
    before = shown_counts(cells_geojson(demo_app, "admin"))[cell]
    demo_db.execute(
        text("""UPDATE flag SET state = 'dismissed', decided_at = now(),
                       decided_by_id = (SELECT id FROM user_account WHERE username = 'officer1'),
                       decision_reason = 'checked' WHERE id = :f"""),
        {"f": flag_id},
    )
    demo_db.commit()
    assert shown_counts(cells_geojson(demo_app, "admin"))[cell] == before - 1


def test_the_cell_panel_lists_the_open_flags(demo_app, demo_db):
    plain = dict(demo_db.execute(text(PLAIN_LIVE_FLAGS)).all())
    cell = max(cell_ids_of(demo_db, "officer1"), key=lambda c: plain.get(c, 0))
    html = log_in(demo_app, "officer1").get(f"/map/cells/{cell}/panel").get_data(as_text=True)
    assert f"<dt>Open flags</dt><dd>{plain[cell]:,}</dd>" in html
    # ... and leads to them: the officer's flag list of the cell.
    link = f'href="/flags/?cell={cell}&amp;state=live"'
    assert f"{link}>Flags in this cell: {plain[cell]}</a>" in html


def test_the_grid_workers_cell_panel_leads_to_needs_attention(demo_app, demo_db):
    plain = dict(demo_db.execute(text(PLAIN_LIVE_FLAGS)).all())
    cells = cell_ids_of(demo_db, "grid0001")
    flagged = max(cells, key=lambda c: plain.get(c, 0))
    client = log_in(demo_app, "grid0001")
    html = client.get(f"/map/cells/{flagged}/panel").get_data(as_text=True)
    link = f'href="/cells/?cell={flagged}&amp;show=attention"'
    assert f"{link}>Flags in this cell: {plain[flagged]}</a>" in html
    assert client.get(f"/cells/?cell={flagged}&show=attention").status_code == 200


def test_a_buildings_popup_counts_the_flags_on_it_and_its_rooms(demo_app, demo_db):
    building, count = demo_db.execute(
        text("""SELECT coalesce(a.parent_id, a.id), count(*) FROM flag f
                  JOIN address a ON a.id = f.address_id
                  JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
                  JOIN user_account u ON u.id = w.user_id AND u.username = 'grid0001'
                 WHERE f.state IN ('open', 'in_review', 'confirmed')
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""")
    ).one()
    client = log_in(demo_app, "grid0001")
    html = client.get(f"/map/buildings/{building}/popup").get_data(as_text=True)
    assert f"Open flags: {count}" in html
    quiet = demo_db.execute(
        text("""SELECT b.id FROM address b
                 WHERE b.parent_id IS NULL AND b.grid_cell_id = (
                       SELECT grid_cell_id FROM address WHERE id = :b)
                   AND NOT EXISTS (
                       SELECT 1 FROM flag f JOIN address a ON a.id = f.address_id
                        WHERE coalesce(a.parent_id, a.id) = b.id)
                 ORDER BY b.id LIMIT 1"""),
        {"b": building},
    ).scalar_one()
    assert "Open flags" not in client.get(f"/map/buildings/{quiet}/popup").get_data(as_text=True)


# -- flagged buildings in the buildings tile ----------------------------------------------

# Per building, the live flags on it and its rooms that a user may see, per state: written
# independently of registry/scope.py and registry/map/services.py (the user's station's
# communities, the worker's cells, everything for the administrator).
PLAIN_BUILDING_FLAGS = """
    SELECT coalesce(a.parent_id, a.id) AS building, count(*) AS flags,
           count(*) FILTER (WHERE f.state = 'open') AS open,
           count(*) FILTER (WHERE f.state = 'in_review') AS in_review,
           count(*) FILTER (WHERE f.state = 'confirmed') AS confirmed
      FROM flag f JOIN address a ON a.id = f.address_id, user_account u
     WHERE u.username = :u AND f.state IN ('open', 'in_review', 'confirmed') AND (
           u.role = 'admin'
           OR (u.role = 'police_officer' AND a.community_id IN (
               SELECT id FROM community WHERE police_station_id = u.police_station_id))
           OR (u.role = 'grid_worker' AND a.grid_cell_id IN (
               SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = u.id)))
     GROUP BY 1"""
TILE_PROPERTIES = {"id", "worst", "dwellings", "flags", "flag_state"}


def plain_building_flags(demo_db, username: str) -> dict[int, dict]:
    rows = demo_db.execute(text(PLAIN_BUILDING_FLAGS), {"u": username}).mappings()
    return {row["building"]: dict(row) for row in rows}


def expected_state(counts: dict) -> str:
    """The state a marker shows: the one asking most of a person (open, in review, confirmed)."""
    return next(state for state in ("open", "in_review", "confirmed") if counts[state])


def tile_around(demo_app, demo_db, username: str, building: int, zoom: int = 17) -> dict:
    """The buildings tile holding ``building`` as the user gets it: properties by id."""
    lon, lat = demo_db.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM address WHERE id = :b"), {"b": building}
    ).one()
    x, y = tile_of(lon, lat, zoom)
    tile = log_in(demo_app, username).get(f"/map/tiles/buildings/{zoom}/{x}/{y}.pbf").data
    return {f.properties["id"]: f.properties for f in decode(tile).get("buildings", [])}


def flagged_building_tile(demo_app, demo_db, username: str):
    """The user's building with the most live flags, and the tile around it."""
    plain = plain_building_flags(demo_db, username)
    building = max(plain, key=lambda b: (plain[b]["flags"], -b))
    return building, tile_around(demo_app, demo_db, username, building)


@pytest.mark.parametrize("username", ["admin", "officer1", "grid0001"])
def test_the_tile_carries_each_buildings_live_flags_in_scope(demo_app, demo_db, username):
    plain = plain_building_flags(demo_db, username)
    building, features = flagged_building_tile(demo_app, demo_db, username)
    assert plain[building]["flags"] >= 1 and building in features
    for building_id, properties in features.items():
        assert set(properties) <= TILE_PROPERTIES  # ids and counts: no name, no address
        counts = plain.get(building_id)
        if counts is None:
            assert "flags" not in properties and "flag_state" not in properties
        else:
            assert properties["flags"] == counts["flags"]
            assert properties["flag_state"] == expected_state(counts)


def test_the_marker_shows_the_state_asking_most(demo_app, demo_db):
    """Open before in review before confirmed; dismissed and resolved flags are not live."""
    building, _features = flagged_building_tile(demo_app, demo_db, "admin")
    flags = demo_db.execute(
        text("""SELECT f.id FROM flag f JOIN address a ON a.id = f.address_id
                 WHERE coalesce(a.parent_id, a.id) = :b
                   AND f.state IN ('open', 'in_review', 'confirmed') ORDER BY f.id"""),
        {"b": building},
    ).scalars()
    first, *others = list(flags)
    officer = "(SELECT id FROM user_account WHERE username = 'officer1')"

    def set_state(flag_ids, state):
        demo_db.execute(
            text(f"""UPDATE flag SET state = :s, decided_at = now(), decided_by_id = {officer},
                            decision_reason = 'test' WHERE id = ANY(:f)"""),
            {"s": state, "f": list(flag_ids)},
        )
        demo_db.commit()

    def shown():
        return tile_around(demo_app, demo_db, "admin", building)[building]

    set_state([first, *others], "confirmed")
    assert shown()["flag_state"] == "confirmed"
    set_state([first], "in_review")
    assert shown()["flag_state"] == "in_review"
    set_state(others, "dismissed")
    assert (shown()["flags"], shown()["flag_state"]) == (1, "in_review")
    set_state([first], "resolved")
    assert "flags" not in shown() and "flag_state" not in shown()


def test_a_flag_on_a_room_outside_the_workers_cells_is_not_counted(demo_app, demo_db):
    """Flags are scoped on their own place, as the flag list scopes them."""
    building, features = flagged_building_tile(demo_app, demo_db, "grid0001")
    before = features[building]["flags"]
    own = cell_ids_of(demo_db, "grid0001")
    other = min(cell_ids_of(demo_db, "admin") - own)
    moved = demo_db.execute(
        text("""UPDATE address SET grid_cell_id = :other
                 WHERE id = (SELECT f.address_id FROM flag f JOIN address a ON a.id = f.address_id
                              WHERE a.parent_id = :b
                                AND f.state IN ('open', 'in_review', 'confirmed')
                              ORDER BY f.id LIMIT 1)
                 RETURNING (SELECT count(*) FROM flag WHERE address_id = address.id
                              AND state IN ('open', 'in_review', 'confirmed'))"""),
        {"other": other, "b": building},
    ).scalar_one()
    demo_db.commit()
    assert moved >= 1
    features = tile_around(demo_app, demo_db, "grid0001", building)
    assert features[building].get("flags", 0) == before - moved
    assert tile_around(demo_app, demo_db, "admin", building)[building]["flags"] >= before


# -- the popup leads to the flags ------------------------------------------------------------


def test_the_popup_counts_per_state_and_leads_to_the_officers_flag_list(demo_app, demo_db):
    plain = plain_building_flags(demo_db, "officer1")
    building = max(plain, key=lambda b: (plain[b]["flags"], -b))
    officer = log_in(demo_app, "officer1")
    popup = officer.get(f"/map/buildings/{building}/popup").get_data(as_text=True)
    assert f"Open flags: {plain[building]['flags']}" in popup
    for state, label in (("open", "Open"), ("in_review", "In review"), ("confirmed", "Confirmed")):
        if plain[building][state]:
            assert f"{label}: {plain[building][state]}</li>" in popup
    link = f'href="/flags/?building={building}&amp;state=live"'
    assert link in popup
    listed = officer.get(f"/flags/?building={building}&state=live").get_data(as_text=True)
    assert listed.count('class="rowlink"') == plain[building]["flags"]
    assert 'id="flags-building"' in listed and f'name="building" value="{building}"' in listed


def test_the_popup_leads_a_grid_worker_to_needs_attention(demo_app, demo_db):
    plain = plain_building_flags(demo_db, "grid0001")
    building = max(plain, key=lambda b: (plain[b]["flags"], -b))
    cell = demo_db.execute(
        text("SELECT grid_cell_id FROM address WHERE id = :b"), {"b": building}
    ).scalar_one()
    worker = log_in(demo_app, "grid0001")
    popup = worker.get(f"/map/buildings/{building}/popup").get_data(as_text=True)
    assert f'href="/cells/?cell={cell}&amp;show=attention"' in popup
    assert "/flags/?building" not in popup
    attention = worker.get(f"/cells/?cell={cell}&show=attention").get_data(as_text=True)
    assert attention.count("/flags/") >= 1


def test_the_flag_list_of_a_building_outside_scope_is_not_found(demo_app, demo_db):
    elsewhere = demo_db.execute(
        text("""SELECT a.id FROM address a JOIN community c ON c.id = a.community_id
                 WHERE a.parent_id IS NULL AND c.police_station_id <> (
                       SELECT police_station_id FROM user_account WHERE username = 'officer1')
                 ORDER BY a.id LIMIT 1""")
    ).scalar()
    officer = log_in(demo_app, "officer1")
    if elsewhere is not None:
        assert officer.get(f"/flags/?building={elsewhere}").status_code == 404
    assert officer.get("/flags/?building=999999999").status_code == 404
