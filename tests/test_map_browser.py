"""Both grid maps in Debian's Chromium against the real server (tests/browser.py).

Every page here is watched: a request leaving the app, a console error (a blocked inline
script is one), an uncaught script error or a response of 400 or more fails the test.
Screenshots of both maps in both languages land in screenshots/.
"""

from __future__ import annotations

import pytest
from browser import DESKTOP, TABLET, log_in, screenshot
from sqlalchemy import text
from test_geo_gcj02 import REFERENCE, metres_between

from registry.db import make_engine

MAP_VARIABLE = """() => Object.keys(window).find(
    (k) => k.startsWith('map_') && window[k] instanceof L.Map)"""


def facts(database_url: str, sql: str, **values):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        rows = connection.execute(text(sql), values).all()
    engine.dispose()
    return rows


def a_building(database_url: str, username: str):
    """(address id, lon, lat, cell id) of a building with dwellings in the user's first cell."""
    return facts(
        database_url,
        """SELECT a.id, ST_X(a.geom), ST_Y(a.geom), a.grid_cell_id FROM address a
           WHERE a.parent_id IS NULL AND a.grid_cell_id = (
               SELECT min(w.grid_cell_id) FROM grid_cell_worker w
               JOIN user_account u ON u.id = w.user_id WHERE u.username = :u)
           AND EXISTS (SELECT 1 FROM address r JOIN dwelling d ON d.address_id = r.id
                       WHERE r.parent_id = a.id)
           ORDER BY a.id LIMIT 1""",
        u=username,
    )[0]


def wait_for_cells(page, count: int | None = None) -> None:
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-registryCells-pane path').length > 0"
    )
    page.wait_for_selector("#map-legend h2")
    if count is not None:
        assert page.locator(".leaflet-registryCells-pane path").count() == count


def click_cell(page, cell_id: int) -> None:
    """Click inside a cell's polygon, as a person would, and wait for its panel.

    The point is one where the browser itself finds the cell's shape on top (not a label,
    a marker or a neighbour), tried from the cell's centre outwards.
    """
    page.wait_for_load_state("networkidle")  # the cells drawn at their final detail
    x, y = page.evaluate(
        """([name, id]) => {
            const map = window[name];
            let cell = null;
            map.eachLayer((layer) => {
                // Other layers (communities, roads, focus areas) have ids of their own.
                const inCells = layer._path && layer._path.closest(".leaflet-registryCells-pane");
                if (inCells && layer.feature && layer.feature.id === id) { cell = layer; }
            });
            const box = map.getContainer().getBoundingClientRect();
            const centre = map.latLngToContainerPoint(cell.getCenter());
            const size = cell._pxBounds.getSize();
            for (let step = 0; step < 8; step++) {
                for (const [dx, dy] of [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]]) {
                    const x = box.left + centre.x + dx * step * size.x / 16;
                    const y = box.top + centre.y + dy * step * size.y / 16;
                    if (document.elementFromPoint(x, y) === cell._path) { return [x, y]; }
                }
            }
            return [null, null];
        }""",
        [page.evaluate(MAP_VARIABLE), cell_id],
    )
    assert x is not None, f"no point inside cell {cell_id} where the cell is on top"
    page.mouse.click(x, y)
    page.wait_for_selector("#map-panel:not([hidden]) .map-panel-title")


