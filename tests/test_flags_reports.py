"""Report rules (tips, visit findings) and the recent-case rule; `registry flags run` and
`registry bench flags`."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from helpers import DEMO_TODAY, account, building_of_cell, field_errors, point_in_cell, token_of
from sqlalchemy import func, select, text
from test_flags_run import decide, flags_here, quiet_dwelling, run_here, save_version

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.address.services import AddressInput, create_address
from registry.clock import deployment_zone, start_of_day
from registry.db import make_engine
from registry.dwelling.models import Dwelling, Occupancy
from registry.errors import NotFound
from registry.flags.models import Flag, FlagEvent, FlagEventKind, FlagState, RuleCode, RuleVersion
from registry.flags.reports import (
    TipInput,
    VisitInput,
    record_finding_at,
    record_tip,
    record_visit_report,
)
from registry.flags.rules import DEFAULT_CASE_RULES, rules_in_force
from registry.flags.run import RunResult, run_rules
from registry.flags.services import flags_at
from registry.flags.settings import newest_version


def _tip(session, actor, address_id: int, text_: str = "楼上人很多", days_ago: int = 0):
    data = TipInput(
        kind="complaint",
        source="hotline",
        text=text_,
        received_on=(DEMO_TODAY - timedelta(days=days_ago)).isoformat(),
    )
    tip, _flag = record_tip(session, actor, address_id, data, DEMO_TODAY)
    return tip


def test_a_second_tip_updates_the_open_flag_and_a_dismissed_one_returns_with_a_new_tip(
    demo_session, worker
):
    dwelling = quiet_dwelling(demo_session)
    first = _tip(demo_session, worker, dwelling.address_id)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.TIP)
    assert flag.facts["tip_ids"] == [first.id] and flag.fact_key == str(first.id)
    second = _tip(demo_session, worker, dwelling.address_id, "又来了很多人")
    (flag,) = flags_here(demo_session, dwelling, RuleCode.TIP)
    assert flag.facts["tip_ids"] == [first.id, second.id]

    decide(demo_session, flag, "in_review", "dismissed", reason="亲戚聚会")
    assert run_here(demo_session, dwelling) == RunResult()  # the same tips: no nagging
    _tip(demo_session, worker, dwelling.address_id, "第三次")
    flags = flags_here(demo_session, dwelling, RuleCode.TIP)
    assert [f.state for f in flags] == [FlagState.DISMISSED, FlagState.OPEN]


def test_report_flags_wait_for_a_person_when_the_report_ages(demo_session, worker):
    dwelling = quiet_dwelling(demo_session)
    _tip(demo_session, worker, dwelling.address_id, days_ago=85)
    later = DEMO_TODAY + timedelta(days=30)  # past the 90 days' look-back
    assert run_here(demo_session, dwelling, later) == RunResult()
    (flag,) = flags_here(demo_session, dwelling, RuleCode.TIP)
    assert flag.state == FlagState.OPEN


def test_tips_outside_the_look_back_raise_nothing(demo_session, worker):
    dwelling = quiet_dwelling(demo_session)
    _tip(demo_session, worker, dwelling.address_id, days_ago=120)
    assert flags_here(demo_session, dwelling, RuleCode.TIP) == []


def test_a_tip_on_a_room_address_without_a_dwelling_is_not_found(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    lon, lat = point_in_cell(demo_session, 1)
    room = create_address(
        demo_session,
        worker,
        AddressInput(
            road_id=building.road_id,
            door_number=building.door_number,
            building=building.building,
            entrance="9",
            room="901",
            lon=lon,
            lat=lat,
        ),
    )
    with pytest.raises(NotFound):
        _tip(demo_session, worker, room.id)


def test_a_building_flag_is_shown_on_its_dwellings_not_on_other_buildings(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    _tip(demo_session, worker, building.id)
    room = demo_session.scalar(select(Address).where(Address.parent_id == building.id).limit(1))
    shown = flags_at(demo_session, worker, room, DEMO_TODAY)
    assert [row.flag.rule for row in shown if row.flag.dwelling_id is None] == [RuleCode.TIP]
    other = demo_session.scalar(
        select(Address)
        .where(Address.grid_cell_id == 1, Address.parent_id.is_not(None))
        .where(Address.parent_id != building.id)
        .limit(1)
    )
    assert not [
        r
        for r in flags_at(demo_session, worker, other, DEMO_TODAY)
        if r.flag.dwelling_id is None and r.flag.address_id == building.id
    ]


def test_visit_findings_raise_the_visit_rules(demo_session, worker):
    dwelling = quiet_dwelling(demo_session)
    seen = VisitInput("group_renting_signs", "", DEMO_TODAY.isoformat(), "上下铺")
    _report, result = record_visit_report(demo_session, worker, dwelling.id, seen, DEMO_TODAY)
    assert result.raised == 1
    (flag,) = flags_here(demo_session, dwelling, RuleCode.VISIT_GROUP_RENTING)
    assert flag.facts["people"] is None
    save_version(demo_session, RuleCode.VISIT_UNREGISTERED, settings={"min_people": 3})
    few = VisitInput("unregistered_occupants", "2", DEMO_TODAY.isoformat())
    _report, result = record_visit_report(demo_session, worker, dwelling.id, few, DEMO_TODAY)
    assert result.raised == 0  # fewer than the rule's minimum


@pytest.mark.parametrize("whole_building", [False, True])
def test_a_recent_confirmed_case_flags_its_place_again(demo_session, worker, whole_building):
    save_version(
        demo_session,
        RuleCode.RECENT_CASE,
        settings={"look_back_days": 180, "whole_building": whole_building},
    )
    dwelling = quiet_dwelling(demo_session)
    _tip(demo_session, worker, dwelling.address_id)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.TIP)
    decide(demo_session, flag, "in_review", "confirmed", "resolved", reason="群租已清理")
    (case,) = flags_here(demo_session, dwelling, RuleCode.RECENT_CASE)
    assert case.state == FlagState.OPEN and case.facts["case_flag_ids"] == [flag.id]
    neighbour = demo_session.scalar(
        select(Dwelling)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.parent_id == dwelling.address.parent_id, Dwelling.id != dwelling.id)
        .limit(1)
    )
    assert bool(flags_here(demo_session, neighbour, RuleCode.RECENT_CASE)) == whole_building
    # Half a year later the case is no longer recent: the flag resolves itself.
    later = DEMO_TODAY + timedelta(days=181)
    assert run_here(demo_session, dwelling, later).resolved >= 1


def test_registry_flags_run_runs_every_rule_once(race_database, monkeypatch, tmp_path):
    from registry.cli import main

    monkeypatch.setenv("DATABASE_URL", race_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    engine = make_engine(race_database)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM flag_event"))
        raised = connection.execute(text("DELETE FROM flag")).rowcount
    result = CliRunner().invoke(main, ["flags", "run", "--date", DEMO_TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"flags for {DEMO_TODAY.isoformat()}: {raised} raised" in result.output
    again = CliRunner().invoke(main, ["flags", "run", "--date", DEMO_TODAY.isoformat()])
    assert ": 0 raised, 0 updated, 0 resolved" in again.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM flag")).scalar_one() == raised
    engine.dispose()


def test_registry_bench_flags_prints_the_run_and_the_count_and_changes_nothing(
    race_database, monkeypatch, tmp_path
):
    from registry.cli import main
    from registry.sweeps import bench

    # The sweeps' plan half follows the rule run; shrunk to the small demo's cells.
    monkeypatch.setattr(bench, "AREAS", 1)
    monkeypatch.setattr(bench, "CELLS_PER_AREA", 3)
    monkeypatch.setenv("DATABASE_URL", race_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    engine = make_engine(race_database)
    with engine.connect() as connection:
        before = connection.execute(text("SELECT count(*), max(id) FROM flag")).one()
    result = CliRunner().invoke(main, ["bench", "flags", "--size", "small"])
    assert result.exit_code == 0, result.output
    assert "full run:" in result.output and "SELECT count(*) of the same joins" in result.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*), max(id) FROM flag")).one() == before
    refused = CliRunner().invoke(main, ["bench", "flags", "--size", "large"])
    assert refused.exit_code != 0 and "load it first" in refused.output
    engine.dispose()


def test_officers_may_record_tips_but_property_managers_may_not(demo_session):
    dwelling = quiet_dwelling(demo_session)
    _tip(demo_session, account(demo_session, "officer1"), dwelling.address_id)
    with pytest.raises(NotFound):
        _tip(demo_session, account(demo_session, "manager1"), dwelling.address_id)
    assert (
        demo_session.scalar(
            select(func.count()).where(Flag.address_id == dwelling.address_id, Flag.rule == "tip")
        )
        == 1
    )
    assert run_rules(demo_session, DEMO_TODAY, address_ids=[]) == RunResult()


def test_a_sweep_team_member_records_a_finding_at_a_stop_through_the_sweeps(demo_session):
    """Outside their usual scope the visit form refuses them; the sweeps, having checked
    the stop, record through record_finding_at, and the visit rule raises its flag."""
    member = demo_session.scalar(
        select(UserAccount).where(UserAccount.role == Role.SWEEP_TEAM_MEMBER).limit(1)
    )
    dwelling = quiet_dwelling(demo_session)
    data = VisitInput("group_renting_signs", "", DEMO_TODAY.isoformat(), "上下铺")
    with pytest.raises(NotFound):
        record_visit_report(demo_session, member, dwelling.id, data, DEMO_TODAY)
    report, result = record_finding_at(demo_session, member, dwelling, data, DEMO_TODAY)
    assert report.recorded_by_id == member.id and result.raised == 1
    (flag,) = flags_here(demo_session, dwelling, RuleCode.VISIT_GROUP_RENTING)
    assert flag.state == FlagState.OPEN and report.id in flag.facts["visit_report_ids"]


def _paperwork_case(session):
    """A rented dwelling with no filing whose flag an officer confirmed and then resolved
    (the landlord filed late, say): a paperwork lapse, closed."""
    dwelling = quiet_dwelling(session, Occupancy.RENTED)
    run_here(session, dwelling)
    (flag,) = flags_here(session, dwelling, RuleCode.RENTED_UNFILED)
    decide(session, flag, "in_review", "confirmed", "resolved", reason="已督促补办备案")
    return dwelling, flag


def test_a_resolved_paperwork_lapse_is_not_a_recent_case(demo_session):
    dwelling, _flag = _paperwork_case(demo_session)
    assert flags_here(demo_session, dwelling, RuleCode.RECENT_CASE) == []
    assert run_rules(demo_session, DEMO_TODAY).raised == 0


def test_what_counts_as_a_case_is_a_setting_and_flags_of_an_earlier_choice_resolve(
    demo_session,
):
    everything = [str(code) for code in RuleCode if code != RuleCode.RECENT_CASE]
    save_version(demo_session, RuleCode.RECENT_CASE, settings={"case_rules": everything})
    dwelling, flag = _paperwork_case(demo_session)
    (case,) = flags_here(demo_session, dwelling, RuleCode.RECENT_CASE)
    assert case.state == FlagState.OPEN and case.facts["case_flag_ids"] == [flag.id]

    # A version saved before the setting existed counts the default rules only: the flag
    # raised on the paperwork case resolves itself at the next run.
    newest = newest_version(demo_session, RuleCode.RECENT_CASE)
    demo_session.add(
        RuleVersion(
            rule=RuleCode.RECENT_CASE,
            enabled=True,
            priority=3,
            settings={"look_back_days": 180, "whole_building": False},
            valid_from=start_of_day(DEMO_TODAY, deployment_zone()),
            based_on_id=newest.id,
        )
    )
    demo_session.flush()
    assert run_rules(demo_session, DEMO_TODAY).resolved == 1
    (case,) = flags_here(demo_session, dwelling, RuleCode.RECENT_CASE)
    assert case.state == FlagState.RESOLVED and case.decided_by_id is None
    kinds = demo_session.scalars(select(FlagEvent.kind).where(FlagEvent.flag_id == case.id))
    assert FlagEventKind.NO_LONGER_HOLDS in set(kinds)


def test_the_case_rules_are_chosen_on_the_rules_page_with_history(admin_client, demo_db):
    url = "/admin/rules/recent_case"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'id="rule-description"' in page and "Paperwork" in page
    ticked = {
        re.search(r'value="(\w+)"', box).group(1)
        for box in re.findall(r'<input [^>]*name="case_rules"[^>]*>', page)
        if " checked" in box
    }
    assert ticked == set(DEFAULT_CASE_RULES)
    assert 'value="recent_case"' not in page  # a case of a case would feed itself

    def post(**values):
        newest = newest_version(demo_db, RuleCode.RECENT_CASE)
        data = {
            "csrf_token": token_of(admin_client, url),
            "enabled": "y",
            "priority": "3",
            "look_back_days": "180",
            "valid_from": DEMO_TODAY.isoformat(),
            "version": str(newest.id) if newest else "",
        }
        data.update(values)
        return admin_client.post(url, data=data)

    refused = post()
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True), "case_rules") == ["Choose at least one"]
    odd = post(case_rules=["tip", "no_such_rule"])
    assert field_errors(odd.get_data(as_text=True), "case_rules") == [
        "Choose one of the listed values"
    ]
    assert post(case_rules=["tip", "over_capacity"]).status_code == 302
    config = rules_in_force(demo_db, DEMO_TODAY)[RuleCode.RECENT_CASE]
    assert config["case_rules"] == ("over_capacity", "tip")
    assert newest_version(demo_db, RuleCode.RECENT_CASE).settings["case_rules"] == [
        "over_capacity",
        "tip",
    ]
    history = admin_client.get(url).get_data(as_text=True)
    assert (
        "More occupants than the legal capacity and Tip or complaint about the address" in history
    )
