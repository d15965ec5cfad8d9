"""The grid map over HTTP: pages, GeoJSON, vector tiles, panel, popups, search, cell page."""

from __future__ import annotations

import json
import re

import pytest
from helpers import add_second_police_station, csrf_token_from, log_in
from sqlalchemy import text

from geo import gcj02


def cell_ids_of(demo_db, username: str) -> set[int]:
    """The cells a user may see, written independently of registry/scope.py."""
    rows = demo_db.execute(
        text("""
        SELECT g.id FROM grid_cell g, user_account u WHERE u.username = :u AND (
            u.role = 'admin'
            OR (u.role = 'police_officer' AND g.community_id IN (
                SELECT id FROM community WHERE police_station_id = u.police_station_id))
            OR (u.role = 'grid_worker' AND g.id IN (
                SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = u.id)))"""),
        {"u": username},
    )
    return {row[0] for row in rows}


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The slippy-map tile (x, y) that holds a point."""
    import math

    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def building_point(demo_db, cell_id: int) -> tuple[int, float, float]:
    return demo_db.execute(
        text("""SELECT a.id, ST_X(a.geom), ST_Y(a.geom) FROM address a
                WHERE a.grid_cell_id = :c AND a.parent_id IS NULL
                AND EXISTS (SELECT 1 FROM address r JOIN dwelling d ON d.address_id = r.id
                            WHERE r.parent_id = a.id)
                ORDER BY a.id LIMIT 1"""),
        {"c": cell_id},
    ).one()


# -- the pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "url"),
    [("officer1", "/dashboard/map"), ("admin", "/dashboard/map"), ("grid0001", "/cells/map")],
)
def test_map_page_is_the_apps_own_page_with_folium_inside(demo_app, username, url):
    client = log_in(demo_app, username)
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert 'class="mainmenu"' in html  # the app's menus, not folium's standalone document
    assert "user-scalable=no" not in html and "<iframe" not in html
    # Only the app's own copies: no CDN, no Bootstrap, jQuery or Font Awesome.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    for unwanted in ("bootstrap", "jquery", "fontawesome", "awesome-markers"):
        assert unwanted not in html.lower()
    assert "/static/vendor/leaflet/leaflet.js" in html
    # The map's script runs with this response's nonce, and the policy allows no other.
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    scripts = re.findall(r"<script(?: nonce=\"([^\"]*)\")?>", html)
    assert scripts and all(found == nonce for found in scripts)
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert len(response.data) < 60_000  # no records in the page


def test_map_page_carries_no_dwellings(demo_app, demo_db):
    client = log_in(demo_app, "admin")
    html = client.get("/dashboard/map").get_data(as_text=True)
    some_addresses = demo_db.execute(
        text("SELECT full_text FROM address WHERE parent_id IS NOT NULL ORDER BY id LIMIT 20")
    ).scalars()
    assert not any(address in html for address in some_addresses)


def test_other_roles_do_not_get_the_maps(demo_app):
    manager = log_in(demo_app, "manager1")
    for url in ("/dashboard/map", "/cells/map", "/map/cells.geojson", "/map/roads.geojson"):
        assert manager.get(url).status_code == 404
    officer = log_in(demo_app, "officer1")
    assert officer.get("/cells/map").status_code == 404
    worker = log_in(demo_app, "grid0001")
    assert worker.get("/dashboard/map").status_code == 404


def test_both_maps_are_in_the_role_menus(demo_app):
    officer = log_in(demo_app, "officer1").get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/map"' in officer
    worker = log_in(demo_app, "grid0001").get("/cells/").get_data(as_text=True)
    assert 'href="/cells/map"' in worker


def test_view_state_in_the_url_is_the_state_the_page_is_built_in(demo_app):
    client = log_in(demo_app, "officer1")
    html = client.get("/dashboard/map?m=over_capacity&l=cells,roads&lat=30.6&lon=114.1&z=15")
    page = html.get_data(as_text=True)
    assert '<option value="over_capacity" selected>' in page
    assert '"measure": "over_capacity"' in page
    assert ".setView([30.6, 114.1], 15)" in page
    assert ".fitBounds(" not in page
    # Layers not listed start hidden: only cells and roads are added to the map.
    assert page.count(".addTo(map_") == 2 + 1  # and the layer control


def test_a_gcj02_basemap_is_added_and_our_geometry_shifted(demo_app):
    demo_app.config.update(
        MAP_TILE_URL="http://tiles.example/{z}/{x}/{y}.png",
        MAP_TILE_ATTRIBUTION="Example <tiles>",
        MAP_TILE_DATUM="gcj02",
    )
    client = log_in(demo_app, "officer1")
    response = client.get("/dashboard/map?lat=30.6&lon=114.1&z=15")
    page = response.get_data(as_text=True)
    assert "http://tiles.example/{z}/{x}/{y}.png" in page
    assert "Example \\u0026lt;tiles\\u0026gt;" in page or "Example &lt;tiles&gt;" in page
    assert '"datum": "gcj02"' in page
    lon, lat = gcj02.to_gcj02(114.1, 30.6)
    assert f".setView([{lat}, {lon}], 15)" in page
    assert "http://tiles.example" in response.headers["Content-Security-Policy"]


# -- GeoJSON -----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["grid0001", "officer1", "admin"])
def test_cells_are_those_in_scope_with_figures_and_legend(demo_app, demo_db, username):
    client = log_in(demo_app, username)
    response = client.get("/map/cells.geojson?z=14")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    collection = json.loads(response.data)
    assert {f["id"] for f in collection["features"]} == cell_ids_of(demo_db, username)
    feature = collection["features"][0]
    assert set(feature["properties"]["classes"]) == set(collection["legend"])
    ring = feature["geometry"]["coordinates"][0]
    assert all(len(str(c).split(".")[1]) <= 6 for point in ring for c in point)
    assert collection["asOf"]
    legend = collection["legend"]["unfiled"]
    assert legend["classes"] and all(c["colour"].startswith("#") for c in legend["classes"])
    # The live measure says it is counted now, not the figures' date; the others say nothing.
    assert legend["asOfLabel"] is None
    assert collection["legend"]["open_flags"]["asOfLabel"] in ("实时统计", "Counted now")


def test_an_officer_elsewhere_gets_no_cells_and_no_boundaries(demo_app, demo_db):
    add_second_police_station(demo_db)
    client = log_in(demo_app, "officer99")
    assert json.loads(client.get("/map/cells.geojson").data)["features"] == []
    for kind in ("communities", "stations", "focus_areas"):
        features = json.loads(client.get(f"/map/boundaries/{kind}.geojson").data)["features"]
        names = {f["properties"]["name"] for f in features}
        assert names <= {"测试社区", "测试派出所"}, kind
    roads = json.loads(client.get("/map/roads.geojson").data)["features"]
    assert roads == []


def test_cells_are_simplified_for_the_zoom(demo_app):
    client = log_in(demo_app, "admin")
    coarse = len(client.get("/map/cells.geojson?z=10").data)
    fine = len(client.get("/map/cells.geojson?z=18").data)
    assert coarse < fine


def test_admin_picks_a_station(demo_app, demo_db):
    ids = add_second_police_station(demo_db)
    client = log_in(demo_app, "admin")
    cells = json.loads(client.get(f"/map/cells.geojson?station={ids['station']}").data)
    assert cells["features"] == []
    assert client.get("/map/cells.geojson?station=abc").status_code == 404
    assert client.get(f"/dashboard/map?station={ids['station']}").status_code == 200


# -- vector tiles ------------------------------------------------------------------------


def test_building_tile_holds_the_buildings_in_scope(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    cell = min(cell_ids_of(demo_db, "grid0001"))
    _address, lon, lat = building_point(demo_db, cell)
    x, y = tile_of(lon, lat, 17)
    response = worker.get(f"/map/tiles/buildings/17/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    assert len(response.data) > 20
    assert b"buildings" in response.data and b"worst" in response.data


def test_tiles_outside_or_at_the_edge_of_scope_are_empty_tiles_never_404(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    own = cell_ids_of(demo_db, "grid0001")
    other = min(cell_ids_of(demo_db, "admin") - own)
    _address, lon, lat = building_point(demo_db, other)
    x, y = tile_of(lon, lat, 18)
    empty_land = worker.get("/map/tiles/buildings/18/0/0.pbf")
    for layer in ("buildings", "organisations"):
        outside = worker.get(f"/map/tiles/{layer}/18/{x}/{y}.pbf")
        land = worker.get(f"/map/tiles/{layer}/18/0/0.pbf")
        assert outside.status_code == land.status_code == 200
        assert outside.data == land.data == empty_land.data == b""
    # The administrator sees the same tile full.
    admin = log_in(demo_app, "admin")
    assert len(admin.get(f"/map/tiles/buildings/18/{x}/{y}.pbf").data) > 20


def test_low_zoom_and_impossible_tiles_are_empty(demo_app):
    admin = log_in(demo_app, "admin")
    assert admin.get("/map/tiles/buildings/12/3345/1700.pbf").data == b""
    assert admin.get("/map/tiles/buildings/3/99/99.pbf").data == b""


# -- panel, popups, search, the officer's cell page --------------------------------------


def test_cell_panel_lists_buildings_worst_first_with_links_for_the_role(demo_app, demo_db):
    cell = min(cell_ids_of(demo_db, "grid0001"))
    worker = log_in(demo_app, "grid0001")
    panel = worker.get(f"/map/cells/{cell}/panel")
    assert panel.status_code == 200 and panel.mimetype == "text/html"
    html = panel.get_data(as_text=True)
    assert f'href="/cells/?cell={cell}"' in html
    assert 'href="/cells/addresses/' in html
    officer = log_in(demo_app, "officer1").get(f"/map/cells/{cell}/panel").get_data(as_text=True)
    assert f'href="/dashboard/cells/{cell}"' in officer
    assert f"/dashboard/cells/{cell}?building=" in officer


def test_building_popup_shows_its_counts(demo_app, demo_db):
    cell = min(cell_ids_of(demo_db, "grid0001"))
    address, _lon, _lat = building_point(demo_db, cell)
    html = (
        log_in(demo_app, "grid0001").get(f"/map/buildings/{address}/popup").get_data(as_text=True)
    )
    assert "dwellings" in html and f'href="/cells/addresses/{address}"' in html


def test_search_is_a_post_and_finds_addresses_in_scope(demo_app, demo_db):
    client = log_in(demo_app, "grid0001")
    page = client.get("/cells/map").get_data(as_text=True)
    token = csrf_token_from(page)
    road = demo_db.execute(
        text("""SELECT r.name FROM address a JOIN road r ON r.id = a.road_id
                JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
                JOIN user_account u ON u.id = w.user_id WHERE u.username = 'grid0001' LIMIT 1""")
    ).scalar_one()
    assert client.get(f"/map/search?q={road}").status_code == 405
    found = client.post("/map/search", data={"q": road, "csrf_token": token}).get_json()
    assert found["results"]
    own = cell_ids_of(demo_db, "grid0001")
    for hit in found["results"]:
        cell = demo_db.execute(
            text("SELECT grid_cell_id FROM address WHERE id = :a"), {"a": hit["id"]}
        ).scalar_one()
        assert cell in own


def test_officer_cell_page_pages_through_dwellings_with_status(demo_app, demo_db):
    cell = min(cell_ids_of(demo_db, "officer1"))
    client = log_in(demo_app, "officer1")
    first = client.get(f"/dashboard/cells/{cell}").get_data(as_text=True)
    assert first.count('href="/dashboard/dwellings/') == 50
    assert "Page 1 of" in first
    second = client.get(f"/dashboard/cells/{cell}?page=2").get_data(as_text=True)
    assert second.count('href="/dashboard/dwellings/') >= 1
    address, _lon, _lat = building_point(demo_db, cell)
    one = client.get(f"/dashboard/cells/{cell}?building={address}").get_data(as_text=True)
    assert "All dwellings of the cell" in one
    other_cell = max(cell_ids_of(demo_db, "officer1") - {cell})
    assert client.get(f"/dashboard/cells/{other_cell}?building={address}").status_code == 404


def test_cell_colours_come_from_the_precomputed_figures(demo_app, demo_db):
    """The map reads cell_figures (one query), not a second count of the dwellings."""
    demo_db.execute(text("UPDATE cell_figures SET rented_unfiled = 4242 WHERE grid_cell_id = 1"))
    demo_db.commit()
    collection = json.loads(log_in(demo_app, "admin").get("/map/cells.geojson").data)
    cell = next(f for f in collection["features"] if f["id"] == 1)
    assert cell["properties"]["values"]["unfiled"] == "4,242"
    assert collection["legend"]["unfiled"]["classes"][-1]["label"].endswith("4,242")


# -- weak connection ---------------------------------------------------------------------


def densest_tile(demo_db, zoom: int) -> tuple[int, int]:
    """The tile holding the most buildings, big enough to be worth compressing."""
    from collections import Counter

    points = demo_db.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM address WHERE parent_id IS NULL")
    )
    return Counter(tile_of(lon, lat, zoom) for lon, lat in points).most_common(1)[0][0]


def test_geojson_and_tiles_go_out_compressed_and_private(demo_app, demo_db, monkeypatch):
    import gzip

    import brotli

    from registry.web import assets

    admin = log_in(demo_app, "admin")
    x, y = densest_tile(demo_db, 16)
    tile = f"/map/tiles/buildings/16/{x}/{y}.pbf"
    # The small demo's tiles fit in one packet: sent as they are at the real threshold.
    small = admin.get(tile, headers={"Accept-Encoding": "br, gzip"})
    assert len(small.data) < assets.MIN_COMPRESSED_SIZE and "Content-Encoding" not in small.headers
    monkeypatch.setattr(assets, "MIN_COMPRESSED_SIZE", 100)  # a district's tiles are larger
    for url in ("/map/cells.geojson?z=16", "/map/roads.geojson", tile):
        plain = admin.get(url)
        for encoding, decompress in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            sent = admin.get(url, headers={"Accept-Encoding": f"{encoding}, identity"})
            assert sent.headers["Content-Encoding"] == encoding, url
            assert decompress(sent.data) == plain.data and len(sent.data) < len(plain.data)
            assert sent.headers["Cache-Control"] == "private, no-store"
            assert "Accept-Encoding" in sent.headers["Vary"]


def test_the_kept_tile_statement_serves_each_user_their_own_scope(demo_app, demo_db):
    """The buildings tile's statement is built once per role and kept; the user's ids are
    its parameters, so the next grid worker gets their own scope, not the first one's."""
    from registry.map.tiles import _buildings_template

    cell = min(cell_ids_of(demo_db, "grid0001"))
    _address, lon, lat = building_point(demo_db, cell)
    x, y = tile_of(lon, lat, 18)
    other = demo_db.execute(
        text("""SELECT u.username FROM user_account u WHERE u.role = 'grid_worker'
                 AND NOT EXISTS (SELECT 1 FROM grid_cell_worker w
                                  WHERE w.user_id = u.id AND w.grid_cell_id = :c)
                 ORDER BY u.id LIMIT 1"""),
        {"c": cell},
    ).scalar_one()
    tile = f"/map/tiles/buildings/18/{x}/{y}.pbf"
    assert len(log_in(demo_app, "grid0001").get(tile).data) > 20
    built = _buildings_template.cache_info().misses
    assert log_in(demo_app, other).get(tile).data == b""
    assert log_in(demo_app, "grid0001").get(tile).data != b""
    assert _buildings_template.cache_info().misses == built  # kept, not built again
