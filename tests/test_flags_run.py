"""The rule run: raising, updating, self-resolution, no nagging, switched-off rules, and the
one-live-flag constraint under a real race."""

from __future__ import annotations

from datetime import date, timedelta

from helpers import DEMO_TODAY, account
from race import race
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from registry.address.models import Address
from registry.clock import deployment_zone, start_of_day
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import current_rule, legal_capacity
from registry.flags.models import (
    Flag,
    FlagEvent,
    FlagEventKind,
    FlagState,
    RuleCode,
    RuleVersion,
)
from registry.flags.run import RunResult, run_rules
from registry.flags.services import decide_flag
from registry.flags.settings import newest_version
from registry.person.models import Person, Relationship, Residence, ResidenceKind
from registry.validators import DocumentType

# -- arranging facts -----------------------------------------------------------------------


def quiet_dwelling(session: Session, occupancy: Occupancy = Occupancy.OWNER_OCCUPIED) -> Dwelling:
    """A dwelling of the demo's cell 1 where nobody lives and nothing was filed, made
    ``occupancy`` and cleared of flags: no rule holds there until a test says so."""
    dwelling = session.scalar(
        select(Dwelling)
        .join(Address, Address.id == Dwelling.address_id)
        .where(
            Address.grid_cell_id == 1,
            ~select(Residence.id).where(Residence.dwelling_id == Dwelling.id).exists(),
            text("NOT EXISTS (SELECT 1 FROM lease_filing f WHERE f.dwelling_id = dwelling.id)"),
        )
        .order_by(Dwelling.id)
        .limit(1)
    )
    assert dwelling is not None
    dwelling.occupancy = occupancy
    here = select(Flag.id).where(Flag.address_id == dwelling.address_id)
    session.execute(delete(FlagEvent).where(FlagEvent.flag_id.in_(here)))
    session.execute(delete(Flag).where(Flag.address_id == dwelling.address_id))
    session.flush()
    return dwelling


def move_people_in(
    session: Session,
    dwelling: Dwelling,
    count: int,
    moved_in: date = DEMO_TODAY - timedelta(days=200),
    relationship: Relationship = Relationship.OWNER_FAMILY,
) -> list[Residence]:
    """``count`` new people living in ``dwelling`` since ``moved_in`` (no rules run)."""
    stays = []
    for number in range(count):
        person = Person(name=f"住户{number}", document_type=DocumentType.PASSPORT)
        session.add(person)
        session.flush()
        stay = Residence(
            person_id=person.id,
            dwelling_id=dwelling.id,
            moved_in=moved_in,
            kind=ResidenceKind.TRANSIENT,
            relationship_to_dwelling=relationship,
        )
        session.add(stay)
        stays.append(stay)
    session.flush()
    return stays


def capacity_of(session: Session, dwelling: Dwelling) -> int:
    return legal_capacity(dwelling.floor_area, dwelling.rooms, current_rule(session, DEMO_TODAY))


def flags_here(session: Session, dwelling: Dwelling, rule: str | None = None) -> list[Flag]:
    session.expire_all()
    query = select(Flag).where(Flag.address_id == dwelling.address_id).order_by(Flag.id)
    if rule:
        query = query.where(Flag.rule == rule)
    return list(session.scalars(query))


def run_here(session: Session, dwelling: Dwelling, today: date = DEMO_TODAY) -> RunResult:
    return run_rules(session, today, address_ids=[dwelling.address_id])


def save_version(session: Session, rule: str, **changes) -> RuleVersion:
    """A new version of ``rule``'s settings, in force from the demo's day."""
    base = newest_version(session, rule)
    settings = dict(base.settings) if base else {}
    settings.update(changes.pop("settings", {}))
    version = RuleVersion(
        rule=rule,
        enabled=changes.get("enabled", True),
        priority=changes.get("priority", 3),
        settings=settings,
        valid_from=start_of_day(changes.get("valid_from", DEMO_TODAY), deployment_zone()),
        based_on_id=base.id if base else None,
    )
    session.add(version)
    session.flush()
    return version


def decide(session: Session, flag: Flag, *steps: str, reason: str = "核实") -> Flag:
    officer = account(session, "officer1")
    for step in steps:
        session.refresh(flag)
        flag = decide_flag(session, officer, flag.id, step, reason, flag.version, DEMO_TODAY)
    return flag


# -- the district run ----------------------------------------------------------------------


