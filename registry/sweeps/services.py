"""Reading sweeps: the officers' overview per area and week, one sweep's progress and
results, its stops in walking order for the tablet and the printout, a dwelling's visits;
and the officers' few writes on a sweep (its team, closing it).

Every read applies the actor's scope: a sweep outside it is "not found", and a sweep's
stops are listed only where the actor may see them (their usual scope, or their team's
open sweep).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.audit.services import Action, record
from registry.dwelling.models import Dwelling
from registry.dwelling.status import residence_is_current
from registry.errors import InvalidInput, NotFound
from registry.grid.models import FocusArea
from registry.person.identity import IdentityCipher
from registry.person.models import Person, Residence
from registry.person.services import masked_document
from registry.scope import address_filter, dwelling_filter, usual_address_filter
from registry.sweeps.access import area_filter, open_team_sweeps, photo_filter, sweep_filter
from registry.sweeps.leads import check_words
from registry.sweeps.models import Outcome, StopReason, Sweep, SweepDay, SweepStop, SweepVisit
from registry.sweeps.teams import team_filter
from registry.sweeps.weeks import monday_of, week_end

PLANNING_ROLES = (Role.POLICE_OFFICER, Role.ADMIN)
READING_ROLES = (Role.POLICE_OFFICER, Role.ADMIN, Role.GRID_WORKER, Role.SWEEP_TEAM_MEMBER)
# Shown after the label "Random sample", so it does not repeat it.
SAMPLE_CHECK = _l("See that the records match who lives here.")


def require(actor: UserAccount, roles) -> None:
    if actor.role not in roles:
        raise NotFound()


@dataclass
class Progress:
    """How far a sweep (or one of its days) is walked, and what was found."""

    stops: int = 0
    visited: int = 0
    outcomes: Counter = field(default_factory=Counter)
    people_found: int = 0

    @property
    def share(self) -> float:
        return self.visited / self.stops if self.stops else 0.0


@dataclass(frozen=True)
class Occupant:
    name: str
    document: str  # masked


@dataclass
class StopRow:
    """One stop as the checklist and the printed list show it."""

    stop: SweepStop
    address: Address
    day: int
    visit: SweepVisit | None
    checks: list[tuple[Any, Any]]  # (label, what to check)
    occupants: list[Occupant] = field(default_factory=list)


@dataclass
class AreaWeek:
    """One focus area in one week on the officers' overview: its sweep, if planned."""

    area: FocusArea
    week_start: date
    sweep: Sweep | None
    progress: Progress | None


def _visible_sweeps(actor: UserAccount):
    return select(Sweep).where(sweep_filter(actor, usual_address_filter(actor)))


def get_sweep(session: Session, actor: UserAccount, sweep_id: int) -> Sweep:
    require(actor, READING_ROLES)
    sweep = session.scalar(
        _visible_sweeps(actor)
        .where(Sweep.id == sweep_id)
        .options(joinedload(Sweep.focus_area), joinedload(Sweep.team))
    )
    if sweep is None:
        raise NotFound()
    return sweep


def may_plan(session: Session, actor: UserAccount, sweep: Sweep) -> bool:
    if actor.role not in PLANNING_ROLES:
        return False
    return bool(
        session.scalar(
            select(func.count())
            .select_from(FocusArea)
            .where(FocusArea.id == sweep.focus_area_id, area_filter(actor, FocusArea.id))
        )
    )


