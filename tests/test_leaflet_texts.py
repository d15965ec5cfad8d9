"""Leaflet's controls speak the page's language (registry/static/js/leaflet_texts.js): the
zoom buttons, the layer switch and a popup's close button of every map in the product."""

from __future__ import annotations

from browser import DESKTOP, TABLET, log_in


def control_texts(page) -> dict[str, str | None]:
    page.wait_for_selector(".leaflet-control-zoom-in")
    return page.evaluate(
        """() => {
            const zoomIn = document.querySelector('.leaflet-control-zoom-in');
            const zoomOut = document.querySelector('.leaflet-control-zoom-out');
            const layers = document.querySelector('.leaflet-control-layers-toggle');
            return {
                zoom_in: zoomIn.title, zoom_in_label: zoomIn.getAttribute('aria-label'),
                zoom_out: zoomOut.title,
                layers: layers ? layers.title : null,
            };
        }"""
    )


CHINESE = {"zoom_in": "放大", "zoom_in_label": "放大", "zoom_out": "缩小"}


def test_the_desk_map_speaks_chinese_and_english(open_page, live_server):
    page = open_page(viewport=DESKTOP)
    log_in(page, live_server, "officer1")
    page.goto(f"{live_server.url}/dashboard/map")
    texts = control_texts(page)
    assert {key: texts[key] for key in CHINESE} == CHINESE
    assert texts["layers"] == "地图图层"

    english = open_page(viewport=DESKTOP)
    log_in(english, live_server, "officer1", lang="en")
    english.goto(f"{live_server.url}/dashboard/map")
    texts = control_texts(english)
    assert (texts["zoom_in"], texts["zoom_out"], texts["layers"]) == (
        "Zoom in",
        "Zoom out",
        "Map layers",
    )


def test_the_field_map_the_address_form_and_the_drawing_map_speak_chinese(open_page, live_server):
    worker = open_page(viewport=TABLET, has_touch=True)
    log_in(worker, live_server, "grid0001")
    for path in ("/cells/map", "/cells/addresses/new"):
        worker.goto(f"{live_server.url}{path}")
        texts = control_texts(worker)
        assert {key: texts[key] for key in CHINESE} == CHINESE, path

    admin = open_page(viewport=DESKTOP)
    log_in(admin, live_server, "admin")
    admin.goto(f"{live_server.url}/admin/cells")
    cell = admin.locator("table a[href^='/admin/cells/']").first.get_attribute("href")
    admin.goto(f"{live_server.url}{cell}")
    texts = control_texts(admin)
    assert {key: texts[key] for key in CHINESE} == CHINESE