def test_the_demo_district_comes_with_its_flags_and_a_second_run_changes_nothing(demo_session):
    counts = dict(demo_session.execute(select(Flag.rule, func.count()).group_by(Flag.rule)).all())
    for rule in (
        RuleCode.RENTED_UNFILED,
        RuleCode.FILING_ENDED_OCCUPIED,
        RuleCode.PLEDGE_MISSING,
        RuleCode.OVER_CAPACITY,
    ):
        assert counts.get(rule, 0) > 0, rule
    events = demo_session.scalar(select(func.count()).select_from(FlagEvent))
    assert events == sum(counts.values())  # one "raised" event each
    assert run_rules(demo_session, DEMO_TODAY) == RunResult()


def test_a_flag_records_its_rule_place_facts_and_when(demo_session):
    flag = demo_session.scalar(
        select(Flag).where(Flag.rule == RuleCode.OVER_CAPACITY).order_by(Flag.id).limit(1)
    )
    dwelling = demo_session.get(Dwelling, flag.dwelling_id)
    assert flag.address_id == dwelling.address_id
    assert flag.state == FlagState.OPEN and flag.raised_on == DEMO_TODAY
    assert flag.facts["capacity"] == capacity_of(demo_session, dwelling)
    assert flag.facts["occupants"] > flag.facts["capacity"]
    assert flag.rule_version_id == newest_version(demo_session, RuleCode.OVER_CAPACITY).id
    assert flag.decided_at is None and flag.decided_by_id is None


# -- raised, updated, resolved by the system -----------------------------------------------


def test_over_capacity_is_raised_updated_and_resolves_itself(demo_session):
    dwelling = quiet_dwelling(demo_session)
    capacity = capacity_of(demo_session, dwelling)
    stays = move_people_in(demo_session, dwelling, capacity + 1)
    assert run_here(demo_session, dwelling).raised == 1
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    assert (flag.facts["occupants"], flag.facts["capacity"]) == (capacity + 1, capacity)
    key = flag.fact_key

    # Three more people: the same band of 3 above capacity is a new fact key.
    stays += move_people_in(demo_session, dwelling, 3)
    assert run_here(demo_session, dwelling) == RunResult(updated=1)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    assert flag.fact_key != key and flag.facts["occupants"] == capacity + 4

    for stay in stays[capacity:]:
        stay.moved_out = DEMO_TODAY - timedelta(days=1)
    assert run_here(demo_session, dwelling) == RunResult(resolved=1)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    assert flag.state == FlagState.RESOLVED and flag.decided_by_id is None
    event = flag.events[-1]
    assert event.kind == FlagEventKind.NO_LONGER_HOLDS and event.actor_id is None
    assert event.from_state == FlagState.OPEN
    assert event.facts_before["occupants"] == capacity + 4
    assert event.facts_after["occupants"] == capacity  # the facts that changed


def test_a_confirmed_flag_stays_until_a_person_resolves_it(demo_session):
    dwelling = quiet_dwelling(demo_session)
    stays = move_people_in(demo_session, dwelling, capacity_of(demo_session, dwelling) + 1)
    run_here(demo_session, dwelling)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    flag = decide(demo_session, flag, "in_review", "confirmed")
    for stay in stays:
        stay.moved_out = DEMO_TODAY
    assert run_here(demo_session, dwelling) == RunResult()
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    assert flag.state == FlagState.CONFIRMED
    flag = decide(demo_session, flag, "resolved", reason="已清退")
    assert flag.state == FlagState.RESOLVED and flag.decision_reason == "已清退"


def test_a_flag_in_review_resolves_itself_too(demo_session):
    dwelling = quiet_dwelling(demo_session)
    stays = move_people_in(demo_session, dwelling, capacity_of(demo_session, dwelling) + 1)
    run_here(demo_session, dwelling)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    decide(demo_session, flag, "in_review")
    stays[0].moved_out = DEMO_TODAY
    assert run_here(demo_session, dwelling).resolved == 1
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    assert flag.state == FlagState.RESOLVED
    assert flag.events[-1].from_state == FlagState.IN_REVIEW


# -- no nagging ----------------------------------------------------------------------------