def click_map_centre(page) -> None:
    box = page.locator(".registry-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def building_markers(page) -> int:
    return page.locator(".leaflet-registryPoints-pane path.leaflet-interactive").count()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_officer_map_cells_panel_and_building(open_page, live_server, live_database, lang):
    page = open_page(viewport=DESKTOP)
    log_in(page, live_server, "officer1", lang=lang)
    page.goto(f"{live_server.url}/dashboard/map")
    wait_for_cells(page)
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh_CN" else "en")
    assert page.locator(".mainmenu .menuitem.active").get_attribute("href") == "/dashboard/map"
    address_id, lon, lat, cell_id = a_building(live_database, "grid0001")

    # A cell click opens the panel with its figures and its buildings, linked to records.
    page.goto(f"{live_server.url}/dashboard/map?lat={lat}&lon={lon}&z=15")
    wait_for_cells(page)
    click_cell(page, cell_id)
    panel = page.locator("#map-panel")
    assert panel.locator(".map-figures dd").count() >= 4
    assert panel.locator(f'a[href="/dashboard/cells/{cell_id}"]').count() == 1
    assert panel.locator(".map-buildings li").count() >= 1
    screenshot(page, f"map-officer-desktop-{lang}")

    # From zoom 16 buildings are markers from vector tiles; a click shows the building.
    page.goto(f"{live_server.url}/dashboard/map?lat={lat}&lon={lon}&z=19")
    wait_for_cells(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-registryPoints-pane path').length > 0"
    )
    click_map_centre(page)
    popup = page.locator(".leaflet-popup .map-popup")
    popup.wait_for()
    assert popup.locator(f'a[href="/dashboard/cells/{cell_id}?building={address_id}"]').count() == 1
    assert popup.locator(".gw-badges .badge").count() >= 3
    screenshot(page, f"map-officer-building-{lang}")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_grid_worker_map_on_a_tablet_with_where_am_i(open_page, live_server, live_database, lang):
    address_id, lon, lat, cell_id = a_building(live_database, "grid0001")
    page = open_page(
        viewport=TABLET,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 12},
    )
    log_in(page, live_server, "grid0001", lang=lang)
    page.goto(f"{live_server.url}/cells/map")
    wait_for_cells(page, count=1)
    assert page.locator(".mainmenu .menuitem.active").get_attribute("href") == "/cells/map"
    click_cell(page, cell_id)
    assert page.locator(f'#map-panel a[href="/cells/?cell={cell_id}"]').count() == 1
    assert page.locator('#map-panel a[href^="/cells/addresses/"]').count() >= 1
    page.click("#map-locate")
    page.wait_for_function("() => location.search.includes('z=17')")
    assert "12" in page.locator("#map-status").inner_text()
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-registryPoints-pane path').length > 0"
    )
    page.locator("#map-panel").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, f"map-grid-worker-tablet-{lang}")
    assert building_markers(page) >= 1


def test_map_state_lives_in_the_url_and_back_restores_it(open_page, live_server, live_database):
    page = open_page()
    log_in(page, live_server, "officer1", lang="en")
    page.goto(f"{live_server.url}/dashboard/map")
    wait_for_cells(page)
    page.select_option("#map-measure", "over_capacity")
    assert "Over-capacity dwellings" in page.locator("#map-legend h2").inner_text()
    page.wait_for_function("() => location.search.includes('m=over_capacity')")
    zoom = page.evaluate("() => new URLSearchParams(location.search).get('z')")
    page.click(".leaflet-control-zoom-in")
    page.wait_for_function(
        "(z) => new URLSearchParams(location.search).get('z') === String(Number(z) + 1)", arg=zoom
    )
    state = page.url
    # Leave for a record and come back: the same measure, centre and zoom.
    _address, _lon, _lat, cell_id = a_building(live_database, "grid0001")
    page.goto(f"{live_server.url}/dashboard/cells/{cell_id}")
    page.go_back()
    wait_for_cells(page)
    assert page.url == state
    assert page.locator("#map-measure").input_value() == "over_capacity"
    assert "Over-capacity dwellings" in page.locator("#map-legend h2").inner_text()


def test_search_flies_to_the_address(open_page, live_server, live_database):
    address_id, lon, lat, _cell = a_building(live_database, "grid0001")
    full_text = facts(live_database, "SELECT full_text FROM address WHERE id = :a", a=address_id)
    page = open_page(viewport=TABLET)
    log_in(page, live_server, "grid0001", lang="en")
    page.goto(f"{live_server.url}/cells/map")
    wait_for_cells(page)
    page.fill("#map-search-q", full_text[0][0])
    page.click("#map-search button[type=submit]")
    page.click(".map-search-hit >> nth=0")  # the building itself comes first, then its rooms
    page.wait_for_function("() => location.search.includes('z=18')")
    centre = page.evaluate(f"() => window[({MAP_VARIABLE})()].getCenter()")
    assert metres_between((centre["lng"], centre["lat"]), (lon, lat)) < 5
    assert "search" not in page.url  # what was typed is in no URL


def test_gcj02_in_the_browser_matches_the_published_values(open_page, live_server):
    page = open_page()
    log_in(page, live_server, "officer1", lang="en")
    page.goto(f"{live_server.url}/dashboard/map")
    wait_for_cells(page)
    for wgs, gcj in REFERENCE:
        shifted = page.evaluate("([lon, lat]) => registryGcj02.toGcj02(lon, lat)", list(wgs))
        assert shifted == pytest.approx(list(gcj), abs=1e-7)
        back = page.evaluate("([lon, lat]) => registryGcj02.toWgs84(lon, lat)", list(gcj))
        assert metres_between(tuple(back), wgs) < 1.0


HOSTILE = '<img src=x onerror="window.__xss=1">'
SHORT = "<svg/onload=xss()>"  # fits the 20 characters of a building or door number


