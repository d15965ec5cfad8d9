"""Planning a focus area's sweep for an ISO week: what to visit, on which day, in what order.

What is in a plan:

- every place in the area with an open or in-review flag (registry/sweeps/leads.py),
  ranked by the rule's priority, then the oldest flag first;
- a random sample of the area's rented dwellings without a live flag: the configured
  share of them, drawn in SQL by ordering on ``md5(seed:id)``, so the same seed over the
  same records draws the same sample (the seed is stored with the plan). A sweep that only
  ever visits flagged homes is a watch list;
- stops grouped by building; all the buildings routed by OR-Tools as one open path from
  the start point (the police station unless the team picked one), that path cut into
  team-days of at most ``stops_per_day`` stops, and each day walked from the start
  (geo/route.py explains the model); the day holding the most urgent stop is day 1.
  The sweep records the week's path and the nearest-neighbour path over the same
  buildings; each day records its own walk and nearest neighbour over its buildings.

Nothing here reads a person's origin, registration, ID-number digits, ethnicity, religion
or sex: places are chosen from flags and occupancy, and ties broken by ids.

One plan per area and week is a unique constraint; planning again before the sweep has
started replaces the plan in place (same sweep row, new days and stops), and afterwards it
is refused.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import Integer, cast, delete, func, insert, literal, select, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from geo import route
from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.area.models import Community, PoliceStation
from registry.audit.services import Action, record
from registry.clock import deployment_zone, end_of_day, start_of_day
from registry.constraints import checked, refuse
from registry.db import SRID
from registry.dwelling.models import Dwelling, Occupancy
from registry.errors import InvalidInput, NotFound
from registry.grid.models import FocusArea, GridCell, focus_area_cell
from registry.sweeps import leads
from registry.sweeps.access import area_filter
from registry.sweeps.models import (
    ONE_SWEEP_PER_WEEK,
    StartKind,
    StopReason,
    Sweep,
    SweepDay,
    SweepSettings,
    SweepStop,
)
from registry.sweeps.weeks import week_end, week_label
from registry.validators import ValidationErrors

DEFAULT_STOPS_PER_DAY = 40
DEFAULT_SAMPLE_PERCENT = Decimal("5")
MIN_SAMPLE_PERCENT = Decimal("1")
# The solver's whole budget for one plan: the week's path and the days re-solved from the
# start (geo/route.py shares it out).
ROUTE_BUDGET_MS = 1000

refuse(
    ONE_SWEEP_PER_WEEK,
    "week",
    _l("This area's sweep for that week was planned by someone else just now; open it."),
)


@dataclass(frozen=True)
class PlanSettings:
    stops_per_day: int = DEFAULT_STOPS_PER_DAY
    sample_percent: Decimal = DEFAULT_SAMPLE_PERCENT


@dataclass(frozen=True)
class PlanRequest:
    """What to plan; unset values come from the settings in force (and a fresh seed)."""

    focus_area_id: int
    week_start: date
    seed: int | None = None
    start: tuple[float, float] | None = None  # (longitude, latitude) the team picked
    stops_per_day: int | None = None
    sample_percent: Decimal | None = None


@dataclass
class PlanSummary:
    """What a plan came to, for the officer's message, the CLI and the benchmark.

    Two views of the walking order (geo/route.py): the week's buildings as one path from
    the start against the nearest-neighbour path over the same buildings (``ratio``, what
    the sweep records), and the days each walked from the start against a nearest-neighbour
    baseline that fills its days the same way (``days_ratio``, what the team walks).
    """

    sweep: Sweep
    replaced: bool
    flagged: int = 0
    sampled: int = 0
    days: int = 0
    buildings: int = 0
    route_m: float = 0.0
    nearest_neighbour_m: float = 0.0
    days_m: float = 0.0
    nearest_neighbour_days_m: float = 0.0
    seconds: float = 0.0
    route_seconds: float = 0.0  # of which routing (the solver's time limits and the rest)
    solver: str = ""  # of the week's path
    solvers: dict[str, int] = field(default_factory=dict)  # of the days

    @property
    def stops(self) -> int:
        return self.flagged + self.sampled

    @property
    def ratio(self) -> float | None:
        if self.nearest_neighbour_m <= 0:
            return None
        return self.route_m / self.nearest_neighbour_m

    @property
    def days_ratio(self) -> float | None:
        if self.nearest_neighbour_days_m <= 0:
            return None
        return self.days_m / self.nearest_neighbour_days_m


@dataclass(frozen=True)
class _Place:
    address_id: int
    dwelling_id: int | None
    building_id: int
    lon: float
    lat: float
    reason: StopReason
    priority: int | None
    checks: list
    sort_key: tuple


def settings_in_force(session: Session, today: date) -> PlanSettings:
    """The newest settings started by the end of ``today``; the defaults if none."""
    row = session.scalar(
        select(SweepSettings)
        .where(SweepSettings.valid_from < end_of_day(today, deployment_zone()))
        .order_by(SweepSettings.valid_from.desc(), SweepSettings.id.desc())
        .limit(1)
    )
    if row is None:
        return PlanSettings()
    return PlanSettings(row.stops_per_day, Decimal(row.sample_percent))


def plannable_area(session: Session, actor: UserAccount | None, focus_area_id: int) -> FocusArea:
    """The focus area if the actor plans its sweeps (the CLI, ``actor`` None, plans all)."""
    query = select(FocusArea).where(FocusArea.id == focus_area_id)
    if actor is not None:
        query = query.where(area_filter(actor, FocusArea.id))
    area = session.scalar(query)
    if area is None:
        raise NotFound()
    return area


def _area_station(session: Session, focus_area_id: int) -> PoliceStation | None:
    """The station whose jurisdiction holds most of the area's cells."""
    station_id = session.scalar(
        select(Community.police_station_id)
        .join(GridCell, GridCell.community_id == Community.id)
        .join(focus_area_cell, focus_area_cell.c.grid_cell_id == GridCell.id)
        .where(
            focus_area_cell.c.focus_area_id == focus_area_id,
            Community.police_station_id.is_not(None),
        )
        .group_by(Community.police_station_id)
        .order_by(func.count().desc(), Community.police_station_id)
        .limit(1)
    )
    return session.get(PoliceStation, station_id) if station_id else None


