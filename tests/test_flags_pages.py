"""Flag pages: the officers' list and decisions, the grid worker's view, tips and visit
findings, each inside the user's scope, escaped, and in Chinese by default."""

from __future__ import annotations

import re
from datetime import timedelta

from helpers import (
    DEMO_TODAY,
    account,
    audit_entries,
    building_of_cell,
    csrf_token_from,
    field_errors,
    log_in,
    post_form,
    token_of,
)
from sqlalchemy import func, select

from registry.address.models import Address
from registry.dwelling.models import Dwelling
from registry.flags.models import Flag, FlagEvent, FlagState, RuleCode, Tip, VisitReport

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def _flag_in_cell(session, cell_id: int, rule: str | None = None, state: str = "open") -> Flag:
    query = (
        select(Flag)
        .join(Address, Address.id == Flag.address_id)
        .where(Address.grid_cell_id == cell_id, Flag.state == state)
        .order_by(Flag.id)
        .limit(1)
    )
    if rule:
        query = query.where(Flag.rule == rule)
    return session.scalar(query)


def _dwelling_in_cell(session, cell_id: int) -> Dwelling:
    return session.scalar(
        select(Dwelling)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.grid_cell_id == cell_id)
        .order_by(Dwelling.id)
        .limit(1)
    )


# -- the officers' list --------------------------------------------------------------------


def test_the_officers_list_filters_by_cell_rule_state_and_age(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    page = officer.get("/flags/").get_data(as_text=True)
    assert 'href="/flags/"' in page  # the menu item
    shown = set(re.findall(r'href="/flags/(\d+)"', page))
    assert len(shown) == 50  # one page

    flag = _flag_in_cell(demo_db, 2, RuleCode.OVER_CAPACITY)
    filtered = officer.get("/flags/?cell=2&rule=over_capacity&state=open").get_data(as_text=True)
    ids = set(re.findall(r'href="/flags/(\d+)"', filtered))
    expected = demo_db.scalar(
        select(func.count())
        .select_from(Flag)
        .join(Address, Address.id == Flag.address_id)
        .where(Address.grid_cell_id == 2, Flag.rule == "over_capacity", Flag.state == "open")
    )
    assert str(flag.id) in ids and len(ids) == expected

    old = officer.get("/flags/?age=7").get_data(as_text=True)
    assert "No flag matches." in old  # every demo flag was raised on the demo's day
    later = officer.get("/flags/?state=resolved").get_data(as_text=True)
    assert "No flag matches." in later


def test_an_officer_of_another_station_sees_no_flag(demo_app, demo_db):
    from helpers import add_second_police_station

    add_second_police_station(demo_db)
    demo_db.commit()
    other = log_in(demo_app, "officer99")
    assert "No flag matches." in other.get("/flags/?state=all").get_data(as_text=True)
    flag = _flag_in_cell(demo_db, 1)
    assert other.get(f"/flags/{flag.id}").status_code == 404


def test_the_list_pages_and_ignores_bad_filters(demo_app):
    officer = log_in(demo_app, "officer1")
    assert officer.get("/flags/?page=2").status_code == 200
    odd = officer.get("/flags/?cell=x&rule=<b>&state=nonsense&age=-3&page=abc")
    assert odd.status_code == 200 and "<b>" not in odd.get_data(as_text=True)


# -- deciding ------------------------------------------------------------------------------


def _decide(client, flag_id: int, state: str, reason: str, version=None):
    url = f"/flags/{flag_id}"
    token = token_of(client, url)
    page = client.get(url).get_data(as_text=True)
    if version is None:
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return client.post(
        f"{url}/decide",
        data={"csrf_token": token, "state": state, "reason": reason, "version": version},
    )


def test_an_officer_takes_up_confirms_and_resolves_a_flag_with_reasons(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    flag = _flag_in_cell(demo_db, 1, RuleCode.OVER_CAPACITY)
    page = officer.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert "Take it up" in page and "Legal capacity" in page

    refused = _decide(officer, flag.id, "in_review", "   ")
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True), "reason") == [
        "Give the reason for this decision"
    ]
    skipped = _decide(officer, flag.id, "resolved", "跳过核查")
    assert skipped.status_code == 422  # open cannot go straight to resolved

    for state, reason in (("in_review", "约房东周三上门"), ("confirmed", HOSTILE)):
        response = _decide(officer, flag.id, state, reason)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    page = officer.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert _decide(officer, flag.id, "resolved", "已清退").status_code == 302

    demo_db.expire_all()
    decided = demo_db.get(Flag, flag.id)
    assert decided.state == FlagState.RESOLVED and decided.decision_reason == "已清退"
    officer_id = account(demo_db, "officer1").id
    steps = demo_db.scalars(
        select(FlagEvent).where(FlagEvent.flag_id == flag.id).order_by(FlagEvent.id)
    ).all()
    assert [(e.to_state, e.actor_id) for e in steps[1:]] == [
        ("in_review", officer_id),
        ("confirmed", officer_id),
        ("resolved", officer_id),
    ]
    entries = audit_entries(demo_db, "flag", flag.id, "update")
    assert [e.reason for e in entries] == ["约房东周三上门", HOSTILE, "已清退"]


