"""The grid map's open flags in the browser: the measure colours the cells, the legend and
the cell panel name it, and a building's popup counts its flags. Screenshots in
screenshots/map-open-flags-*.png."""

from __future__ import annotations

import pytest
from browser import DESKTOP, log_in, screenshot
from test_map_browser import a_building, click_cell, click_map_centre, facts, wait_for_cells


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_officer_colours_the_cells_by_open_flags(open_page, live_server, live_database, lang):
    page = open_page(viewport=DESKTOP)
    log_in(page, live_server, "officer1", lang=lang)
    page.goto(f"{live_server.url}/dashboard/map")
    wait_for_cells(page)
    page.select_option("#map-measure", "open_flags")
    heading = page.locator("#map-legend h2").inner_text()
    assert heading == ("有效预警" if lang == "zh_CN" else "Open flags")
    # Counted now, so the legend does not date it with the figures' day.
    note = page.locator("#map-legend p.muted").last.inner_text()
    assert note == ("实时统计" if lang == "zh_CN" else "Counted now")
    page.wait_for_function("() => location.search.includes('m=open_flags')")
    _address, _lon, _lat, cell_id = a_building(live_database, "grid0001")
    click_cell(page, cell_id)
    panel = page.locator("#map-panel")
    assert panel.locator("dt", has_text=heading).count() == 1
    screenshot(page, f"map-open-flags-{lang}")


def test_a_buildings_popup_counts_its_open_flags(open_page, live_server, live_database):
    building = facts(
        live_database,
        """SELECT coalesce(a.parent_id, a.id) FROM flag f JOIN address a ON a.id = f.address_id
            JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
            JOIN user_account u ON u.id = w.user_id AND u.username = 'grid0001'
           WHERE f.state IN ('open', 'in_review', 'confirmed') ORDER BY 1 LIMIT 1""",
    )[0][0]
    lon, lat = facts(
        live_database, "SELECT ST_X(geom), ST_Y(geom) FROM address WHERE id = :a", a=building
    )[0]
    page = open_page(viewport=DESKTOP)
    log_in(page, live_server, "grid0001", lang="en")
    page.goto(f"{live_server.url}/cells/map?lat={lat}&lon={lon}&z=19")
    wait_for_cells(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-registryPoints-pane path').length > 0"
    )
    click_map_centre(page)
    popup = page.locator(".leaflet-popup .map-popup")
    popup.wait_for()
    assert "Open flags:" in popup.inner_text()
