"""The grid map's "open flags": a cell measure counted from the live flags, and a building's
count in its popup, both scoped, both following a decision at once."""

from __future__ import annotations

import json

import pytest
from helpers import log_in
from sqlalchemy import text
from test_map_web import cell_ids_of

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
    assert f'href="/flags/?cell={cell}">Flags in this cell: {plain[cell]}</a>' in html


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
