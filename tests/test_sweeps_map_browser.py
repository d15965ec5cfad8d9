"""A sweep team-day on the map in Debian's Chromium, as a team member on a tablet
(768×1024, touch): from the checklist to the day's map, switching days, the numbered
markers and the route, and a marker's link to the stop's page (tests/browser.py watches
every request, console error and failed response)."""

from __future__ import annotations

import re

from browser import TABLET, log_in, screenshot
from helpers import DEMO_TODAY, session_info
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sweep_helpers import plan

from registry.db import make_engine
from registry.sweeps.models import SweepDay, SweepStop, SweepTeam, SweepVisit

PINS = ".sweep-marker .sweep-pin:not(.start)"


def _planned_with_a_visit(database_url: str) -> tuple[int, int, list[int]]:
    """This week's sweep of the first area, walked by the demo's team 一号专班, with the
    first stop of its busiest day recorded. Returns the sweep, that day and its buildings
    in walking order."""
    engine = make_engine(database_url)
    with Session(engine, info=session_info()) as session:
        sweep = plan(session)
        sweep.team_id = session.scalar(select(SweepTeam.id).where(SweepTeam.name == "一号专班"))
        day = session.execute(
            select(SweepDay.number)
            .join(SweepStop, SweepStop.day_id == SweepDay.id)
            .where(SweepDay.sweep_id == sweep.id)
            .group_by(SweepDay.number)
            .order_by(func.count(SweepStop.building_address_id.distinct()).desc())
            .limit(1)
        ).scalar_one()
        stops = session.scalars(
            select(SweepStop)
            .join(SweepDay, SweepDay.id == SweepStop.day_id)
            .where(SweepDay.sweep_id == sweep.id, SweepDay.number == day)
            .order_by(SweepStop.position)
        ).all()
        session.add(
            SweepVisit(
                stop_id=stops[0].id,
                submission="33333333-3333-4333-8333-333333333333",
                outcome="in_order",
                visited_on=DEMO_TODAY,
            )
        )
        session.commit()
        buildings = list(dict.fromkeys(stop.building_address_id for stop in stops))
        sweep_id = sweep.id
    engine.dispose()
    return sweep_id, day, buildings


def test_a_team_member_follows_the_days_route_to_a_stop_on_the_tablet(open_page, make_live_server):
    server, url = make_live_server()
    sweep_id, day, buildings = _planned_with_a_visit(url)
    page = open_page(viewport=TABLET, server=server, has_touch=True)
    log_in(page, server, "sweeper1")

    # From the checklist, its day's map; then the busiest day from the map's own tabs.
    page.goto(f"{server.url}/sweeps/{sweep_id}")
    with page.expect_navigation():
        page.click(f"a[href^='/sweeps/{sweep_id}/map?day=']")
    with page.expect_navigation():
        page.click(f".gw-tabs a[href='/sweeps/{sweep_id}/map?day={day}']")
    page.wait_for_selector(PINS)
    pins = page.locator(PINS)
    assert pins.count() == len(buildings)
    assert page.locator(".sweep-marker .sweep-pin.start").count() == 1
    route = page.locator("path.sweep-route").bounding_box()
    assert route["width"] > 0 or route["height"] > 0
    # Numbered in walking order from 1; the first stop is recorded, so it shows done.
    assert re.match(r"1(–|$)", pins.first.inner_text())
    assert re.search(r"\b(done|partly)\b", pins.first.get_attribute("class"))
    for box in page.locator(".sweep-marker").evaluate_all(
        "(nodes) => nodes.map((n) => n.getBoundingClientRect().width)"
    ):
        assert box >= 44
    assert page.locator("#map-locate").bounding_box()["height"] >= 44
    screenshot(page, "sweep-map-tablet-zh_CN")

    # The next building to walk is on top; a tap shows its stops with links to each.
    page.locator(f"{PINS}.next").tap()
    popup = page.locator(".leaflet-popup-content")
    link = popup.locator("li.todo a[href^='/sweeps/stops/']").first
    link.wait_for()
    assert link.bounding_box()["height"] >= 44
    screenshot(page, "sweep-map-tablet-popup-zh_CN")
    href = link.get_attribute("href")
    link.tap()
    # Not expect_navigation: the map writes its view into its own URL (a same-page
    # navigation) while the popup pans it, which that would take for the stop page.
    page.wait_for_url(lambda url: url.endswith(href))
    position = re.match(r"(\d+)\.", page.locator("h1.sw-stop-title").inner_text()).group(1)
    assert int(position) > 1  # not the stop already recorded

    # Saved, the stop leads back to the day's map, where it now counts as done.
    page.locator(".sw-outcomes label").nth(1).tap()
    with page.expect_navigation():
        page.locator("button.sw-save").tap()
    assert page.url.endswith(f"/sweeps/{sweep_id}/map?day={day}")
    page.wait_for_selector(PINS)
    assert page.locator(".gw-tabs a.active .sw-count").inner_text().startswith("2/")
    screenshot(page, "sweep-map-tablet-after-a-stop-zh_CN")

    # The side list reaches every building, even one under another's marker.
    last = page.locator("[data-sweep-building]").last
    assert last.get_attribute("data-sweep-building") == str(buildings[-1])
    last.tap()
    title = page.locator(".leaflet-popup-content .map-popup-title")
    title.wait_for()
    assert title.inner_text() in last.inner_text()
    screenshot(page, "sweep-map-tablet-list-zh_CN")
