"""Planning a focus area's weekly sweep: what is in it, days and routes, one plan per week."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
from helpers import DEMO_TODAY, account
from race import race
from sqlalchemy import func, select, text

from geo import route
from registry.errors import InvalidInput, NotFound
from registry.sweeps import leads
from registry.sweeps.models import StartKind, StopReason, Sweep, SweepStop
from registry.sweeps.planning import PlanRequest, plan_sweep, sample_size

NEXT_WEEK = date(2026, 11, 30)  # 2026-W49; the demo's day is in W48
AREA = 1


def _plan(session, actor=None, **options):
    request = PlanRequest(AREA, options.pop("week", NEXT_WEEK), **options)
    return plan_sweep(session, actor, request, options.pop("today", DEMO_TODAY), 200)


def _stops(session, sweep_id):
    return (
        session.execute(
            select(SweepStop).where(SweepStop.sweep_id == sweep_id).order_by(SweepStop.id)
        )
        .scalars()
        .all()
    )


def _plan_shape(session, sweep_id):
    """(day number, position, address) of every stop: the plan as the team walks it."""
    return session.execute(
        text(
            "SELECT d.number, s.position, s.address_id, s.reason FROM sweep_stop s "
            "JOIN sweep_day d ON d.id = s.day_id WHERE s.sweep_id = :id "
            "ORDER BY d.number, s.position"
        ),
        {"id": sweep_id},
    ).all()


def test_every_flagged_place_is_in_the_plan_with_a_sample_of_unflagged_rented_dwellings(
    demo_session,
):
    summary = _plan(demo_session, seed=11, sample_percent=Decimal("10"))
    flagged = {
        row.address_id
        for row in demo_session.execute(leads.live_leads(demo_session, AREA, DEMO_TODAY)).all()
    }
    stops = _stops(demo_session, summary.sweep.id)
    assert {s.address_id for s in stops if s.reason == StopReason.FLAG} == flagged
    sampled = [s for s in stops if s.reason == StopReason.SAMPLE]
    assert not {s.address_id for s in sampled} & flagged
    pool = demo_session.scalar(
        text(
            "SELECT count(*) FROM dwelling d JOIN address a ON a.id = d.address_id "
            "JOIN focus_area_cell f ON f.grid_cell_id = a.grid_cell_id "
            "WHERE f.focus_area_id = :area AND d.occupancy = 'rented'"
        ),
        {"area": AREA},
    ) - len(flagged)
    assert len(sampled) == sample_size(pool, Decimal("10")) > 0
    assert all(s.checks == [] for s in sampled)
    assert all(s.checks for s in stops if s.reason == StopReason.FLAG)
    assert summary.flagged == len(flagged) and summary.sampled == len(sampled)


def test_flagged_stops_rank_before_the_sample(demo_session):
    summary = _plan(demo_session, seed=3)
    stops = sorted(_stops(demo_session, summary.sweep.id), key=lambda s: s.rank)
    reasons = [s.reason for s in stops]
    assert reasons == sorted(reasons, key=lambda r: r != StopReason.FLAG)
    assert [s.rank for s in stops] == list(range(1, len(stops) + 1))


def test_the_same_seed_makes_the_same_plan(demo_session):
    first = _plan(demo_session, seed=99)
    shape = _plan_shape(demo_session, first.sweep.id)
    again = _plan(demo_session, seed=99)
    assert again.replaced and again.sweep.id == first.sweep.id
    assert _plan_shape(demo_session, again.sweep.id) == shape
    other = _plan(demo_session, seed=100)
    assert _plan_shape(demo_session, other.sweep.id) != shape


def test_days_respect_the_cap_and_keep_a_building_together(demo_session):
    summary = _plan(demo_session, seed=5, stops_per_day=12)
    rows = demo_session.execute(
        text(
            "SELECT d.number, count(*) FROM sweep_stop s JOIN sweep_day d ON d.id = s.day_id "
            "WHERE s.sweep_id = :id GROUP BY d.number ORDER BY d.number"
        ),
        {"id": summary.sweep.id},
    ).all()
    assert len(rows) == summary.days > 1
    assert all(count <= 12 for _number, count in rows)
    walked = demo_session.execute(
        text(
            "SELECT d.number, s.building_address_id FROM sweep_stop s "
            "JOIN sweep_day d ON d.id = s.day_id WHERE s.sweep_id = :id "
            "ORDER BY d.number, s.position"
        ),
        {"id": summary.sweep.id},
    ).all()
    # Within a day, a building's stops follow one another.
    seen: dict[int, set] = {}
    previous = None
    for number, building in walked:
        if building != previous:
            assert building not in seen.setdefault(number, set())
            seen[number].add(building)
        previous = building
    assert summary.route_m <= summary.nearest_neighbour_m


def _walked_buildings(session, sweep_id):
    """Each day's buildings in walking order with their points, and the sweep's start."""
    rows = session.execute(
        text(
            "SELECT d.number, d.route_m, s.building_address_id, ST_X(b.geom), ST_Y(b.geom) "
            "FROM sweep_stop s JOIN sweep_day d ON d.id = s.day_id "
            "JOIN address b ON b.id = s.building_address_id "
            "WHERE s.sweep_id = :id ORDER BY d.number, s.position"
        ),
        {"id": sweep_id},
    ).all()
    days: dict[int, tuple[float, dict]] = {}
    for number, route_m, building, lon, lat in rows:
        days.setdefault(number, (route_m, {}))[1].setdefault(building, (lon, lat))
    start = session.execute(
        text("SELECT ST_X(start_geom), ST_Y(start_geom) FROM sweep WHERE id = :id"),
        {"id": sweep_id},
    ).one()
    return days, (start[0], start[1])


def test_the_sweep_records_the_week_as_one_path_against_nearest_neighbour_on_it(demo_session):
    summary = _plan(demo_session, seed=5, stops_per_day=12)
    days, start = _walked_buildings(demo_session, summary.sweep.id)
    points = {b: p for _route_m, walked in days.values() for b, p in walked.items()}
    matrix = route.distance_matrix(start, np.array(list(points.values())))
    greedy_m = route.path_length(matrix, route.nearest_neighbour(matrix))
    # Like with like: the week's path and the greedy path over all the same buildings.
    assert summary.sweep.nearest_neighbour_m == pytest.approx(greedy_m)
    assert summary.sweep.route_m <= greedy_m
    # Each day is walked from the start, and records that walk's length.
    for route_m, walked in days.values():
        day = route.distance_matrix(start, np.array(list(walked.values())))
        assert route_m == pytest.approx(route.path_length(day, range(len(walked))))
    # So the days, each leaving the start again, add up to more than the week's path.
    assert len(days) > 1
    assert summary.days_m == pytest.approx(sum(route_m for route_m, _w in days.values()))
    assert summary.days_m > summary.route_m
    assert summary.nearest_neighbour_days_m > 0
    assert 0 < summary.route_seconds < summary.seconds


def test_the_route_starts_at_the_police_station_unless_the_team_picks_a_point(demo_session):
    summary = _plan(demo_session, seed=1)
    assert summary.sweep.start_kind == StartKind.STATION
    station = demo_session.execute(
        text(
            "SELECT ST_AsText(p.geom) FROM police_station p WHERE p.id = :id",
        ),
        {"id": summary.sweep.police_station_id},
    ).scalar()
    start = demo_session.scalar(
        select(func.ST_AsText(Sweep.start_geom)).where(Sweep.id == summary.sweep.id)
    )
    assert start == station
    chosen = _plan(demo_session, seed=1, start=(114.1, 30.6))
    assert chosen.sweep.start_kind == StartKind.CHOSEN
    assert (
        demo_session.scalar(
            select(func.ST_AsText(Sweep.start_geom)).where(Sweep.id == chosen.sweep.id)
        )
        == "POINT(114.1 30.6)"
    )


def test_a_plan_is_replaced_until_the_sweep_starts_and_refused_afterwards(demo_session):
    first = _plan(demo_session, seed=1)
    again = _plan(demo_session, seed=2)
    assert again.replaced and again.sweep.id == first.sweep.id
    assert demo_session.scalar(select(func.count()).select_from(Sweep)) == 1
    again.sweep.started_at = datetime.now(UTC)
    demo_session.flush()
    with pytest.raises(InvalidInput) as refused:
        _plan(demo_session, seed=3)
    assert "week" in refused.value.details["fields"]


def test_the_current_week_is_planned_once_and_a_past_week_never(demo_session):
    this_week = date(2026, 11, 23)
    _plan(demo_session, week=this_week, seed=1)
    with pytest.raises(InvalidInput):
        _plan(demo_session, week=this_week, seed=1)  # its week has begun
    with pytest.raises(InvalidInput) as over:
        _plan(demo_session, week=date(2026, 11, 16), seed=1)
    assert "week" in over.value.details["fields"]


def test_officers_plan_only_the_areas_of_their_jurisdiction(demo_session):
    officer = account(demo_session, "officer1")
    summary = _plan(demo_session, officer, seed=1)
    assert summary.sweep.planned_by_id == officer.id
    worker = account(demo_session, "grid0001")
    with pytest.raises(NotFound):
        _plan(demo_session, worker, seed=1)


def test_two_officers_planning_the_same_week_at_once_make_one_plan(race_sessions):
    def plan(session):
        return plan_sweep(session, None, PlanRequest(AREA, NEXT_WEEK, seed=1), DEMO_TODAY, 50)

    first, second = race(race_sessions, plan)
    assert first.succeeded
    assert isinstance(second.error, InvalidInput)
    assert "week" in second.error.details["fields"]
    with race_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sweep)) == 1


# -- leads from the flags --------------------------------------------------------------------


def _area_flags(session, states=("open", "in_review")):
    """(flag id, rule, address, dwelling) of the area's flags in these states."""
    return session.execute(
        text(
            "SELECT f.id, f.rule, f.address_id, f.dwelling_id FROM flag f "
            "JOIN address a ON a.id = f.address_id "
            "JOIN focus_area_cell c ON c.grid_cell_id = a.grid_cell_id "
            "WHERE c.focus_area_id = :area AND f.state = ANY(:states) ORDER BY f.id"
        ),
        {"area": AREA, "states": list(states)},
    ).all()