def progress_of(session: Session, actor: UserAccount, sweep_ids: list[int]) -> dict[int, Progress]:
    """Stops, visits and outcomes of each sweep, in one grouped query; only the stops the
    actor may see count (a grid worker's cells, an officer's jurisdiction, a team's sweep)."""
    rows = session.execute(
        select(
            SweepStop.sweep_id,
            SweepVisit.outcome,
            func.count(SweepStop.id),
            func.coalesce(func.sum(SweepVisit.people), 0),
        )
        .join(Address, Address.id == SweepStop.address_id)
        .outerjoin(SweepVisit, SweepVisit.stop_id == SweepStop.id)
        .where(SweepStop.sweep_id.in_(sweep_ids), address_filter(actor))
        .group_by(SweepStop.sweep_id, SweepVisit.outcome)
    ).all()
    result = {sweep_id: Progress() for sweep_id in sweep_ids}
    for sweep_id, outcome, count, people in rows:
        progress = result[sweep_id]
        progress.stops += count
        if outcome is not None:
            progress.visited += count
            progress.outcomes[Outcome(outcome)] += count
            progress.people_found += int(people)
    return result


def day_progress(
    session: Session, actor: UserAccount, sweep: Sweep
) -> list[tuple[SweepDay, Progress]]:
    """Each team-day with stops the actor may see, and how many of them are done."""
    rows = session.execute(
        select(SweepDay, func.count(SweepStop.id), func.count(SweepVisit.id))
        .join(SweepStop, SweepStop.day_id == SweepDay.id)
        .join(Address, Address.id == SweepStop.address_id)
        .outerjoin(SweepVisit, SweepVisit.stop_id == SweepStop.id)
        .where(SweepDay.sweep_id == sweep.id, address_filter(actor))
        .group_by(SweepDay.id)
        .order_by(SweepDay.number)
    ).all()
    return [(day, Progress(stops=stops, visited=visited)) for day, stops, visited in rows]


def overview(session: Session, actor: UserAccount, today: date, weeks_back: int = 4):
    """The officers' page: each area of their scope this week and next, and the recent
    weeks' sweeps with their results."""
    require(actor, PLANNING_ROLES)
    areas = list(
        session.scalars(
            select(FocusArea).where(area_filter(actor, FocusArea.id)).order_by(FocusArea.name)
        )
    )
    this_week = monday_of(today)
    weeks = [this_week, this_week + timedelta(days=7)]
    first = this_week - timedelta(days=7 * weeks_back)
    sweeps = list(
        session.scalars(
            select(Sweep)
            .where(
                Sweep.focus_area_id.in_([a.id for a in areas]),
                Sweep.week_start >= first,
            )
            .options(joinedload(Sweep.team))
            .order_by(Sweep.week_start.desc())
        )
    )
    progress = progress_of(session, actor, [s.id for s in sweeps])
    by_key = {(s.focus_area_id, s.week_start): s for s in sweeps}
    planning = [
        AreaWeek(
            area,
            week,
            by_key.get((area.id, week)),
            progress.get(by_key[(area.id, week)].id) if (area.id, week) in by_key else None,
        )
        for week in weeks
        for area in areas
    ]
    past = [(s, progress[s.id]) for s in sweeps if s.week_start < this_week]
    return planning, past


def my_sweeps(session: Session, actor: UserAccount) -> list[tuple[Sweep, Progress]]:
    """The open sweeps of the actor's teams, and for grid workers the open sweeps with a
    stop in their cells: the "Sweep list" / "My sweeps" menu."""
    require(actor, READING_ROLES)
    reasons = [Sweep.id.in_(open_team_sweeps(actor))]
    if actor.role == Role.GRID_WORKER:
        reasons.append(sweep_filter(actor, usual_address_filter(actor)))
    sweeps = list(
        session.scalars(
            select(Sweep)
            .where(Sweep.closed_at.is_(None), or_(*reasons))
            .options(joinedload(Sweep.focus_area), joinedload(Sweep.team))
            .order_by(Sweep.week_start, Sweep.id)
        )
    )
    progress = progress_of(session, actor, [s.id for s in sweeps])
    return [(s, progress[s.id]) for s in sweeps]