def _start(
    session: Session, request: PlanRequest, station: PoliceStation | None
) -> tuple[StartKind, tuple[float, float]]:
    if request.start is not None:
        return StartKind.CHOSEN, request.start
    if station is not None and station.geom is not None:
        point = to_shape(station.geom)
        return StartKind.STATION, (point.x, point.y)
    centre = session.execute(
        select(
            func.ST_X(func.ST_Centroid(func.ST_Collect(GridCell.geom))),
            func.ST_Y(func.ST_Centroid(func.ST_Collect(GridCell.geom))),
        )
        .join(focus_area_cell, focus_area_cell.c.grid_cell_id == GridCell.id)
        .where(focus_area_cell.c.focus_area_id == request.focus_area_id)
    ).one()
    if centre[0] is None:
        raise InvalidInput(fields={"focus_area": [_l("This focus area has no grid cells")]})
    return StartKind.AREA, (float(centre[0]), float(centre[1]))


def _places_select(session: Session, focus_area_id: int, today: date, seed: int, percent: Decimal):
    """Flagged places and the drawn sample as one statement, with each place's building."""
    flagged = leads.live_leads(session, focus_area_id, today).subquery("flagged")
    candidate = aliased(Address)
    draw = func.md5(func.concat(str(seed), ":", Dwelling.id))
    pool = (
        select(
            Dwelling.address_id.label("address_id"),
            Dwelling.id.label("dwelling_id"),
            func.row_number().over(order_by=(draw, Dwelling.id)).label("draw"),
            func.count().over().label("pool"),
        )
        .join(candidate, candidate.id == Dwelling.address_id)
        .where(
            Dwelling.occupancy == Occupancy.RENTED,
            leads.in_focus_area(focus_area_id, candidate.grid_cell_id),
            Dwelling.address_id.not_in(leads.live_flag_addresses(focus_area_id)),
        )
        .subquery("pool")
    )
    share = float(percent) / 100.0
    sample = select(
        pool.c.address_id,
        pool.c.dwelling_id,
        literal(None, Integer).label("priority"),
        literal(None).label("raised_at"),
        literal(StopReason.SAMPLE.value).label("reason"),
        pool.c.draw.label("draw"),
        cast(literal("[]"), JSONB).label("checks"),
    ).where(pool.c.draw <= func.ceil(pool.c.pool * share))
    flags = select(
        flagged.c.address_id,
        flagged.c.dwelling_id,
        flagged.c.priority,
        flagged.c.raised_at,
        literal(StopReason.FLAG.value).label("reason"),
        literal(0).label("draw"),
        flagged.c.checks,
    )
    places = union_all(flags, sample).subquery("places")
    here = aliased(Address)
    building = aliased(Address)
    return (
        select(
            places.c.address_id,
            places.c.dwelling_id,
            places.c.priority,
            places.c.reason,
            building.id.label("building_id"),
            func.ST_X(building.geom).label("lon"),
            func.ST_Y(building.geom).label("lat"),
            here.entrance,
            here.floor,
            here.room,
            places.c.checks,
        )
        .join(here, here.id == places.c.address_id)
        .join(building, building.id == func.coalesce(here.parent_id, here.id))
        .order_by(
            places.c.reason,  # 'flag' before 'sample'
            places.c.priority.nulls_last(),
            places.c.raised_at.nulls_last(),
            places.c.draw,
            places.c.address_id,
        )
    )


