"""An administrator splits a grid cell in the real browser: two taps on the drawing map, on
either side of the cell, and the save; the addresses are shared between the two halves."""

from __future__ import annotations

import re

from browser import DESKTOP, log_in, screenshot
from sqlalchemy import text

from registry.db import make_engine

CELL_COUNTS = """
    SELECT count(*) FILTER (WHERE grid_cell_id = :cell), count(*) FROM address
    WHERE grid_cell_id IS NOT NULL"""


def test_an_administrator_splits_a_cell_by_drawing_a_line(open_page, make_live_server):
    server, url = make_live_server()
    engine = make_engine(url)
    page = open_page(viewport=DESKTOP, server=server)
    log_in(page, server, "admin")
    page.goto(f"{server.url}/admin/cells")
    cell_url = page.locator("table a[href^='/admin/cells/']").first.get_attribute("href")
    cell_id = int(re.search(r"/admin/cells/(\d+)", cell_url).group(1))
    with engine.connect() as db:
        in_cell, placed = db.execute(text(CELL_COUNTS), {"cell": cell_id}).one()
        last = db.scalar(text("SELECT max(id) FROM grid_cell"))

    page.goto(f"{server.url}{cell_url}/split")
    page.locator("#cell-map").scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    # The cell being split is the map's filled, dark-blue outline.
    cell = page.locator('#cell-map path[stroke="#0b4f8a"][fill-opacity="0.35"]').bounding_box()
    middle = cell["x"] + cell["width"] / 2
    page.mouse.click(middle, cell["y"] - 15)
    page.wait_for_timeout(500)  # two quick taps would be a double tap
    page.mouse.click(middle, cell["y"] + cell["height"] + 15)
    assert page.inner_text("#draw-count") == "2"
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    screenshot(page, "admin-cell-split-done")

    notice = page.locator(".flash.ok").inner_text()
    with engine.connect() as db:
        kept, _ = db.execute(text(CELL_COUNTS), {"cell": cell_id}).one()
        new_cell = db.execute(
            text("SELECT id, code FROM grid_cell WHERE id > :last ORDER BY id"), {"last": last}
        ).one()
        moved = db.scalar(
            text("SELECT count(*) FROM address WHERE grid_cell_id = :c"), {"c": new_cell.id}
        )
        after = db.scalar(text("SELECT count(*) FROM address WHERE grid_cell_id IS NOT NULL"))
    engine.dispose()
    assert 0 < moved <= kept and kept + moved == in_cell and after == placed
    assert str(kept) in notice and str(moved) in notice and new_cell.code in notice