def test_a_decision_on_a_stale_flag_shows_the_flag_as_it_is_now(demo_app, demo_db):
    """Two tabs both press 开始核查: the second sees what the first decided, in Chinese,
    keeps its reason, and is offered only the steps possible now (no save that fails)."""
    officer = log_in(demo_app, "officer1")
    flag = _flag_in_cell(demo_db, 1)
    stale = flag.version
    assert _decide(officer, flag.id, "in_review", "约房东周三上门").status_code == 302
    chinese = log_in(demo_app, "officer1", lang=None)
    response = _decide(chinese, flag.id, "in_review", "我也来核查", version=stale)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    notice = html[html.index('id="moved-on"') : html.index('id="facts"')]
    assert "约房东周三上门" in notice and "核查中" in notice  # what the other decided
    assert "您的操作未保存" in notice and "您选择的是：开始核查" in notice
    assert "State" not in html and "保存我的输入" not in html
    assert "我也来核查</textarea>" in html  # the reason typed is kept
    steps = set(re.findall(r'name="state" value="(\w+)"', html))
    assert steps == {"confirmed", "dismissed"}
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    demo_db.expire_all()
    assert version == str(demo_db.get(Flag, flag.id).version)
    again = _decide(chinese, flag.id, "confirmed", "我也来核查", version=version)
    assert again.status_code == 302