def _set_priorities(session, priorities: dict[str, int], default: int = 5):
    """A version of every rule's settings in force on the demo's day, with these
    priorities (the others ``default``)."""
    from registry.clock import deployment_zone, start_of_day
    from registry.flags.models import RuleVersion
    from registry.flags.rules import RULES
    from registry.flags.settings import newest_version

    for rule in RULES:
        base = newest_version(session, rule.code)
        session.add(
            RuleVersion(
                rule=rule.code,
                enabled=base.enabled if base else True,
                priority=priorities.get(rule.code, default),
                settings=dict(base.settings) if base else rule.defaults(),
                valid_from=start_of_day(DEMO_TODAY, deployment_zone()),
                based_on_id=base.id if base else None,
            )
        )
    session.flush()


def _ranked(session, summary):
    stops = sorted(_stops(session, summary.sweep.id), key=lambda s: s.rank)
    return [s for s in stops if s.reason == StopReason.FLAG]


def test_flagged_places_come_by_their_rules_configured_priority(demo_session):
    flags = _area_flags(demo_session)
    rules = sorted({rule for _id, rule, _a, _d in flags})
    assert len(rules) >= 2  # the demo's area has flags of several rules
    for first in rules[:2]:
        _set_priorities(demo_session, {first: 1})
        places = {(a, d) for _id, rule, a, d in flags if rule == first}
        ranked = _ranked(demo_session, _plan(demo_session, seed=4))
        top = ranked[: len(places)]
        assert {(s.address_id, s.dwelling_id) for s in top} == places
        assert all(s.checks[0]["rule"] == first for s in top)
        assert all(s.checks[0]["rule"] != first for s in ranked[len(places) :])