def _load_places(session: Session, focus_area_id: int, today: date, seed: int, percent) -> list:
    rows = session.execute(_places_select(session, focus_area_id, today, seed, percent)).all()
    return [
        _Place(
            address_id=row.address_id,
            dwelling_id=row.dwelling_id,
            building_id=row.building_id,
            lon=float(row.lon),
            lat=float(row.lat),
            reason=StopReason(row.reason),
            priority=row.priority,
            checks=list(row.checks or []),
            sort_key=(
                row.entrance or "",
                row.floor if row.floor is not None else -99,
                row.room or "",
            ),
        )
        for row in rows
    ]


@dataclass
class _Day:
    places: list[tuple[int, _Place]]  # (rank, place) in walking order
    route_m: float  # walked from the start
    nearest_neighbour_m: float  # the greedy from the start over the same buildings
    solver: str


def _route_days(
    places: list[_Place], start: tuple[float, float], cap: int, budget_ms: int
) -> tuple[list[_Day], route.WeekRoute]:
    """Group by building, route the week as one path, cut it into days (geo/route.py).

    The days come most urgent first: the day holding the best-ranked stop is day 1.
    """
    by_building: dict[int, list[tuple[int, _Place]]] = defaultdict(list)
    for rank, place in enumerate(places, start=1):
        by_building[place.building_id].append((rank, place))
    buildings = list(by_building)
    for key in buildings:
        by_building[key].sort(key=lambda item: (item[1].sort_key, item[1].address_id))
    points = np.array(
        [[by_building[b][0][1].lon, by_building[b][0][1].lat] for b in buildings]
    ).reshape(-1, 2)
    counts = [len(by_building[b]) for b in buildings]
    week = route.plan_week(start, points, counts, cap, budget_ms)
    taken: dict[int, int] = defaultdict(int)  # stops of a building already given to a day
    days = []
    for day in week.days:
        ordered: list[tuple[int, _Place]] = []
        for index in day.buildings:
            stops = by_building[buildings[index]]
            # A building bigger than a day shares out its stops, in order, over its days.
            chunk = stops[taken[index] : taken[index] + cap - len(ordered)]
            taken[index] += len(chunk)
            ordered.extend(chunk)
        days.append(_Day(ordered, day.length_m, day.nearest_neighbour_m, day.solver))
    days.sort(key=lambda day: min(rank for rank, _place in day.places))
    return days, week


