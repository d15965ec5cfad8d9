"""The grid worker's tablet pages in Debian's Chromium (tests/browser.py), at 768×1024 with
touch: what a finger needs on a map, as a person would see it."""

from __future__ import annotations

import pytest
from browser import TABLET, log_in, screenshot

FINGER = 44  # px: the smallest touch target on tablet pages


def zoom_buttons(page) -> list[dict]:
    page.wait_for_selector(".leaflet-control-zoom-in")
    return [
        page.locator(selector).bounding_box()
        for selector in (".leaflet-control-zoom-in", ".leaflet-control-zoom-out")
    ]


@pytest.mark.parametrize(
    ("url", "name"),
    [("/cells/map", "grid-worker-map"), ("/cells/addresses/new", "address-form")],
)
def test_map_zoom_buttons_are_big_enough_for_a_finger(open_page, live_server, url, name):
    page = open_page(viewport=TABLET, has_touch=True)
    log_in(page, live_server, "grid0001")
    page.goto(f"{live_server.url}{url}")
    for box in zoom_buttons(page):
        assert box["width"] >= FINGER and box["height"] >= FINGER, (url, box)
    screenshot(page, f"field-{name}-zoom-tablet")


def test_a_later_visit_takes_stylesheet_and_scripts_from_the_cache(browser, live_server):
    """`registry bench page` on the address form: the second visit asks only for the page."""
    from registry.bench.page import measure_in
    from registry.demo.generate import DEMO_PASSWORD

    first, later = measure_in(
        browser, live_server.url, "/cells/addresses/new", "grid0001", DEMO_PASSWORD, 500, 0
    )
    assert first.from_network >= 5 and first.from_cache == 0  # page, css, 3 scripts, …
    assert later.from_cache >= 4 and later.from_network <= 2  # the page (and an icon)
    assert later.transferred < first.transferred / 3