def test_a_dismissed_flag_is_not_raised_again_until_its_fact_key_changes(demo_session):
    dwelling = quiet_dwelling(demo_session)
    capacity = capacity_of(demo_session, dwelling)
    move_people_in(demo_session, dwelling, capacity + 1)
    run_here(demo_session, dwelling)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    decide(demo_session, flag, "in_review", "dismissed", reason="亲属临时探访")
    assert run_here(demo_session, dwelling) == RunResult()
    assert run_rules(demo_session, DEMO_TODAY + timedelta(days=30)).raised >= 0
    assert len(flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)) == 1

    move_people_in(demo_session, dwelling, 1)  # still the first band above capacity
    assert run_here(demo_session, dwelling) == RunResult()
    move_people_in(demo_session, dwelling, 2)  # the next band: a new fact
    assert run_here(demo_session, dwelling).raised == 1
    flags = flags_here(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    assert [f.state for f in flags] == [FlagState.DISMISSED, FlagState.OPEN]


def test_a_flag_the_system_resolved_comes_back_when_the_facts_do(demo_session):
    dwelling = quiet_dwelling(demo_session)
    stays = move_people_in(demo_session, dwelling, capacity_of(demo_session, dwelling) + 1)
    run_here(demo_session, dwelling)
    stays[0].moved_out = DEMO_TODAY
    run_here(demo_session, dwelling)
    stays[0].moved_out = None
    assert run_here(demo_session, dwelling).raised == 1


# -- rules switched off, settings in force -------------------------------------------------


def test_switching_a_rule_off_withdraws_its_open_flags_and_raises_none(demo_session):
    live = demo_session.scalar(
        select(func.count()).where(Flag.rule == RuleCode.PLEDGE_MISSING, Flag.state == "open")
    )
    assert live > 0
    save_version(demo_session, RuleCode.PLEDGE_MISSING, enabled=False)
    result = run_rules(demo_session, DEMO_TODAY)
    assert result == RunResult(withdrawn=live)
    kinds = demo_session.scalars(
        select(FlagEvent.kind)
        .join(Flag, Flag.id == FlagEvent.flag_id)
        .where(Flag.rule == RuleCode.PLEDGE_MISSING, FlagEvent.kind != FlagEventKind.RAISED)
    ).all()
    assert set(kinds) == {FlagEventKind.RULE_OFF}


def test_settings_saved_for_a_later_day_do_not_apply_yet(demo_session):
    dwelling = quiet_dwelling(demo_session)
    move_people_in(demo_session, dwelling, capacity_of(demo_session, dwelling) + 1)
    save_version(
        demo_session,
        RuleCode.OVER_CAPACITY,
        enabled=False,
        valid_from=DEMO_TODAY + timedelta(days=1),
    )
    assert run_here(demo_session, dwelling).raised == 1
    assert run_here(demo_session, dwelling, DEMO_TODAY + timedelta(days=1)).withdrawn == 1


def test_grace_days_are_the_rules_settings(demo_session):
    filing = demo_session.execute(
        text("""
        SELECT f.id, f.dwelling_id, f.starts_on FROM lease_filing f
        WHERE f.starts_on <= :today AND f.ends_on >= :today
          AND NOT EXISTS (SELECT 1 FROM rental_pledge p WHERE p.lease_filing_id = f.id)
        ORDER BY f.starts_on DESC LIMIT 1"""),
        {"today": DEMO_TODAY},
    ).one()
    dwelling = demo_session.get(Dwelling, filing.dwelling_id)
    age = (DEMO_TODAY - filing.starts_on).days
    save_version(demo_session, RuleCode.PLEDGE_MISSING, settings={"grace_days": age + 1})
    run_here(demo_session, dwelling)
    assert not [
        f for f in flags_here(demo_session, dwelling, RuleCode.PLEDGE_MISSING) if f.state == "open"
    ]
    save_version(demo_session, RuleCode.PLEDGE_MISSING, settings={"grace_days": age})
    assert run_here(demo_session, dwelling).raised == 1


# -- each fact rule ------------------------------------------------------------------------


def test_rented_with_no_filing_and_vacant_yet_lived_in(demo_session):
    dwelling = quiet_dwelling(demo_session, occupancy=Occupancy.RENTED)
    run_here(demo_session, dwelling)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.RENTED_UNFILED)
    assert flag.fact_key == "none" and flag.facts["last_filing_id"] is None

    dwelling.occupancy = Occupancy.VACANT
    move_people_in(demo_session, dwelling, 1)
    result = run_here(demo_session, dwelling)
    assert (result.raised, result.resolved) == (1, 1)
    rules = {f.rule: f.state for f in flags_here(demo_session, dwelling)}
    assert rules == {RuleCode.RENTED_UNFILED: "resolved", RuleCode.VACANT_OCCUPIED: "open"}


def test_owner_occupied_yet_only_tenants_live_there(demo_session):
    dwelling = quiet_dwelling(demo_session, occupancy=Occupancy.OWNER_OCCUPIED)
    move_people_in(demo_session, dwelling, 1, relationship=Relationship.TENANT)
    run_here(demo_session, dwelling)
    assert flags_here(demo_session, dwelling, RuleCode.OWNER_OCCUPIED_TENANTS)
    move_people_in(demo_session, dwelling, 1, relationship=Relationship.OWNER)
    assert run_here(demo_session, dwelling).resolved == 1


