"""A sweep's stop in the real browser: photos from a tablet's camera are made smaller on
the page before they are sent, so a visit with several of them is saved in one go."""

from __future__ import annotations

import os

from browser import TABLET, log_in, screenshot
from helpers import AUDIT_KEY_VARIABLE, DEMO_TODAY
from sqlalchemy import select, text
from sweep_helpers import THIS_WEEK, camera_jpeg, jpeg_with_exif

from registry.db import make_engine, make_session_factory
from registry.sweeps.models import SweepStop
from registry.sweeps.planning import PlanRequest, plan_sweep


def _planned_stop(url: str) -> int:
    """Plan area 1's sweep of the week on the served copy; its first flagged stop."""
    engine = make_engine(url)
    factory = make_session_factory(engine, audit_key=os.environ[AUDIT_KEY_VARIABLE])
    with factory() as session:
        sweep = plan_sweep(session, None, PlanRequest(1, THIS_WEEK, seed=7), DEMO_TODAY, 50).sweep
        stop_id = session.scalar(
            select(SweepStop.id)
            .where(SweepStop.sweep_id == sweep.id, SweepStop.dwelling_id.is_not(None))
            .order_by(SweepStop.id)
        )
        session.commit()
    engine.dispose()
    return stop_id


def test_three_camera_photos_are_made_smaller_on_the_page_and_saved_with_the_visit(
    open_page, make_live_server, tmp_path
):
    server, url = make_live_server()
    stop_id = _planned_stop(url)
    photos = []
    for number in (1, 2, 3):
        path = tmp_path / f"IMG_000{number}.jpg"
        path.write_bytes(camera_jpeg())  # 11.6 MB each: 35 MB together
        photos.append(path)

    page = open_page(viewport=TABLET, server=server)
    log_in(page, server, "officer1")
    page.goto(f"{server.url}/sweeps/stops/{stop_id}")
    page.locator("input[name=outcome][value=group_renting]").check()
    page.locator("#note").fill("上下铺八张")
    page.locator("#photos").set_input_files(photos)
    page.wait_for_selector("form[data-photos-ready='3']")
    sizes = page.evaluate(
        "Array.from(document.getElementById('photos').files, f => [f.size, f.type])"
    )
    assert all(size < 2 * 2**20 and kind == "image/jpeg" for size, kind in sizes), sizes
    screenshot(page, "sweep-stop-photos-scaled")
    with page.expect_navigation():
        page.locator("button.sw-save").click()
    assert "/sweeps/" in page.url and "stop-" in page.url

    engine = make_engine(url)
    with engine.connect() as db:
        saved = db.execute(
            text("""
            SELECT v.outcome::text, v.note, count(p.id), max(greatest(p.width, p.height))
            FROM sweep_visit v LEFT JOIN visit_photo p ON p.visit_id = v.id
            WHERE v.stop_id = :s GROUP BY v.id"""),
            {"s": stop_id},
        ).all()
    engine.dispose()
    assert [tuple(row) for row in saved] == [("group_renting", "上下铺八张", 3, 1600)]


def test_too_many_photos_are_refused_on_the_page_before_sending_and_nothing_typed_is_lost(
    open_page, make_live_server, tmp_path
):
    server, url = make_live_server()
    stop_id = _planned_stop(url)
    paths = []
    for number in range(7):
        paths.append(tmp_path / f"small{number}.jpg")
        paths[-1].write_bytes(jpeg_with_exif())
    page = open_page(viewport=TABLET, server=server)
    log_in(page, server, "officer1")
    page.goto(f"{server.url}/sweeps/stops/{stop_id}")
    page.locator("input[name=outcome][value=in_order]").check()
    page.locator("#note").fill("门已修好")
    page.locator("#photos").set_input_files(paths)
    page.wait_for_selector("form[data-photos-ready='7']")
    page.locator("button.sw-save").click()
    error = page.locator("#photos-errors .error")
    error.wait_for()
    assert "6" in error.inner_text()
    assert f"/sweeps/stops/{stop_id}" in page.url
    assert page.locator("#note").input_value() == "门已修好"
    assert page.locator("input[name=outcome][value=in_order]").is_checked()