def _refuse_week(message) -> None:
    raise InvalidInput(fields={"week": [message]})


def _existing(session: Session, request: PlanRequest, today: date) -> Sweep | None:
    """The week's plan, locked, if it may be replaced; refuse once the sweep has started."""
    sweep = session.scalar(
        select(Sweep)
        .where(
            Sweep.focus_area_id == request.focus_area_id,
            Sweep.week_start == request.week_start,
        )
        .with_for_update()
    )
    if sweep is not None and (sweep.started_at is not None or today >= request.week_start):
        _refuse_week(_l("This sweep has started: its plan can no longer be replaced."))
    return sweep


def plan_sweep(
    session: Session,
    actor: UserAccount | None,
    request: PlanRequest,
    today: date,
    route_budget_ms: int = ROUTE_BUDGET_MS,
) -> PlanSummary:
    """Plan (or plan again) the area's sweep for the week; ``actor`` None is the CLI."""
    began = time.perf_counter()
    area = plannable_area(session, actor, request.focus_area_id)
    if today > week_end(request.week_start):
        _refuse_week(_l("That week is over."))
    settings = settings_in_force(session, today)
    cap = request.stops_per_day or settings.stops_per_day
    percent = (
        request.sample_percent if request.sample_percent is not None else settings.sample_percent
    )
    seed = request.seed if request.seed is not None else secrets.randbits(31)
    existing = _existing(session, request, today)
    station = _area_station(session, area.id)
    start_kind, start = _start(session, request, station)
    places = _load_places(session, area.id, today, seed, percent)
    routing = time.perf_counter()
    days, week = _route_days(places, start, cap, route_budget_ms)
    route_seconds = time.perf_counter() - routing
    values = {
        "seed": seed,
        "stops_per_day": cap,
        "sample_percent": percent,
        "start_kind": start_kind,
        "start_geom": from_shape(Point(*start), srid=SRID),
        "planned_on": today,
        "planned_by_id": getattr(actor, "id", None),
        "police_station_id": station.id if station else None,
        "route_m": week.path.length_m,
        "nearest_neighbour_m": week.nearest_neighbour.length_m,
    }
    with checked(session):
        if existing is None:
            sweep = Sweep(focus_area_id=area.id, week_start=request.week_start, **values)
            session.add(sweep)
        else:
            sweep = existing
            session.execute(delete(SweepDay).where(SweepDay.sweep_id == sweep.id))
            for name, value in values.items():
                setattr(sweep, name, value)
    _store_days(session, sweep, days)
    summary = PlanSummary(
        sweep=sweep,
        replaced=existing is not None,
        flagged=sum(p.reason == StopReason.FLAG for p in places),
        sampled=sum(p.reason == StopReason.SAMPLE for p in places),
        days=len(days),
        buildings=len(week.path.order),
        route_m=values["route_m"],
        nearest_neighbour_m=values["nearest_neighbour_m"],
        days_m=week.days_m,
        nearest_neighbour_days_m=week.nearest_neighbour_days_m,
        seconds=time.perf_counter() - began,
        route_seconds=route_seconds,
        solver=week.path.solver,
    )
    for day in days:
        summary.solvers[day.solver] = summary.solvers.get(day.solver, 0) + 1
    _audit_plan(session, actor, summary, request)
    return summary