def _occupants(
    session: Session, cipher: IdentityCipher, dwelling_ids: list[int], today: date
) -> dict[int, list[tuple[int, Occupant]]]:
    rows = session.execute(
        select(Residence.dwelling_id, Person)
        .join(Person, Person.id == Residence.person_id)
        .where(Residence.dwelling_id.in_(dwelling_ids), residence_is_current(today))
        .order_by(Residence.dwelling_id, Residence.moved_in, Person.id)
    ).all()
    result: dict[int, list[tuple[int, Occupant]]] = {}
    for dwelling_id, person in rows:
        result.setdefault(dwelling_id, []).append(
            (person.id, Occupant(person.name, masked_document(cipher, person)))
        )
    return result


def stop_rows(
    session: Session,
    actor: UserAccount,
    sweep: Sweep,
    today: date,
    cipher: IdentityCipher | None = None,
    day: int | None = None,
    record_as: str = "checklist",
    only_stop: int | None = None,
) -> list[StopRow]:
    """The stops the actor may see, in walking order (day, then position). With a cipher,
    each dwelling's occupants now, names with masked ID numbers, and one audit entry for
    the whole list: ``record_as`` (the checklist, a stop, an export) and the people shown."""
    query = (
        select(SweepStop, Address, SweepDay.number, SweepVisit)
        .join(Address, Address.id == SweepStop.address_id)
        .join(SweepDay, SweepDay.id == SweepStop.day_id)
        .outerjoin(SweepVisit, SweepVisit.stop_id == SweepStop.id)
        .where(SweepStop.sweep_id == sweep.id, address_filter(actor))
        .order_by(SweepDay.number, SweepStop.position)
    )
    if day is not None:
        query = query.where(SweepDay.number == day)
    if only_stop is not None:
        query = query.where(SweepStop.id == only_stop)
    rows = [
        StopRow(stop, address, number, visit, _checks(stop))
        for stop, address, number, visit in session.execute(query).all()
    ]
    if cipher is None:
        return rows
    dwelling_ids = [r.stop.dwelling_id for r in rows if r.stop.dwelling_id]
    occupants = _occupants(session, cipher, dwelling_ids, today) if dwelling_ids else {}
    shown: set[int] = set()
    for row in rows:
        people = occupants.get(row.stop.dwelling_id, [])
        row.occupants = [occupant for _pid, occupant in people]
        shown.update(pid for pid, _occupant in people)
    record(
        session,
        actor,
        Action.VIEW,
        "sweep",
        sweep.id,
        {"shown": [None, record_as], "stops": [None, len(rows)], "people": [None, sorted(shown)]},
    )
    return rows


def _checks(stop: SweepStop) -> list[tuple[Any, Any]]:
    if stop.reason == StopReason.SAMPLE:
        return [(_l("Random sample"), SAMPLE_CHECK)]
    return [check_words(check) for check in stop.checks]


def next_day_to_walk(days: list[tuple[SweepDay, Progress]]) -> int | None:
    """The first day with a stop left: where a half-walked sweep resumes."""
    for day, progress in days:
        if progress.visited < progress.stops:
            return day.number
    return days[0][0].number if days else None


def dwelling_visits(session: Session, actor: UserAccount, dwelling_id: int):
    """A dwelling's visit history, newest first: week, area, outcome, who, note."""
    require(actor, PLANNING_ROLES)
    dwelling = session.scalar(
        select(Dwelling).where(Dwelling.id == dwelling_id, dwelling_filter(actor))
    )
    if dwelling is None:
        raise NotFound()
    rows = session.execute(
        select(SweepVisit, SweepStop, Sweep)
        .join(SweepStop, SweepStop.id == SweepVisit.stop_id)
        .join(Sweep, Sweep.id == SweepStop.sweep_id)
        .where(
            or_(
                SweepStop.dwelling_id == dwelling.id,
                and_(
                    SweepStop.dwelling_id.is_(None),
                    SweepStop.address_id
                    == select(Address.parent_id)
                    .where(Address.id == dwelling.address_id)
                    .scalar_subquery(),
                ),
            )
        )
        .options(joinedload(SweepVisit.visited_by), joinedload(Sweep.focus_area))
        .order_by(SweepVisit.visited_at.desc())
    ).all()
    return dwelling, rows


