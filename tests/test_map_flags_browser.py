"""The grid map's open flags in the browser: the measure colours the cells, the legend and
the cell panel name it, and a building's popup counts its flags. Screenshots in
screenshots/map-open-flags-*.png."""

from __future__ import annotations

import pytest
from browser import DESKTOP, TABLET, log_in, screenshot
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


def most_flagged_building(live_database: str, username: str) -> tuple[int, float, float, str]:
    """(address id, lon, lat, the state its marker shows) of the user's building with the
    most live flags."""
    return facts(
        live_database,
        """SELECT b.id, ST_X(b.geom), ST_Y(b.geom),
                  CASE WHEN bool_or(f.state = 'open') THEN 'open'
                       WHEN bool_or(f.state = 'in_review') THEN 'in_review'
                       ELSE 'confirmed' END
             FROM flag f JOIN address a ON a.id = f.address_id
             JOIN address b ON b.id = coalesce(a.parent_id, a.id)
             JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
             JOIN user_account u ON u.id = w.user_id AND u.username = :u
            WHERE f.state IN ('open', 'in_review', 'confirmed')
            GROUP BY b.id ORDER BY count(*) DESC, b.id LIMIT 1""",
        u=username,
    )[0]


RING_OF = {"open": ("rgb(197, 27, 125)", "none"), "in_review": ("rgb(106, 81, 163)", "7px, 4px")}


@pytest.mark.parametrize(("viewport", "name"), [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_flagged_buildings_have_a_ring_the_legend_explains(
    open_page, live_server, live_database, viewport, name
):
    building, lon, lat, state = most_flagged_building(live_database, "grid0001")
    page = open_page(viewport=viewport)
    log_in(page, live_server, "officer1", lang="en")
    page.goto(f"{live_server.url}/dashboard/map?lat={lat}&lon={lon}&z=19")
    wait_for_cells(page)
    ring = page.locator(f".leaflet-registryPoints-pane path.map-flag-ring.map-flag-{state}")
    ring.first.wait_for()
    # The ring's line says the state, beside its colour (the legend draws the same rings).
    if state in RING_OF:
        colour, dash = RING_OF[state]
        assert ring.first.evaluate("(p) => getComputedStyle(p).stroke") == colour
        assert ring.first.evaluate("(p) => getComputedStyle(p).strokeDasharray") == dash
    # Each state has its own line, as the page's configuration reaches the script.
    dashes = page.evaluate(
        """() => ['open', 'in_review', 'confirmed'].map((state) => {
            const styles = registryMap.pointStyle('buildings')({flag_state: state, worst: 1}, 17);
            return [styles.length, styles[0].className, styles[0].dashArray];
        })"""
    )
    assert dashes == [
        [2, "map-flag-ring map-flag-open", None],
        [2, "map-flag-ring map-flag-in_review", "7 4"],
        [2, "map-flag-ring map-flag-confirmed", "0.1 6.5"],
    ]
    legend = page.locator("#map-flag-legend li")
    assert legend.count() == 3
    assert legend.nth(0).inner_text() == "Open: nobody has taken it up yet"
    assert page.locator("#map-flag-legend svg circle[stroke-dasharray='7 4']").count() == 1
    page.locator(".map-status-legend").scroll_into_view_if_needed()
    screenshot(page, f"map-flag-rings-{name}")
    page.evaluate("() => window.scrollTo(0, 0)")

    # The building's popup counts the flags and leads to the officer's list of them.
    click_map_centre(page)
    link = page.locator(".leaflet-popup a.map-flags-link")
    link.wait_for()
    assert link.get_attribute("href") == f"/flags/?building={building}&state=live"
    screenshot(page, f"map-flag-popup-{name}")

    # "Flags on buildings" in the layer control hides the rings, and the URL remembers it.
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label("Flags on buildings").uncheck()
    assert ring.first.evaluate("(p) => getComputedStyle(p).display") == "none"
    page.wait_for_function("() => !new URLSearchParams(location.search).get('l').includes('flags')")
    page.reload()
    wait_for_cells(page)
    page.locator(".leaflet-registryPoints-pane path.map-flag-ring").first.wait_for(state="attached")
    assert ring.first.evaluate("(p) => getComputedStyle(p).display") == "none"

    link_url = f"{live_server.url}/flags/?building={building}&state=live"
    page.goto(link_url)
    assert page.locator("#flags-building").count() == 1
    assert page.locator("#flags tbody tr").count() >= 1
    screenshot(page, f"flags-of-a-building-{name}")