def test_hostile_names_stay_text_everywhere_the_map_shows_them(open_page, make_live_server):
    """Every text field the map shows holds markup; no script may run, no request leave."""
    server, url = make_live_server()
    address_id, lon, lat, cell_id = a_building(url, "grid0001")
    engine = make_engine(url)
    with engine.begin() as db:
        names = {
            "cell": f"网格{HOSTILE}",
            "community": f"社区{HOSTILE}",
            "station": f"派出所{HOSTILE}",
            "focus": f"重点{HOSTILE}",
            "road": f"路{HOSTILE}",
            "organisation": f"单位{HOSTILE}",
        }
        db.execute(
            text("UPDATE grid_cell SET name = :n WHERE id = :c"), {"n": names["cell"], "c": cell_id}
        )
        db.execute(
            text(
                "UPDATE community SET name = :n "
                "WHERE id = (SELECT community_id FROM grid_cell WHERE id = :c)"
            ),
            {"n": names["community"], "c": cell_id},
        )
        db.execute(text("UPDATE police_station SET name = :n"), {"n": names["station"]})
        db.execute(text("UPDATE focus_area SET name = :n"), {"n": names["focus"]})
        focus = db.execute(text("SELECT id FROM focus_area LIMIT 1")).scalar()
        db.execute(
            text("INSERT INTO focus_area_cell VALUES (:f, :c) ON CONFLICT DO NOTHING"),
            {"f": focus, "c": cell_id},
        )
        db.execute(
            text(
                "UPDATE road SET name = :n WHERE id = (SELECT road_id FROM address WHERE id = :a)"
            ),
            {"n": names["road"], "a": address_id},
        )
        db.execute(
            text("UPDATE address SET building = :b, full_text = :t WHERE id = :a"),
            {"b": SHORT, "t": f"地址{HOSTILE}", "a": address_id},
        )
        db.execute(
            text("UPDATE organisation SET name = :n WHERE address_id = :a"),
            {"n": names["organisation"], "a": address_id},
        )
        organisation = db.execute(
            text("""INSERT INTO organisation
                        (credit_code, name, kind, address_id, legal_representative)
                    VALUES ('91420199XSS000001X', :n, 'company', :a, '某某') RETURNING id"""),
            {"n": names["organisation"], "a": address_id},
        ).scalar()
    engine.dispose()
    assert organisation

    page = open_page(viewport=DESKTOP, server=server)
    log_in(page, server, "admin", lang="en")
    layers = "cells,communities,stations,focus_areas,roads,buildings"
    page.goto(f"{server.url}/dashboard/map?l={layers}&lat={lat}&lon={lon}&z=13")
    wait_for_cells(page)
    page.wait_for_selector(".map-area-communities")
    click_cell(page, cell_id)
    panel = page.locator("#map-panel")
    assert names["cell"] in panel.inner_text()
    assert SHORT in panel.inner_text()  # the building, in the panel's list
    page.mouse.move(5, 5)
    labels = page.locator(".leaflet-tooltip").all_inner_texts()
    assert names["community"] in labels and names["focus"] in labels

    page.goto(f"{server.url}/dashboard/map?l={layers}&lat={lat}&lon={lon}&z=19")
    wait_for_cells(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-registryPoints-pane path').length > 0"
    )
    assert names["road"] in page.locator(".leaflet-tooltip").all_inner_texts()
    click_map_centre(page)
    page.locator(".leaflet-popup .map-popup").wait_for()
    assert SHORT in page.locator(".leaflet-popup").inner_text()

    page.goto(f"{server.url}/dashboard/map?l=cells,organisations&lat={lat}&lon={lon}&z=19")
    wait_for_cells(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-registryPoints-pane path').length > 0"
    )
    click_map_centre(page)
    page.locator(".leaflet-popup .map-popup").wait_for()
    assert names["organisation"] in page.locator(".leaflet-popup").inner_text()

    page.fill("#map-search-q", "地址")
    page.click("#map-search button[type=submit]")
    page.wait_for_selector(".map-search-hit")
    assert f"地址{HOSTILE}" in page.locator("#map-search-results").inner_text()
    # The organisation's popup may lie over the cell: close it, then hover the cell.
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup").wait_for(state="detached")
    page.hover(".leaflet-registryCells-pane path >> nth=0")

    assert page.evaluate("() => window.__xss === undefined && window.xss === undefined")
    assert page.locator("img[src=x]").count() == 0
    assert not [r for r in page.watch.requests if r.endswith("/x")]
