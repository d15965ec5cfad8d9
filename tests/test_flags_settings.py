"""Rule settings: administrators' pages, history like the capacity rule had, one source of
the capacity thresholds, and concurrent saves decided as conflicts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from helpers import DEMO_TODAY, account, audit_entries, field_errors, log_in, token_of
from race import race
from sqlalchemy import func, select, text

from registry.address.models import Address
from registry.dwelling.status import current_rule
from registry.errors import Conflict
from registry.flags.models import Flag, FlagEvent, FlagEventKind, FlagState, RuleCode, RuleVersion
from registry.flags.rules import RULES, rules_in_force
from registry.flags.run import run_rules
from registry.flags.services import decide_flag, live_leads
from registry.flags.settings import RuleSettingsInput, newest_version, save_rule_version

CAPACITY_URL = "/admin/rules/over_capacity"


def _form(token: str, version, **values) -> dict:
    data = {
        "csrf_token": token,
        "enabled": "y",
        "priority": "1",
        "min_floor_area_per_person": "5",
        "max_people_per_room": "2",
        "band": "3",
        "valid_from": DEMO_TODAY.isoformat(),
        "note": "",
        "version": "" if version is None else str(version),
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def _versions(session) -> list[RuleVersion]:
    session.expire_all()
    return list(
        session.scalars(
            select(RuleVersion)
            .where(RuleVersion.rule == RuleCode.OVER_CAPACITY)
            .order_by(RuleVersion.id)
        )
    )


def test_the_rules_page_lists_every_rule_and_the_menu_has_it(admin_client):
    page = admin_client.get("/admin/rules/").get_data(as_text=True)
    assert 'href="/admin/rules/"' in page  # the menu item
    for rule in RULES:
        assert f'href="/admin/rules/{rule.code}"' in page
    assert "More occupants than the legal capacity" in page


def test_new_capacity_thresholds_keep_the_history(admin_client, demo_db):
    old = current_rule(demo_db, DEMO_TODAY)
    (first,) = _versions(demo_db)
    page = admin_client.get(CAPACITY_URL).get_data(as_text=True)
    assert "In force" in page and str(old.min_floor_area_per_person) in page

    token = token_of(admin_client, CAPACITY_URL)
    response = admin_client.post(
        CAPACITY_URL,
        data=_form(
            token, first.id, min_floor_area_per_person="8.5", max_people_per_room="3", note="新标准"
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    versions = _versions(demo_db)
    assert [v.id for v in versions[:1]] == [first.id] and len(versions) == 2
    assert versions[0].settings == first.settings  # untouched
    new = versions[1]
    assert new.based_on_id == first.id and new.note == "新标准"
    thresholds = current_rule(demo_db, DEMO_TODAY)
    assert (thresholds.min_floor_area_per_person, thresholds.max_people_per_room) == (
        Decimal("8.50"),
        3,
    )
    assert audit_entries(demo_db, "rule_version", new.id, "create")

    page = admin_client.get(CAPACITY_URL).get_data(as_text=True)
    assert "Superseded" in page and "新标准" in page

    later = (DEMO_TODAY + timedelta(days=30)).isoformat()
    token = token_of(admin_client, CAPACITY_URL)
    response = admin_client.post(
        CAPACITY_URL, data=_form(token, new.id, min_floor_area_per_person="10", valid_from=later)
    )
    assert response.status_code == 302
    assert "Scheduled" in admin_client.get(CAPACITY_URL).get_data(as_text=True)
    assert current_rule(demo_db, DEMO_TODAY).min_floor_area_per_person == Decimal("8.50")


def test_setting_errors_name_their_fields_and_keep_the_input(admin_client, demo_db):
    (first,) = _versions(demo_db)
    token = token_of(admin_client, CAPACITY_URL)
    response = admin_client.post(
        CAPACITY_URL,
        data=_form(
            token,
            first.id,
            min_floor_area_per_person="-1",
            max_people_per_room="2.5",
            band="",
            priority="12",
            valid_from=(DEMO_TODAY - timedelta(days=1)).isoformat(),
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html, "min_floor_area_per_person") == ["Must be between 0.01 and 200"]
    assert field_errors(html, "max_people_per_room") == ["Enter a whole number"]
    assert field_errors(html, "band") == ["This field is required"]
    assert field_errors(html, "priority") == ["Must be between 1 and 9"]
    assert field_errors(html, "valid_from") == ["New settings cannot start in the past"]
    assert 'value="2.5"' in html
    assert len(_versions(demo_db)) == 1


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        ("min_floor_area_per_person", "1e400", "Must be between 0.01 and 200"),
        ("min_floor_area_per_person", "-1e400", "Must be between 0.01 and 200"),
        ("min_floor_area_per_person", "1e-400", "Must be between 0.01 and 200"),
        ("min_floor_area_per_person", "NaN", "Enter a number"),
        ("max_people_per_room", "99999999999999999999", "Must be between 1 and 50"),
        ("max_people_per_room", "1e5", "Must be between 1 and 50"),
        ("max_people_per_room", "1e400", "Must be between 1 and 50"),
        ("band", "２.５", "Enter a whole number"),
    ],
)
def test_any_number_gets_a_field_error_never_a_crash(admin_client, demo_db, name, typed, message):
    (first,) = _versions(demo_db)
    token = token_of(admin_client, CAPACITY_URL)
    response = admin_client.post(CAPACITY_URL, data=_form(token, first.id, **{name: typed}))
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True), name) == [message]
    assert len(_versions(demo_db)) == 1


def test_full_width_digits_from_an_ime_count(admin_client, demo_db):
    (first,) = _versions(demo_db)
    token = token_of(admin_client, CAPACITY_URL)
    typed = {"min_floor_area_per_person": "７．５", "max_people_per_room": "３"}
    response = admin_client.post(CAPACITY_URL, data=_form(token, first.id, **typed))
    assert response.status_code == 302, response.get_data(as_text=True)
    thresholds = current_rule(demo_db, DEMO_TODAY)
    assert (thresholds.min_floor_area_per_person, thresholds.max_people_per_room) == (
        Decimal("7.50"),
        3,
    )


def test_switching_a_rule_off_from_its_page(admin_client, demo_db):
    url = "/admin/rules/pledge_missing"
    token = token_of(admin_client, url)
    response = admin_client.post(
        url,
        data={
            "csrf_token": token,
            "priority": "5",
            "grace_days": "14",
            "valid_from": DEMO_TODAY.isoformat(),
            "version": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    config = rules_in_force(demo_db, DEMO_TODAY)[RuleCode.PLEDGE_MISSING]
    assert not config.enabled and config.version_id is not None


def test_a_save_based_on_an_older_version_is_a_conflict(admin_client, demo_db):
    (first,) = _versions(demo_db)
    token = token_of(admin_client, CAPACITY_URL)
    mine = _form(token, first.id, min_floor_area_per_person="7")
    theirs = _form(token, first.id, min_floor_area_per_person="6")
    assert admin_client.post(CAPACITY_URL, data=theirs).status_code == 302
    response = admin_client.post(CAPACITY_URL, data=mine)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "6.00" in html and 'value="7"' in html
    assert len(_versions(demo_db)) == 2


def test_only_administrators_reach_the_rule_pages(demo_app):
    for username in ("officer1", "grid0001", "manager1"):
        client = log_in(demo_app, username)
        assert client.get("/admin/rules/").status_code == 404
        assert client.get(CAPACITY_URL).status_code == 404


def test_an_unknown_rule_is_not_found(admin_client):
    assert admin_client.get("/admin/rules/no_such_rule").status_code == 404


def test_two_administrators_saving_at_once_one_gets_a_conflict(race_sessions):
    with race_sessions() as session:
        based_on = newest_version(session, RuleCode.OVER_CAPACITY).id

    def work(session):
        data = RuleSettingsInput(
            enabled="y",
            priority="1",
            values={"min_floor_area_per_person": "6", "max_people_per_room": "2", "band": "3"},
            valid_from=DEMO_TODAY.isoformat(),
        )
        return save_rule_version(
            session,
            account(session, "admin"),
            RuleCode.OVER_CAPACITY,
            data,
            based_on,
            DEMO_TODAY,
        )

    first, second = race(race_sessions, work)
    assert first.succeeded
    assert isinstance(second.error, Conflict)
    with race_sessions() as session:
        assert (
            session.scalar(select(func.count()).where(RuleVersion.rule == RuleCode.OVER_CAPACITY))
            == 2
        )


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_every_rule_has_a_page_that_saves(admin_client, demo_db, rule):
    url = f"/admin/rules/{rule.code}"
    page = admin_client.get(url)
    assert page.status_code == 200
    newest = newest_version(demo_db, rule.code)
    config = rules_in_force(demo_db, DEMO_TODAY)[rule.code]
    data = {
        "csrf_token": token_of(admin_client, url),
        "enabled": "y",
        "priority": "2",
        "valid_from": DEMO_TODAY.isoformat(),
        "version": str(newest.id) if newest else "",
    }
    for setting in rule.settings:
        value = config.values[setting.name]
        if setting.kind == "boolean":
            if value:
                data[setting.name] = "y"
        elif setting.kind == "rules":
            data[setting.name] = list(value)
        else:
            data[setting.name] = str(value)
    assert admin_client.post(url, data=data).status_code == 302
    assert rules_in_force(demo_db, DEMO_TODAY)[rule.code].priority == 2


# -- a version in force today applies to the flags at once ---------------------------------

PLEDGE_URL = "/admin/rules/pledge_missing"


def _pledge_form(token: str, version, **values) -> dict:
    data = {
        "csrf_token": token,
        "enabled": "y",
        "priority": "5",
        "grace_days": "14",
        "valid_from": DEMO_TODAY.isoformat(),
        "version": "" if version is None else str(version),
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def _pledge_flags(session) -> dict[str, int]:
    session.expire_all()
    rows = session.execute(
        select(Flag.state, func.count())
        .where(Flag.rule == RuleCode.PLEDGE_MISSING)
        .group_by(Flag.state)
    ).all()
    return {str(state): count for state, count in rows}


def _save_pledge_rule(admin_client, demo_db, **values):
    newest = newest_version(demo_db, RuleCode.PLEDGE_MISSING)
    token = token_of(admin_client, PLEDGE_URL)
    response = admin_client.post(
        PLEDGE_URL, data=_pledge_form(token, newest.id if newest else None, **values)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return admin_client.get(PLEDGE_URL).get_data(as_text=True)


def test_switching_a_rule_off_today_withdraws_its_flags_at_once_and_on_raises_them(
    admin_client, demo_app, demo_db
):
    before = _pledge_flags(demo_db)
    assert before.get("open", 0) >= 2
    first, second = demo_db.scalars(
        select(Flag)
        .where(Flag.rule == RuleCode.PLEDGE_MISSING, Flag.state == FlagState.OPEN)
        .order_by(Flag.id)
        .limit(2)
    ).all()
    officer = account(demo_db, "officer1")
    for step in ("in_review", "confirmed"):
        demo_db.refresh(first)
        decide_flag(demo_db, officer, first.id, step, "房东拒签", first.version, DEMO_TODAY)
    demo_db.refresh(second)
    decide_flag(demo_db, officer, second.id, "in_review", "约房东", second.version, DEMO_TODAY)
    demo_db.flush()
    to_withdraw = before["open"] - 1  # the open ones and the one in review

    page = _save_pledge_rule(admin_client, demo_db, enabled=None)
    assert f"{to_withdraw} withdrawn" in page
    assert "Confirmed flags stay until a person resolves them" in page
    after = _pledge_flags(demo_db)
    assert "open" not in after and "in_review" not in after
    assert after["confirmed"] == 1  # a person decided: a person resolves it
    withdrawn = demo_db.scalars(
        select(FlagEvent.flag_id).where(FlagEvent.kind == FlagEventKind.RULE_OFF)
    ).all()
    assert len(withdrawn) == to_withdraw and second.id in withdrawn

    # Nowhere seen as a lead any more: the officers' list, the worker's list, the sweeps.
    officer_client = log_in(demo_app, "officer1")
    listed = officer_client.get("/flags/?rule=pledge_missing").get_data(as_text=True)
    assert "No flag matches." in listed
    cells = select(Address.id)
    assert not [
        row
        for row in demo_db.execute(live_leads(demo_db, DEMO_TODAY, cells))
        if any(check["rule"] == RuleCode.PLEDGE_MISSING for check in row.checks)
    ]

    page = _save_pledge_rule(admin_client, demo_db)
    assert f"{to_withdraw} raised" in page
    assert _pledge_flags(demo_db).get("open") == to_withdraw


def test_settings_from_a_later_day_say_so_and_leave_the_flags_until_then(admin_client, demo_db):
    before = _pledge_flags(demo_db)
    later = DEMO_TODAY + timedelta(days=3)
    page = _save_pledge_rule(admin_client, demo_db, enabled=None, valid_from=later.isoformat())
    assert "They take effect on" in page and "nightly rule run" in page
    assert "takes effect on" in page  # the scheduled row of the history
    assert _pledge_flags(demo_db) == before


def test_a_threshold_changed_today_raises_and_resolves_at_once(admin_client, demo_db):
    before = _pledge_flags(demo_db)
    _save_pledge_rule(admin_client, demo_db, grace_days="365")
    after = _pledge_flags(demo_db)
    assert after.get("open", 0) < before["open"]
    assert after["resolved"] - before.get("resolved", 0) == before["open"] - after.get("open", 0)


def _typed_pledges_without_flag(session) -> int:
    """A current filing signed in full, both pledges re-recorded as typed: its address."""
    row = session.execute(
        text("""
        SELECT f.id, d.address_id FROM lease_filing f JOIN dwelling d ON d.id = f.dwelling_id
        WHERE f.starts_on <= :cutoff AND f.ends_on >= :today
          AND EXISTS (SELECT 1 FROM rental_pledge p WHERE p.lease_filing_id = f.id)
          AND EXISTS (SELECT 1 FROM security_guarantee g WHERE g.lease_filing_id = f.id)
        ORDER BY f.id LIMIT 1"""),
        {"today": DEMO_TODAY, "cutoff": DEMO_TODAY - timedelta(days=30)},
    ).one()
    for table in ("rental_pledge", "security_guarantee"):
        session.execute(
            text(
                f"UPDATE {table} SET signing_method = 'typed', typed_name = signer_name, "
                "signature_png = NULL WHERE lease_filing_id = :f"
            ),
            {"f": row.id},
        )
    run_rules(session, DEMO_TODAY, address_ids=[row.address_id])
    return row.address_id


def test_switching_typed_signatures_runs_the_pledge_rule_again_at_once(admin_client, demo_db):
    address_id = _typed_pledges_without_flag(demo_db)

    def pledge_flag_states():
        demo_db.expire_all()
        return demo_db.scalars(
            select(Flag.state)
            .where(Flag.rule == RuleCode.PLEDGE_MISSING, Flag.address_id == address_id)
            .order_by(Flag.id)
        ).all()

    assert pledge_flag_states() == [FlagState.OPEN]  # a typed signature does not count yet
    for counts, expected in (
        ("y", [FlagState.RESOLVED]),
        (None, [FlagState.RESOLVED, FlagState.OPEN]),
    ):
        data = {"csrf_token": token_of(admin_client, "/admin/settings")}
        if counts:
            data["typed_signature_counts"] = counts
        assert admin_client.post("/admin/settings", data=data).status_code == 302
        assert pledge_flag_states() == expected
