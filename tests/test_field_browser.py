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


def a_dwelling_of(database_url: str, username: str) -> int:
    from test_map_browser import facts

    return facts(
        database_url,
        """SELECT min(d.id) FROM dwelling d JOIN address a ON a.id = d.address_id
           WHERE a.grid_cell_id = (SELECT min(w.grid_cell_id) FROM grid_cell_worker w
               JOIN user_account u ON u.id = w.user_id WHERE u.username = :u)""",
        u=username,
    )[0][0]


def test_back_after_a_refused_then_saved_move_in_shows_a_page(browser, make_live_server):
    """Seen on a tablet: Back after a refused, then saved move-in gave "Confirm Form
    Resubmission" (ERR_CACHE_MISS). The browser's own cache is on here (a watched page's
    request routing would turn it off)."""
    from helpers import resident_id_number

    server, database_url = make_live_server()
    dwelling_id = a_dwelling_of(database_url, "grid0001")
    context = browser.new_context(viewport=TABLET, has_touch=True)
    page = context.new_page()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    log_in(page, server, "grid0001")
    page.goto(f"{server.url}/cells/dwellings/{dwelling_id}")
    page.goto(f"{server.url}/cells/dwellings/{dwelling_id}/move-in")
    with page.expect_navigation():
        page.click("form.gw-form button[type=submit]")  # nothing typed: refused
    page.select_option("select[name=document_type]", "resident_id")
    page.fill("input[name=document_number]", resident_id_number("19850607", "987"))
    page.fill("input[name=name]", "回退测试")
    page.fill("input[name=phone]", "13812345678")
    with page.expect_navigation():
        page.click("form.gw-form button[type=submit]")
    assert page.url.endswith(f"/cells/dwellings/{dwelling_id}")
    posted = len(posts)
    back = page.go_back()  # was net::ERR_CACHE_MISS ("Confirm Form Resubmission")
    assert back is not None and back.status == 200 and back.request.method == "GET"
    assert page.url.endswith(f"/cells/dwellings/{dwelling_id}/move-in")
    assert page.input_value("input[name=name]") == ""  # the form afresh; the stay is saved
    assert len(posts) == posted  # nothing was sent again
    page.go_forward()
    assert "回退测试" in page.content()
    screenshot(page, "field-back-after-move-in")
    context.close()


PHONE = {"width": 375, "height": 812}


def test_the_landlords_filters_fit_a_phone_as_whole_words(open_page, live_server):
    page = open_page(viewport=PHONE, has_touch=True, is_mobile=True)
    log_in(page, live_server, "landlord1")
    page.goto(f"{live_server.url}/leases/?show=attention")
    tabs = page.locator(".leases .tabs .tab")
    assert tabs.count() == 6
    for index in range(tabs.count()):
        box = tabs.nth(index).bounding_box()
        assert box["height"] < 60, (tabs.nth(index).inner_text(), box)  # one line each
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "field-landlord-phone-list")


def test_reloading_a_refused_form_keeps_what_was_typed(browser, make_live_server):
    """Seen on a tablet: reloading a refused move-in opened it blank (the page had become a
    GET so that Back works). The refused form's fields come back, the document number only
    sealed (masked hint, never in clear), and saving it then works without retyping."""
    from helpers import resident_id_number

    server, database_url = make_live_server()
    dwelling_id = a_dwelling_of(database_url, "grid0001")
    context = browser.new_context(viewport=TABLET, has_touch=True)
    page = context.new_page()
    log_in(page, server, "grid0001")
    page.goto(f"{server.url}/cells/dwellings/{dwelling_id}/move-in")
    number = resident_id_number("19850607", "987")
    page.select_option("select[name=document_type]", "resident_id")
    page.fill("input[name=document_number]", number)
    page.fill("input[name=name]", "刷新测试")
    page.fill("input[name=phone]", "12")  # refused: not a phone number
    with page.expect_navigation():
        page.click("form.gw-form button[type=submit]")
    assert page.locator(".sealed-hint").count() == 1
    page.fill("input[name=phone]", "1381234567")  # typed after the refusal, still wrong
    page.reload()
    assert page.input_value("input[name=name]") == "刷新测试"
    assert page.input_value("input[name=phone]") == "1381234567"
    assert page.input_value("input[name=document_number]") == ""
    assert page.locator(".sealed-hint").count() == 1
    assert number not in page.content()
    assert page.locator("#draft-restored").is_visible()
    storage = page.evaluate("JSON.stringify(sessionStorage)")
    assert number not in storage and "刷新测试" in storage
    screenshot(page, "field-reload-refused-move-in")
    page.fill("input[name=phone]", "13812345678")
    with page.expect_navigation():
        page.click("form.gw-form button[type=submit]")
    assert page.url.endswith(f"/cells/dwellings/{dwelling_id}")
    assert "刷新测试" in page.content()
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"  # saved: draft dropped
    page.goto(f"{server.url}/cells/dwellings/{dwelling_id}/move-in")
    page.reload()
    assert page.input_value("input[name=name]") == ""  # nothing left to put back
    context.close()
