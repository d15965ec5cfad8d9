"""The sweep pages through the real app: an officer plans and reads results, a team walks
the checklist on the tablet, photos, teams, printing and exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from helpers import (
    DEMO_TODAY,
    account,
    add_second_police_station,
    audit_entries,
    csrf_token_from,
    field_errors,
    log_in,
    token_of,
)
from openpyxl import load_workbook
from sqlalchemy import func, select
from sweep_helpers import (
    camera_jpeg,
    first_stop,
    jpeg_with_exif,
    member_account,
    plan,
    team_with,
)

from registry.address.models import Address
from registry.grid.models import focus_area_cell
from registry.sweeps import export, visits
from registry.sweeps.models import (
    Sweep,
    SweepStop,
    SweepTeam,
    SweepTeamMember,
    SweepVisit,
    VisitPhoto,
)
from registry.sweeps.planning import PlanRequest, plan_sweep
from registry.sweeps.services import close_sweep


@pytest.fixture
def sweep(demo_db):
    record = plan(demo_db)
    member_account(demo_db)
    team_with(demo_db, record, "sweeper1")
    demo_db.commit()
    return record


def _submission(page: str) -> str:
    return re.search(r'name="submission" type="hidden" value="([^"]+)"', page).group(1)


def test_the_officer_plans_a_sweep_with_the_button(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    index = officer.get("/sweeps/")
    page = index.get_data(as_text=True)
    assert index.status_code == 200
    assert "Plan the sweep" in page and "Sweeps (coming)" not in page
    response = officer.post(
        "/sweeps/plan",
        data={"csrf_token": csrf_token_from(page), "focus_area": "1", "week": "2026-W49"},
    )
    assert response.status_code == 302
    sweep = demo_db.scalar(select(Sweep).where(Sweep.focus_area_id == 1))
    assert response.headers["Location"].endswith(f"/sweeps/{sweep.id}")
    shown = officer.get(f"/sweeps/{sweep.id}").get_data(as_text=True)
    assert "Day 1" in shown and "Against nearest neighbour" in shown
    assert str(sweep.seed) in shown


@pytest.mark.parametrize("lon", ["inf", "nan", "999", "-1e400", "abc"])
def test_a_start_point_that_is_no_point_of_the_district_is_a_field_error(demo_app, demo_db, lon):
    officer = log_in(demo_app, "officer1")
    response = officer.post(
        "/sweeps/plan",
        data={
            "csrf_token": token_of(officer, "/sweeps/"),
            "focus_area": "1",
            "week": "2026-W49",
            "start_lon": lon,
            "start_lat": "30.5",
        },
    )
    assert response.status_code == 422
    assert "Choose a point inside the district" in response.get_data(as_text=True)
    assert demo_db.scalar(select(func.count()).select_from(Sweep)) == 0


def test_the_officer_picks_a_building_of_the_area_as_the_start(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    page = officer.get("/sweeps/plan?focus_area=1&week=2026-W49").get_data(as_text=True)
    assert 'name="start" value="station" checked' in page
    choices = re.findall(r'name="start" value="(\d+)"> ([^<]+)</label>', page)
    assert choices
    building_id, address = choices[-1]
    found = officer.get(
        "/sweeps/plan", query_string={"focus_area": 1, "week": "2026-W49", "q": address[-8:]}
    ).get_data(as_text=True)
    assert f'value="{building_id}"' in found
    response = officer.post(
        "/sweeps/plan",
        data={
            "csrf_token": csrf_token_from(page),
            "focus_area": "1",
            "week": "2026-W49",
            "start": building_id,
        },
    )
    assert response.status_code == 302
    sweep = demo_db.scalar(select(Sweep).where(Sweep.focus_area_id == 1))
    same = demo_db.scalar(
        select(func.ST_Equals(Sweep.start_geom, Address.geom))
        .join(Address, Address.id == int(building_id))
        .where(Sweep.id == sweep.id)
    )
    assert sweep.start_kind == "chosen" and same


def test_a_start_outside_the_area_is_refused_on_the_plan_page(demo_app, demo_db):
    other = demo_db.scalar(
        select(Address.id)
        .where(
            Address.parent_id.is_(None),
            Address.grid_cell_id.not_in(
                select(focus_area_cell.c.grid_cell_id).where(focus_area_cell.c.focus_area_id == 1)
            ),
        )
        .limit(1)
    )
    officer = log_in(demo_app, "officer1")
    page = officer.get("/sweeps/plan?focus_area=1&week=2026-W49").get_data(as_text=True)
    response = officer.post(
        "/sweeps/plan",
        data={
            "csrf_token": csrf_token_from(page),
            "focus_area": "1",
            "week": "2026-W49",
            "start": str(other),
        },
    )
    shown = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a building of this area" in shown and 'id="start"' in shown
    assert demo_db.scalar(select(func.count()).select_from(Sweep)) == 0


def test_the_plan_page_is_the_planners_of_the_area_only(demo_app, demo_db):
    add_second_police_station(demo_db)
    demo_db.commit()
    url = "/sweeps/plan?focus_area=1&week=2026-W49"
    assert log_in(demo_app, "officer99").get(url).status_code == 404
    assert log_in(demo_app, "sweeper1").get(url).status_code == 404
    assert log_in(demo_app, "officer1").get(url).status_code == 200


def test_replanning_a_started_week_is_refused_with_a_message(demo_app, demo_db, sweep):
    officer = log_in(demo_app, "officer1")
    token = token_of(officer, "/sweeps/")
    response = officer.post(
        "/sweeps/plan",
        data={"csrf_token": token, "focus_area": "1", "week": "2026-W48"},
        follow_redirects=True,
    )
    assert "can no longer be replaced" in response.get_data(as_text=True)


def test_a_member_walks_the_checklist_and_a_double_tap_records_one_visit(demo_app, demo_db, sweep):
    member = log_in(demo_app, "sweeper1")
    landing = member.get("/", follow_redirects=True).get_data(as_text=True)
    assert "My sweeps" in landing and f"/sweeps/{sweep.id}" in landing
    checklist = member.get(f"/sweeps/{sweep.id}").get_data(as_text=True)
    stop = first_stop(demo_db, sweep)
    assert f"/sweeps/stops/{stop.id}" in checklist
    form = member.get(f"/sweeps/stops/{stop.id}").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token_from(form),
        "submission": _submission(form),
        "outcome": "unregistered_occupants",
        "people": "3",
        "note": "两人自称亲戚",
    }
    first = member.post(f"/sweeps/stops/{stop.id}", data=data)
    again = member.post(f"/sweeps/stops/{stop.id}", data=data)
    assert first.status_code == again.status_code == 302
    visits = demo_db.scalars(select(SweepVisit)).all()
    assert len(visits) == 1 and visits[0].people == 3
    resumed = member.get(f"/sweeps/{sweep.id}").get_data(as_text=True)
    assert "Unregistered occupants found" in resumed


def test_a_refused_visit_keeps_what_was_typed(demo_app, demo_db, sweep):
    member = log_in(demo_app, "sweeper1")
    stop = first_stop(demo_db, sweep)
    form = member.get(f"/sweeps/stops/{stop.id}").get_data(as_text=True)
    response = member.post(
        f"/sweeps/stops/{stop.id}",
        data={
            "csrf_token": csrf_token_from(form),
            "submission": _submission(form),
            "outcome": "unregistered_occupants",
            "note": "门口鞋很多",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "门口鞋很多" in page and "Must be between 1 and 500" in page


def test_photos_are_uploaded_cleaned_and_shown_to_the_team_with_a_logged_view(
    demo_app, demo_db, sweep
):
    member = log_in(demo_app, "sweeper1")
    stop = first_stop(demo_db, sweep)
    form = member.get(f"/sweeps/stops/{stop.id}").get_data(as_text=True)
    response = member.post(
        f"/sweeps/stops/{stop.id}",
        data={
            "csrf_token": csrf_token_from(form),
            "submission": _submission(form),
            "outcome": "group_renting",
            "photos": [(io.BytesIO(jpeg_with_exif()), "IMG_0001.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    photo = demo_db.scalar(select(VisitPhoto))
    shown = member.get(f"/sweeps/photos/{photo.id}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert b"CameraMaker" not in shown.data
    assert len(audit_entries(demo_db, "visit_photo", photo.id, "view")) == 1
    worker = log_in(demo_app, f"grid{stop.address.grid_cell_id:04d}")
    assert worker.get(f"/sweeps/photos/{photo.id}").status_code == 404


def test_three_camera_photos_of_a_visit_are_saved_with_its_outcome_and_note(
    demo_app, demo_db, sweep
):
    # Three 11.6 MB photos, each under the per-photo limit: 35 MB in all, more than the
    # app's general request limit.
    member = log_in(demo_app, "sweeper1")
    stop = first_stop(demo_db, sweep, reason="flag")
    form = member.get(f"/sweeps/stops/{stop.id}").get_data(as_text=True)
    response = member.post(
        f"/sweeps/stops/{stop.id}",
        data={
            "csrf_token": csrf_token_from(form),
            "submission": _submission(form),
            "outcome": "group_renting",
            "note": "上下铺八张",
            "photos": [(io.BytesIO(camera_jpeg()), f"IMG_000{n}.jpg") for n in (1, 2, 3)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    visit = demo_db.scalar(select(SweepVisit).where(SweepVisit.stop_id == stop.id))
    assert visit.note == "上下铺八张" and len(visit.photos) == 3
    assert max(p.width for p in visit.photos) == visits.PHOTO_SIDE


def test_a_stop_form_too_large_to_read_comes_back_with_the_error_on_the_photos(
    demo_app, demo_db, sweep
):
    member = log_in(demo_app, "sweeper1")
    stop = first_stop(demo_db, sweep)
    form = member.get(f"/sweeps/stops/{stop.id}").get_data(as_text=True)
    response = member.post(
        f"/sweeps/stops/{stop.id}",
        data={
            "csrf_token": csrf_token_from(form),
            "submission": _submission(form),
            "outcome": "in_order",
            "photos": [(io.BytesIO(b"\0" * (visits.VISIT_REQUEST_BYTES + 1)), "big.jpg")],
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Save this stop" in page and "data-too-large" in page
    assert "The photos were too large to send" in field_errors(page, "photos")[0]
    assert demo_db.scalar(select(func.count()).select_from(SweepVisit)) == 0


@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "csv"])
def test_every_export_is_one_audit_entry_and_holds_no_formula(demo_app, demo_db, sweep, fmt):
    stop = first_stop(demo_db, sweep)
    demo_db.add(
        SweepVisit(
            stop_id=stop.id,
            submission="11111111-1111-4111-8111-111111111111",
            outcome="in_order",
            note='=HYPERLINK("http://x.example","y")',
            visited_on=sweep.week_start,
        )
    )
    demo_db.commit()
    officer = log_in(demo_app, "officer1")
    before = len(audit_entries(demo_db, "sweep", sweep.id))
    response = officer.get(f"/sweeps/{sweep.id}/list.{fmt}")
    assert response.status_code == 200
    assert len(audit_entries(demo_db, "sweep", sweep.id)) == before + 1
    if fmt == "pdf":
        assert response.data.startswith(b"%PDF")
    elif fmt == "csv":
        assert response.data.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
        assert not any(cell.startswith("=") for row in rows for cell in row)
    else:
        sheet = load_workbook(io.BytesIO(response.data)).active
        cells = [cell for row in sheet.iter_rows() for cell in row if cell.value]
        note = next(c for c in cells if str(c.value).startswith("=HYPERLINK"))
        assert note.data_type == "s"


def test_the_lists_keep_the_count_found_and_say_random_sample_once(demo_app, demo_db, sweep):
    from registry.sweeps.services import stop_rows

    found = first_stop(demo_db, sweep, reason="flag")
    demo_db.add(
        SweepVisit(
            stop_id=found.id,
            submission="44444444-4444-4444-8444-444444444444",
            outcome="unregistered_occupants",
            people=3,
            visited_on=sweep.week_start,
        )
    )
    demo_db.commit()
    assert first_stop(demo_db, sweep, reason="sample") is not None
    officer = log_in(demo_app, "officer1", lang="zh_CN")
    listed = officer.get(f"/sweeps/{sweep.id}/list.csv")
    assert listed.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(listed.data.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert "发现未登记人员 (3)" in cells
    assert any(c.startswith("随机抽查: 核对") for c in cells)
    assert not any("随机抽查: 随机抽查" in c for c in cells)
    sheet = load_workbook(io.BytesIO(officer.get(f"/sweeps/{sweep.id}/list.xlsx").data)).active
    assert "发现未登记人员 (3)" in [c.value for row in sheet.iter_rows() for c in row]
    with demo_app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import refresh

        refresh()
        officer_account = account(demo_db, "officer1")
        shown = stop_rows(demo_db, officer_account, sweep, DEMO_TODAY)
        html = export.sweep_print_html(sweep, "清查", shown, today=DEMO_TODAY)
    assert "发现未登记人员 (3)" in html
    assert "随机抽查: 核对" in html and "随机抽查：" not in html


def test_the_printed_list_masks_id_numbers_and_shows_no_phones(demo_app, demo_db, sweep):
    from registry.sweeps.services import stop_rows

    officer = log_in(demo_app, "officer1")
    response = officer.get(f"/sweeps/{sweep.id}/list.csv")
    text = response.data.decode("utf-8-sig")
    assert re.search(r"\d{6}\*{8}\d{3}[\dX]", text)
    assert not re.search(r"\b1[3-9]\d{9}\b", text)  # no mobile numbers
    assert not re.search(r"\b\d{17}[\dX]\b", text)  # no whole ID numbers
    assert stop_rows  # the same rows as the tablet's checklist


def test_the_printed_list_embeds_one_cjk_font_only(demo_app, demo_db, sweep):
    # Each CJK font embedded is subset from thousands of glyphs: bold, serif (the page
    # number's margin box) and mono each cost layout and writing time.
    from weasyprint import HTML

    from registry.sweeps.services import stop_rows

    with demo_app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        rows = stop_rows(demo_db, account(demo_db, "officer1"), sweep, DEMO_TODAY)
        html = export.sweep_print_html(sweep, "清查名单", rows, today=DEMO_TODAY)
    document = HTML(string=html).render()
    pdf = document.write_pdf()
    assert pdf.startswith(b"%PDF")
    fonts = sorted(str(font.name) for font in document.fonts.values())
    assert len(fonts) == 1 and "Noto-Sans-CJK-SC" in fonts[0], fonts


def test_teams_are_built_by_the_officer_and_open_the_sweep_to_their_members(demo_app, demo_db):
    record = plan(demo_db)
    member_account(demo_db, "sweeper2")
    demo_db.commit()
    member = log_in(demo_app, "sweeper2")
    assert member.get(f"/sweeps/{record.id}").status_code == 404
    officer = log_in(demo_app, "officer1")
    token = token_of(officer, "/sweeps/teams")
    created = officer.post("/sweeps/teams", data={"csrf_token": token, "name": "二号专班"})
    assert created.status_code == 302
    team_url = created.headers["Location"]
    added = officer.post(
        team_url,
        data={"csrf_token": token, "username": "sweeper2", "function": "housing"},
    )
    assert added.status_code == 302
    team_id = int(team_url.rsplit("/", 1)[1])
    officer.post(f"/sweeps/{record.id}/team", data={"csrf_token": token, "team": str(team_id)})
    assert member.get(f"/sweeps/{record.id}").status_code == 200
    officer.post(f"/sweeps/{record.id}/close", data={"csrf_token": token, "reason": "完成"})
    assert member.get(f"/sweeps/{record.id}").status_code == 404


@pytest.mark.parametrize(
    ("username", "function", "refused"),
    [
        ("grid0001", "police", "can only be community"),
        ("officer1", "housing", "can only be police"),
        ("sweeper1", "community", "market regulation or housing"),
        ("sweeper1", "police", "market regulation or housing"),
    ],
)
def test_a_members_function_must_fit_their_account(demo_app, demo_db, username, function, refused):
    member_account(demo_db)
    demo_db.commit()
    officer = log_in(demo_app, "officer1")
    token = token_of(officer, "/sweeps/teams")
    team_url = officer.post("/sweeps/teams", data={"csrf_token": token, "name": "三号专班"})
    response = officer.post(
        team_url.headers["Location"],
        data={"csrf_token": token, "username": username, "function": function},
    )
    assert response.status_code == 422
    assert refused in " ".join(field_errors(response.get_data(as_text=True), "function"))
    members = (
        select(func.count())
        .select_from(SweepTeamMember)
        .join(SweepTeam, SweepTeam.id == SweepTeamMember.team_id)
        .where(SweepTeam.name == "三号专班")
    )
    assert demo_db.scalar(members) == 0


def test_a_member_without_a_username_is_a_required_field(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    token = token_of(officer, "/sweeps/teams")
    team_url = officer.post("/sweeps/teams", data={"csrf_token": token, "name": "四号专班"})
    response = officer.post(
        team_url.headers["Location"], data={"csrf_token": token, "username": " ", "function": ""}
    )
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True), "username") == ["This field is required"]


def test_the_officer_reads_a_dwellings_visit_history(demo_app, demo_db, sweep):
    stop = first_stop(demo_db, sweep)
    demo_db.add(
        SweepVisit(
            stop_id=stop.id,
            submission="22222222-2222-4222-8222-222222222222",
            outcome="referred_to_police",
            note="<script>alert(1)</script>",
            visited_on=sweep.week_start,
        )
    )
    demo_db.commit()
    officer = log_in(demo_app, "officer1")
    page = officer.get(f"/sweeps/dwellings/{stop.dwelling_id}/visits").get_data(as_text=True)
    assert "Referred to police" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert demo_db.scalar(select(func.count()).select_from(SweepVisit)) == 1


def test_the_visit_history_links_each_photo_to_its_audited_page(demo_app, demo_db, sweep):
    stop = first_stop(demo_db, sweep)
    visit = SweepVisit(
        stop_id=stop.id,
        submission="33333333-3333-4333-8333-333333333333",
        outcome="group_renting",
        visited_on=sweep.week_start,
    )
    demo_db.add(visit)
    demo_db.flush()
    content, width, height = visits.clean_photo(jpeg_with_exif())
    for _ in range(2):
        demo_db.add(VisitPhoto(visit_id=visit.id, content=content, width=width, height=height))
    demo_db.commit()
    photo_ids = [p.id for p in visit.photos]
    url = f"/sweeps/dwellings/{stop.dwelling_id}/visits"
    officer = log_in(demo_app, "officer1")
    page = officer.get(url).get_data(as_text=True)
    assert "2 photos" in page
    for photo_id in photo_ids:
        assert f'href="/sweeps/photos/{photo_id}"' in page
    assert officer.get(f"/sweeps/photos/{photo_ids[0]}").mimetype == "image/jpeg"
    assert len(audit_entries(demo_db, "visit_photo", photo_ids[0], "view")) == 1
    admin_page = log_in(demo_app, "admin").get(url).get_data(as_text=True)
    assert "2 photos" in admin_page and "/sweeps/photos/" not in admin_page


def test_the_administrator_sets_the_planning_defaults_for_plans_from_now_on(demo_app, demo_db):
    admin = log_in(demo_app, "admin")
    token = token_of(admin, "/sweeps/settings")
    refused = admin.post(
        "/sweeps/settings",
        data={"csrf_token": token, "stops_per_day": "0", "sample_percent": "abc"},
    )
    assert refused.status_code == 422
    saved = admin.post(
        "/sweeps/settings",
        data={"csrf_token": token, "stops_per_day": "15", "sample_percent": "12.5"},
    )
    assert saved.status_code == 302
    record = plan(demo_db)
    assert record.stops_per_day == 15 and float(record.sample_percent) == 12.5
    officer = log_in(demo_app, "officer1")
    assert officer.get("/sweeps/settings").status_code == 404


@pytest.mark.parametrize(
    ("stops", "share", "field", "message"),
    [
        ("abc", "5", "stops_per_day", "Enter a whole number"),
        ("0", "5", "stops_per_day", "Must be between 1 and 500"),
        ("40", "0", "sample_percent", "A share from 1 to 100"),
        ("40", "0.5", "sample_percent", "A share from 1 to 100"),
    ],
)
def test_planning_settings_refused_with_the_right_field_error(
    demo_app, demo_db, stops, share, field, message
):
    admin = log_in(demo_app, "admin")
    refused = admin.post(
        "/sweeps/settings",
        data={
            "csrf_token": token_of(admin, "/sweeps/settings"),
            "stops_per_day": stops,
            "sample_percent": share,
        },
    )
    assert refused.status_code == 422
    errors = field_errors(refused.get_data(as_text=True), field)
    assert len(errors) == 1 and errors[0].startswith(message)


def test_closing_a_sweep_is_confirmed_with_a_reason_and_can_be_undone_in_its_week(
    demo_app, demo_db, sweep
):
    officer = log_in(demo_app, "officer1")
    shown = officer.get(f"/sweeps/{sweep.id}").get_data(as_text=True)
    assert f"/sweeps/{sweep.id}/close" in shown and 'name="team"' in shown
    stops = demo_db.scalar(select(func.count()).where(SweepStop.sweep_id == sweep.id))
    confirm = officer.get(f"/sweeps/{sweep.id}/close").get_data(as_text=True)
    assert f"0 of {stops} stops done" in confirm and 'name="reason"' in confirm
    refused = officer.post(
        f"/sweeps/{sweep.id}/close", data={"csrf_token": csrf_token_from(confirm), "reason": " "}
    )
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True), "reason") == ["Give the reason"]
    demo_db.expire_all()
    assert demo_db.get(Sweep, sweep.id).closed_at is None

    closed = officer.post(
        f"/sweeps/{sweep.id}/close",
        data={"csrf_token": csrf_token_from(confirm), "reason": "区域划分有误，重新安排"},
    )
    assert closed.status_code == 302
    demo_db.expire_all()
    assert demo_db.get(Sweep, sweep.id).closed_at is not None
    page = officer.get(f"/sweeps/{sweep.id}").get_data(as_text=True)
    assert 'name="team"' not in page and f"/sweeps/{sweep.id}/reopen" in page
    member = log_in(demo_app, "sweeper1")
    assert member.get(f"/sweeps/{sweep.id}").status_code == 404

    reopen = officer.get(f"/sweeps/{sweep.id}/reopen").get_data(as_text=True)
    reopened = officer.post(
        f"/sweeps/{sweep.id}/reopen",
        data={"csrf_token": csrf_token_from(reopen), "reason": "误关闭"},
    )
    assert reopened.status_code == 302
    demo_db.expire_all()
    assert demo_db.get(Sweep, sweep.id).closed_at is None
    assert member.get(f"/sweeps/{sweep.id}").status_code == 200
    reasons = [
        e.changes.get("reason", [None, None])[1]
        for e in audit_entries(demo_db, "sweep", sweep.id, "update")
    ]
    assert "区域划分有误，重新安排" in reasons and "误关闭" in reasons


def test_a_sweep_whose_week_is_over_cannot_be_reopened(demo_app, demo_db):
    past = plan_sweep(
        demo_db, None, PlanRequest(1, date(2026, 11, 16), seed=3), date(2026, 11, 16), 50
    ).sweep
    close_sweep(demo_db, account(demo_db, "officer1"), past.id, "本周结束")
    demo_db.commit()
    officer = log_in(demo_app, "officer1")
    page = officer.get(f"/sweeps/{past.id}").get_data(as_text=True)
    assert f"/sweeps/{past.id}/reopen" not in page
    form = officer.get(f"/sweeps/{past.id}/reopen").get_data(as_text=True)
    refused = officer.post(
        f"/sweeps/{past.id}/reopen", data={"csrf_token": csrf_token_from(form), "reason": "误关闭"}
    )
    assert refused.status_code == 422
    assert "Its week is over" in refused.get_data(as_text=True)


def test_a_half_walked_sweep_resumes_at_the_first_stop_left(demo_app, demo_db, sweep):
    stops = sweep.days[0].stops
    demo_db.add(
        SweepVisit(
            stop_id=stops[0].id,
            submission="33333333-3333-4333-8333-333333333333",
            outcome="no_one_home",
            visited_on=sweep.week_start,
        )
    )
    demo_db.commit()
    member = log_in(demo_app, "sweeper1")
    page = member.get(f"/sweeps/{sweep.id}").get_data(as_text=True)
    resume = re.search(r'href="/sweeps/stops/(\d+)"[^>]*>Continue at stop (\d+)', page)
    assert resume and int(resume.group(1)) == stops[1].id and resume.group(2) == "2"


def test_the_officer_reads_the_weeks_path_and_the_days_walked_from_the_start(demo_app, demo_db):
    record = plan(demo_db, stops_per_day=8)
    demo_db.commit()
    days_km = sum(day.route_m for day in record.days) / 1000
    page = log_in(demo_app, "officer1").get(f"/sweeps/{record.id}").get_data(as_text=True)
    shown = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))
    assert shown["Week's route as one path"] == f"{record.route_m / 1000:.1f} km"
    assert shown["Days walked from the start"] == f"{days_km:.1f} km"
    assert days_km > record.route_m / 1000  # each day leaves the station again
    ratio = record.route_m / record.nearest_neighbour_m
    assert shown["Against nearest neighbour"] == f"{ratio:.2f}×"