def stops_with_visible_photos(session: Session, actor: UserAccount, stop_ids: list[int]) -> set:
    """Which of these stops' photos the actor may open (the photo route's own rule)."""
    if not stop_ids:
        return set()
    return set(
        session.scalars(
            select(SweepStop.id).where(
                SweepStop.id.in_(stop_ids),
                photo_filter(actor, SweepStop.address_id, SweepStop.sweep_id),
            )
        )
    )


def assign_team(session: Session, actor: UserAccount, sweep_id: int, team_id: Any) -> Sweep:
    """Give the sweep to a team of the officer's station (or none)."""
    sweep = _planned_sweep(session, actor, sweep_id)
    if sweep.closed_at is not None:
        raise InvalidInput(fields={"team": [_l("This sweep is closed.")]})
    text = str(team_id or "").strip()
    new_team = None
    if text:
        from registry.sweeps.models import SweepTeam

        new_team = session.scalar(
            select(SweepTeam.id).where(
                SweepTeam.id == (int(text) if text.isdigit() else -1), team_filter(actor)
            )
        )
        if new_team is None:
            raise InvalidInput(fields={"team": [_l("Choose one of the listed values")]})
    before = sweep.team_id
    sweep.team_id = new_team
    session.flush()
    record(session, actor, Action.UPDATE, "sweep", sweep.id, {"team_id": [before, new_team]})
    return sweep


CLOSING_REASON_LENGTH = 500


def _reason(reason: Any) -> str:
    """The reason an officer gives for closing or reopening: required, and not a novel."""
    text = str(reason or "").strip()
    if not text:
        raise InvalidInput(fields={"reason": [_l("Give the reason")]})
    if len(text) > CLOSING_REASON_LENGTH:
        raise InvalidInput(
            fields={"reason": [_l("At most %(maximum)s characters", maximum=CLOSING_REASON_LENGTH)]}
        )
    return text


def _planned_sweep(session: Session, actor: UserAccount, sweep_id: int) -> Sweep:
    sweep = get_sweep(session, actor, sweep_id)
    if not may_plan(session, actor, sweep):
        raise NotFound()
    return sweep


def close_sweep(session: Session, actor: UserAccount, sweep_id: int, reason: Any) -> Sweep:
    """Close a sweep, with the officer's reason: its results stay, its team no longer
    sees its stops. Closed by mistake, it can be reopened while its week lasts."""
    sweep = _planned_sweep(session, actor, sweep_id)
    text = _reason(reason)
    if sweep.closed_at is None:
        sweep.closed_at = datetime.now(UTC)
        sweep.closed_by_id = actor.id
        session.flush()
        record(
            session,
            actor,
            Action.UPDATE,
            "sweep",
            sweep.id,
            {"closed": [False, True], "reason": [None, text]},
        )
    return sweep


def reopen_sweep(
    session: Session, actor: UserAccount, sweep_id: int, reason: Any, today: date
) -> Sweep:
    """Reopen a sweep closed by mistake, while its week has not ended (with a reason)."""
    sweep = _planned_sweep(session, actor, sweep_id)
    if sweep.closed_at is None:
        return sweep
    if is_over(sweep, today):
        raise InvalidInput(fields={"reason": [_l("Its week is over: the sweep stays closed.")]})
    text = _reason(reason)
    sweep.closed_at = None
    sweep.closed_by_id = None
    session.flush()
    record(
        session,
        actor,
        Action.UPDATE,
        "sweep",
        sweep.id,
        {"closed": [True, False], "reason": [None, text]},
    )
    return sweep


def is_over(sweep: Sweep, today: date) -> bool:
    return today > week_end(sweep.week_start)