def test_a_sharp_rise_in_occupants_within_the_window(demo_session):
    dwelling = quiet_dwelling(demo_session, occupancy=Occupancy.OWNER_OCCUPIED)
    move_people_in(demo_session, dwelling, 1, relationship=Relationship.OWNER)
    move_people_in(demo_session, dwelling, 3, moved_in=DEMO_TODAY - timedelta(days=10))
    run_here(demo_session, dwelling)
    assert not flags_here(demo_session, dwelling, RuleCode.OCCUPANT_SURGE)
    move_people_in(demo_session, dwelling, 1, moved_in=DEMO_TODAY - timedelta(days=2))
    run_here(demo_session, dwelling)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.OCCUPANT_SURGE)
    assert (flag.facts["occupants_before"], flag.facts["occupants"]) == (1, 5)
    # Once the window has passed the newcomers, the rise is no longer recent.
    later = DEMO_TODAY + timedelta(days=31)
    assert run_here(demo_session, dwelling, later).resolved >= 1


def test_a_filing_that_ended_while_tenants_still_live_there(demo_session):
    dwelling = quiet_dwelling(demo_session, occupancy=Occupancy.RENTED)
    landlord = move_people_in(demo_session, dwelling, 1, relationship=Relationship.OTHER)[0]
    landlord.moved_out = DEMO_TODAY - timedelta(days=100)
    demo_session.execute(
        text("""
        INSERT INTO lease_filing (filing_number, dwelling_id, landlord_person_id, starts_on,
                                  ends_on, monthly_rent)
        VALUES ('T-ENDED', :d, :p, :start, :end, 1000)"""),
        {
            "d": dwelling.id,
            "p": landlord.person_id,
            "start": DEMO_TODAY - timedelta(days=400),
            "end": DEMO_TODAY - timedelta(days=20),
        },
    )
    run_here(demo_session, dwelling)
    assert not flags_here(demo_session, dwelling, RuleCode.FILING_ENDED_OCCUPIED)
    move_people_in(demo_session, dwelling, 2, relationship=Relationship.TENANT)
    run_here(demo_session, dwelling)
    (flag,) = flags_here(demo_session, dwelling, RuleCode.FILING_ENDED_OCCUPIED)
    assert flag.facts["last_filing_ended_on"] == (DEMO_TODAY - timedelta(days=20)).isoformat()
    (unfiled,) = flags_here(demo_session, dwelling, RuleCode.RENTED_UNFILED)
    assert unfiled.fact_key == str(flag.facts["last_filing_id"])


# -- one live flag per rule and place, decided by the constraint ----------------------------


def _crowded_place(factory) -> int:
    """Commit a dwelling over its capacity whose rules did not run; its address id."""
    with factory() as session:
        dwelling = quiet_dwelling(session)
        move_people_in(session, dwelling, capacity_of(session, dwelling) + 1)
        session.commit()
        return dwelling.address_id


def _live(factory, address_id: int) -> int:
    with factory() as session:
        return session.scalar(
            select(func.count()).where(
                Flag.address_id == address_id,
                Flag.rule == RuleCode.OVER_CAPACITY,
                Flag.state.in_(("open", "in_review", "confirmed")),
            )
        )


def test_two_runs_racing_for_one_dwelling_raise_one_flag(race_sessions):
    address_id = _crowded_place(race_sessions)
    first, second = race(
        race_sessions, lambda s: run_rules(s, DEMO_TODAY, address_ids=[address_id])
    )
    assert first.succeeded and second.succeeded, (first.error, second.error)
    assert (first.result.raised, second.result.raised) == (1, 0)
    assert _live(race_sessions, address_id) == 1


def test_without_the_constraint_the_same_race_raises_two(race_sessions):
    """The race above can fail: with the partial unique index gone, both runs raise."""
    with race_sessions() as session:
        session.execute(text("DROP INDEX uq_flag_one_live_per_rule_and_place"))
        session.commit()
    address_id = _crowded_place(race_sessions)
    race(race_sessions, lambda s: run_rules(s, DEMO_TODAY, address_ids=[address_id]))
    assert _live(race_sessions, address_id) == 2


def test_two_officers_deciding_at_once_one_gets_a_conflict(race_sessions):
    from sqlalchemy.orm.exc import StaleDataError

    from registry.errors import Conflict

    with race_sessions() as session:
        flag_id, version = session.execute(
            select(Flag.id, Flag.version).where(Flag.state == "open").order_by(Flag.id).limit(1)
        ).one()

    def work(session):
        officer = account(session, "officer1")
        return decide_flag(session, officer, flag_id, "in_review", "我来核查", version, DEMO_TODAY)

    first, second = race(race_sessions, work)
    assert first.succeeded
    assert isinstance(second.error, (Conflict, StaleDataError))
    with race_sessions() as session:
        events = session.scalar(
            select(func.count()).where(
                FlagEvent.flag_id == flag_id, FlagEvent.kind == FlagEventKind.DECIDED
            )
        )
    assert events == 1