def test_at_the_same_priority_the_oldest_flag_comes_first(demo_session):
    _set_priorities(demo_session, {})
    flag_id, _rule, address_id, dwelling_id = _area_flags(demo_session)[-1]
    demo_session.execute(
        text("UPDATE flag SET raised_at = raised_at - interval '30 days' WHERE id = :id"),
        {"id": flag_id},
    )
    first = _ranked(demo_session, _plan(demo_session, seed=4))[0]
    assert (first.address_id, first.dwelling_id) == (address_id, dwelling_id)


def test_decided_flags_are_no_leads_and_a_confirmed_place_is_never_sampled(demo_session):
    from registry.flags.models import Flag
    from registry.flags.services import decide_flag

    officer = account(demo_session, "officer1")
    rented = demo_session.execute(
        text(
            "SELECT f.id, f.address_id FROM flag f JOIN dwelling d ON d.id = f.dwelling_id "
            "JOIN address a ON a.id = f.address_id "
            "JOIN focus_area_cell c ON c.grid_cell_id = a.grid_cell_id "
            "WHERE c.focus_area_id = :area AND f.state = 'open' AND d.occupancy = 'rented' "
            "AND NOT EXISTS (SELECT 1 FROM flag o WHERE o.address_id = f.address_id "
            "AND o.id <> f.id) ORDER BY f.id LIMIT 2"
        ),
        {"area": AREA},
    ).all()
    (confirmed, confirmed_at), (dismissed, dismissed_at) = rented

    def decide(flag_id, *states):
        for state in states:
            flag = demo_session.get(Flag, flag_id)
            decide_flag(demo_session, officer, flag_id, state, "查看过", flag.version, DEMO_TODAY)

    decide(confirmed, "in_review", "confirmed")
    decide(dismissed, "in_review", "dismissed")
    stops = _stops(
        demo_session, _plan(demo_session, seed=4, sample_percent=Decimal("100")).sweep.id
    )
    by_address = {s.address_id: s.reason for s in stops}
    assert confirmed_at not in by_address  # decided by a person: neither a lead nor "compliant"
    assert by_address[dismissed_at] == StopReason.SAMPLE  # no lead, but still drawn at random