def _store_days(session: Session, sweep: Sweep, days: list[_Day]) -> None:
    """The days as rows, then every stop in one multi-row insert."""
    day_rows = [
        SweepDay(
            sweep_id=sweep.id,
            number=number,
            route_m=day.route_m,
            nearest_neighbour_m=day.nearest_neighbour_m,
        )
        for number, day in enumerate(days, start=1)
    ]
    session.add_all(day_rows)
    session.flush()
    stops: list[dict[str, Any]] = []
    for day_row, day in zip(day_rows, days):
        for position, (rank, place) in enumerate(day.places, start=1):
            stops.append(
                {
                    "sweep_id": sweep.id,
                    "day_id": day_row.id,
                    "position": position,
                    "rank": rank,
                    "address_id": place.address_id,
                    "building_address_id": place.building_id,
                    "dwelling_id": place.dwelling_id,
                    "reason": place.reason,
                    "priority": place.priority,
                    "checks": place.checks,
                }
            )
    if stops:
        # The table's own INSERT (executemany, no ORM bookkeeping): a 50-cell plan has
        # thousands of stops.
        session.execute(insert(SweepStop.__table__), stops)
    session.expire(sweep, ["days"])


def _audit_plan(
    session: Session, actor: UserAccount | None, summary: PlanSummary, request: PlanRequest
) -> None:
    sweep = summary.sweep
    record(
        session,
        actor,
        Action.UPDATE if summary.replaced else Action.CREATE,
        "sweep",
        sweep.id,
        {
            "focus_area_id": [None, sweep.focus_area_id],
            "week": [None, week_label(sweep.week_start)],
            "seed": [None, sweep.seed],
            "stops_per_day": [None, sweep.stops_per_day],
            "sample_percent": [None, str(sweep.sample_percent)],
            "start_kind": [None, str(sweep.start_kind)],
            "flagged": [None, summary.flagged],
            "sampled": [None, summary.sampled],
            "days": [None, summary.days],
        },
    )


def sample_size(pool: int, percent: Decimal) -> int:
    """How many of ``pool`` unflagged rented dwellings the sample draws (rounded up)."""
    return math.ceil(pool * float(percent) / 100.0)


def settings_history(session: Session) -> list[SweepSettings]:
    return list(
        session.scalars(
            select(SweepSettings).order_by(SweepSettings.valid_from.desc(), SweepSettings.id.desc())
        )
    )


def save_settings(
    session: Session, actor: UserAccount, stops_per_day: Any, sample_percent: Any, today: date
) -> SweepSettings:
    """New planning settings from now on (administrators); earlier ones stay as history."""
    if actor.role != Role.ADMIN:
        raise NotFound()
    errors = ValidationErrors()
    cap = str(stops_per_day or "").strip()
    if not cap.isdigit():
        errors.add("stops_per_day", _l("Enter a whole number"))
    elif not 1 <= int(cap) <= 500:
        errors.add("stops_per_day", _l("Must be between %(low)s and %(high)s", low=1, high=500))
    try:
        share = Decimal(str(sample_percent or "").strip())
        # At least MIN_SAMPLE_PERCENT: a plan of flagged homes only is a watch list.
        if not MIN_SAMPLE_PERCENT <= share <= 100 or share != share.quantize(Decimal("0.01")):
            raise ValueError
    except (ArithmeticError, ValueError):
        errors.add(
            "sample_percent",
            _l(
                "A share from %(low)s to 100, at most two decimals: without a sample the "
                "sweep is a watch list",
                low=MIN_SAMPLE_PERCENT,
            ),
        )
        share = None
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    before = settings_in_force(session, today)
    row = SweepSettings(
        stops_per_day=int(cap),
        sample_percent=share,
        created_by_id=actor.id,
        valid_from=start_of_day(today, deployment_zone()),  # in force for today's plans
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        "sweep_settings",
        row.id,
        {
            "stops_per_day": [before.stops_per_day, int(cap)],
            "sample_percent": [str(before.sample_percent), str(share)],
        },
    )
    return row