def test_a_decision_on_a_flag_closed_meanwhile_keeps_the_reason_in_view(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    flag = _flag_in_cell(demo_db, 1)
    stale = flag.version
    for state in ("in_review", "dismissed"):
        assert _decide(officer, flag.id, state, "亲戚暂住").status_code == 302
    response = _decide(officer, flag.id, "in_review", HOSTILE, version=stale)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "no decision is left to take on it" in html
    assert 'name="state"' not in html and "Save my input" not in html
    kept = html[html.index('class="tip-text kept-reason"') :]
    assert "&lt;script&gt;alert(1)" in kept[:300] and "<script>alert(1)" not in html


def test_grid_workers_see_their_flags_but_do_not_decide(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    flag = _flag_in_cell(demo_db, 1)
    page = worker.get(f"/flags/{flag.id}")
    assert page.status_code == 200 and "Take it up" not in page.get_data(as_text=True)
    token = csrf_token_from(page.get_data(as_text=True))
    response = worker.post(
        f"/flags/{flag.id}/decide",
        data={"csrf_token": token, "state": "in_review", "reason": "x", "version": flag.version},
    )
    assert response.status_code == 404
    assert worker.get("/flags/").status_code == 404
    other = _flag_in_cell(demo_db, 2)
    assert worker.get(f"/flags/{other.id}").status_code == 404


def test_property_managers_see_no_flags(demo_app, demo_db):
    manager = log_in(demo_app, "manager1")
    flag = _flag_in_cell(demo_db, 1)
    assert manager.get("/flags/").status_code == 404
    assert manager.get(f"/flags/{flag.id}").status_code == 404


# -- tips and complaints -------------------------------------------------------------------


def _tip(client, address_id: int, **values):
    data = {
        "kind": "complaint",
        "source": "hotline",
        "received_on": DEMO_TODAY.isoformat(),
        "text": HOSTILE + " 楼上住了很多人",
        "tipster_name": "王五",
        "tipster_phone": "13912345678",
    }
    data.update(values)
    return post_form(client, f"/flags/places/{address_id}/tip", data)


def test_a_grid_worker_records_a_tip_and_its_flag_is_raised(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    dwelling = _dwelling_in_cell(demo_db, 1)
    response = _tip(worker, dwelling.address_id)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    tip = demo_db.scalar(select(Tip).order_by(Tip.id.desc()).limit(1))
    assert tip.dwelling_id == dwelling.id and tip.tipster_phone == "13912345678"
    flag = demo_db.scalar(
        select(Flag).where(
            Flag.rule == RuleCode.TIP, Flag.address_id == dwelling.address_id, Flag.state == "open"
        )
    )
    assert tip.id in flag.facts["tip_ids"]
    assert audit_entries(demo_db, "tip", tip.id, "create")

    shown = worker.get(f"/flags/tips/{tip.id}").get_data(as_text=True)
    assert "王五" not in shown and "13912345678" not in shown  # officers only
    assert "<script>alert(1)" not in shown and "&lt;script&gt;" in shown
    flag_page = worker.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in flag_page

    officer = log_in(demo_app, "officer1")
    seen = officer.get(f"/flags/tips/{tip.id}").get_data(as_text=True)
    assert "王五" in seen and "13912345678" in seen
    assert audit_entries(demo_db, "tip", tip.id, "view")


def test_tip_errors_name_their_fields_and_keep_the_input(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    dwelling = _dwelling_in_cell(demo_db, 1)
    before = demo_db.scalar(select(func.count()).select_from(Tip))
    response = _tip(
        worker,
        dwelling.address_id,
        kind="rumour",
        text="   ",
        tipster_phone="12",
        received_on=(DEMO_TODAY + timedelta(days=1)).isoformat(),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html, "kind") == ["Choose one of the listed values"]
    assert field_errors(html, "text") == ["This field is required"]
    assert field_errors(html, "tipster_phone") == ["Not a mainland mobile or landline number"]
    assert field_errors(html, "received_on") == ["The date cannot be in the future"]
    assert 'value="王五"' in html
    assert demo_db.scalar(select(func.count()).select_from(Tip)) == before


def test_a_tip_against_a_whole_building_is_one_flag_shown_on_each_dwelling(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    building = building_of_cell(demo_db, 1)
    assert _tip(officer, building.id, text="整栋楼有人拉人听课").status_code == 302
    flags = demo_db.scalars(
        select(Flag).where(Flag.rule == RuleCode.TIP, Flag.address_id == building.id)
    ).all()
    assert len(flags) == 1 and flags[0].dwelling_id is None
    worker = log_in(demo_app, "grid0001")
    rooms = demo_db.scalars(
        select(Dwelling)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.parent_id == building.id)
        .limit(2)
    ).all()
    assert len(rooms) == 2
    for room in rooms:
        page = worker.get(f"/cells/dwellings/{room.id}").get_data(as_text=True)
        assert f'href="/flags/{flags[0].id}"' in page


def test_out_of_scope_places_take_no_tip(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    elsewhere = _dwelling_in_cell(demo_db, 2)
    assert worker.get(f"/flags/places/{elsewhere.address_id}/tip").status_code == 404
    manager = log_in(demo_app, "manager1")
    mine = _dwelling_in_cell(demo_db, 1)
    assert manager.get(f"/flags/places/{mine.address_id}/tip").status_code == 404


# -- what a visit found, and the worker's "needs attention" --------------------------------


def test_a_visit_finding_raises_its_flag(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    dwelling = _dwelling_in_cell(demo_db, 1)
    url = f"/flags/dwellings/{dwelling.id}/visit"
    refused = post_form(
        worker,
        url,
        {"finding": "unregistered_occupants", "people": "", "observed_on": DEMO_TODAY.isoformat()},
    )
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True), "people") == ["Must be between 1 and 500"]
    response = post_form(
        worker,
        url,
        {"finding": "unregistered_occupants", "people": "4", "observed_on": DEMO_TODAY.isoformat()},
    )
    assert response.status_code == 302
    report = demo_db.scalar(select(VisitReport).order_by(VisitReport.id.desc()).limit(1))
    flag = demo_db.scalar(
        select(Flag).where(
            Flag.rule == RuleCode.VISIT_UNREGISTERED,
            Flag.dwelling_id == dwelling.id,
            Flag.state == "open",
        )
    )
    assert report.id in flag.facts["visit_report_ids"] and flag.facts["people"] == 4


def test_needs_attention_is_the_live_flags_of_the_cell(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    page = worker.get("/cells/?cell=1&show=attention").get_data(as_text=True)
    linked = set(re.findall(r'href="/flags/(\d+)"', page))
    live = demo_db.scalars(
        select(Flag.id)
        .join(Address, Address.id == Flag.address_id)
        .where(Address.grid_cell_id == 1, Flag.state.in_(("open", "in_review", "confirmed")))
    ).all()
    assert linked and linked <= {str(i) for i in live}


def test_pages_are_in_chinese_by_default(demo_app, demo_db):
    officer = log_in(demo_app, "officer1", lang=None)
    page = officer.get("/flags/").get_data(as_text=True)
    assert "预警" in page and "Flags" not in page
    flag = _flag_in_cell(demo_db, 1, RuleCode.OVER_CAPACITY)
    detail = officer.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert "居住人数超过核定人数" in detail and "核定人数" in detail


def test_a_report_dated_before_any_look_back_or_in_the_future_is_refused(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    dwelling = _dwelling_in_cell(demo_db, 1)
    earliest = (DEMO_TODAY - timedelta(days=730)).isoformat()
    for day, message in (
        ("1900-01-01", f"The earliest date accepted is {earliest}"),
        (
            (DEMO_TODAY - timedelta(days=731)).isoformat(),
            f"The earliest date accepted is {earliest}",
        ),
        ((DEMO_TODAY + timedelta(days=1)).isoformat(), "The date cannot be in the future"),
    ):
        tip = _tip(worker, dwelling.address_id, received_on=day)
        assert tip.status_code == 422
        assert field_errors(tip.get_data(as_text=True), "received_on") == [message]
        visit = post_form(
            worker,
            f"/flags/dwellings/{dwelling.id}/visit",
            {"finding": "group_renting_signs", "people": "", "observed_on": day},
        )
        assert visit.status_code == 422
        assert field_errors(visit.get_data(as_text=True), "observed_on") == [message]
    assert _tip(worker, dwelling.address_id, received_on=earliest).status_code == 302


def _flash(client, response) -> str:
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(re.findall(r'class="flash ok"[^>]*>(.*?)</', page, re.S))


def test_a_second_tip_says_it_was_added_to_the_flag_already_there(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    dwelling = _dwelling_in_cell(demo_db, 1)
    here = select(Flag.id).where(Flag.address_id == dwelling.address_id)
    demo_db.execute(FlagEvent.__table__.delete().where(FlagEvent.flag_id.in_(here)))
    demo_db.execute(Flag.__table__.delete().where(Flag.address_id == dwelling.address_id))
    demo_db.flush()
    first = _tip(worker, dwelling.address_id)
    assert "its flag is raised on the place" in _flash(worker, first)
    second = _tip(worker, dwelling.address_id, text="又来了很多人")
    assert "added to the flag already open on the place" in _flash(worker, second)
    old = (DEMO_TODAY - timedelta(days=200)).isoformat()
    aged = _tip(worker, dwelling.address_id, text="去年的投诉", received_on=old)
    assert "It raises no flag" in _flash(worker, aged)
    flags = demo_db.scalars(
        select(Flag).where(Flag.rule == RuleCode.TIP, Flag.address_id == dwelling.address_id)
    ).all()
    assert len(flags) == 1 and len(flags[0].facts["tip_ids"]) == 2


def test_an_absent_filing_reads_no_not_a_dash(demo_app, demo_db):
    flag = _flag_in_cell(demo_db, 1, RuleCode.RENTED_UNFILED)
    assert flag.facts["filing_id"] is None
    officer = log_in(demo_app, "officer1", lang=None)
    facts = officer.get(f"/flags/{flag.id}").get_data(as_text=True)
    facts = facts[facts.index('id="facts"') : facts.index("</dl>", facts.index('id="facts"'))]
    assert re.search(r"<dt>备案有效</dt><dd>否</dd>", facts), facts
    assert "—" not in facts.split("上一份备案")[0]
