"""The lists behind the dashboard's figures: which dwellings or people make up a count.

Every count on /dashboard/ (per community, per grid cell, in total) opens the list of its
records, scoped to the user like every other query, paginated, and exportable as XLSX.
The figures are precomputed "as of" a time; the lists are live. Each measure is defined
here from the same status definitions (registry/dwelling/status.py) the figures are
computed from, so when a list's length differs from its figure the only reason is time,
and the page says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.area.models import Community, PoliceStation
from registry.audit.services import Action, record
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import (
    capacity_sql,
    current_filing_id,
    current_rule,
    dwelling_status,
    legal_capacity,
    occupants_now,
    over_capacity,
    pledges_complete,
    residence_is_current,
)
from registry.errors import NotFound
from registry.figures.models import CellFigures
from registry.figures.services import FiguresState, figure_sums, figures_state
from registry.grid.models import GridCell
from registry.person.models import Person, Residence, ResidenceKind
from registry.person.residences import record_list_views
from registry.scope import (
    cell_figures_filter,
    community_filter,
    dwelling_filter,
    get_in_scope,
    grid_cell_filter,
)

PAGE_SIZE = 50
DESK_ROLES = (Role.POLICE_OFFICER, Role.ADMIN)


@dataclass(frozen=True)
class Measure:
    key: str  # in URLs
    figure: str  # the attribute of registry.figures Figures it explains
    title: object  # lazy text
    people: bool = False  # a list of people (else of dwellings)


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("unfiled", "rented_unfiled", _l("Rented dwellings without a current filing")),
        Measure("pledges_missing", "pledges_missing", _l("Current filings missing a pledge")),
        Measure("over_capacity", "over_capacity", _l("Dwellings over their legal capacity")),
        Measure("transient", "transient", _l("Transient population"), people=True),
    )
}


@dataclass(frozen=True)
class Area:
    """Which part of the jurisdiction a list covers (every field None: all of it)."""

    station_id: int | None = None  # admins: one police station's jurisdiction
    community_id: int | None = None
    cell_id: int | None = None
    outside_cells: bool = False  # addresses in no grid cell of the jurisdiction
    name: str = ""

    def query_args(self) -> dict:
        args: dict = {}
        if self.station_id is not None:
            args["station"] = self.station_id
        if self.community_id is not None:
            args["community"] = self.community_id
        if self.cell_id is not None:
            args["cell"] = self.cell_id
        if self.outside_cells:
            args["cell"] = "none"
        return args


def _require_desk(actor: UserAccount) -> None:
    if actor.role not in DESK_ROLES:
        raise NotFound()


def resolve_area(
    session: Session,
    actor: UserAccount,
    *,
    station: str = "",
    community: str = "",
    cell: str = "",
) -> Area:
    """The area named by the query string, in the actor's scope (NotFound otherwise)."""
    _require_desk(actor)
    for raw in (station, community):
        if raw and not raw.isdigit():
            raise NotFound()
    if cell and cell != "none" and not cell.isdigit():
        raise NotFound()
    station_id = int(station) if station and actor.role == Role.ADMIN else None
    name = ""
    if station_id is not None:
        found = session.get(PoliceStation, station_id)
        if found is None:
            raise NotFound()
        name = found.name
    community_id = int(community) if community else None
    if community_id is not None:
        found = session.scalar(
            select(Community).where(Community.id == community_id, community_filter(actor))
        )
        if found is None:
            raise NotFound()
        name = found.name
    if cell.isdigit():
        grid_cell = get_in_scope(session, actor, GridCell, int(cell))
        return Area(station_id, None, grid_cell.id, False, grid_cell.name)
    return Area(station_id, community_id, None, cell == "none", name)


def _area_condition(actor: UserAccount, area: Area, address) -> ColumnElement[bool]:
    conditions = []
    if area.station_id is not None:
        conditions.append(
            address.community_id.in_(
                select(Community.id).where(Community.police_station_id == area.station_id)
            )
        )
    if area.community_id is not None:
        conditions.append(address.community_id == area.community_id)
    if area.cell_id is not None:
        conditions.append(address.grid_cell_id == area.cell_id)
    if area.outside_cells:
        in_scope = select(GridCell.id).where(grid_cell_filter(actor))
        conditions.append(
            or_(address.grid_cell_id.is_(None), address.grid_cell_id.not_in(in_scope))
        )
    return and_(true(), *conditions)


def _dwelling_condition(session: Session, measure: str, today: date) -> ColumnElement[bool]:
    """Whether a dwelling is counted by the measure: the figures' own definitions."""
    filing = current_filing_id(Dwelling.id, today)
    if measure == "unfiled":
        return and_(Dwelling.occupancy == Occupancy.RENTED, filing.is_(None))
    if measure == "pledges_missing":
        return and_(filing.is_not(None), ~pledges_complete(filing))
    if measure == "over_capacity":
        capacity = capacity_sql(current_rule(session, today), Dwelling)
        return over_capacity(occupants_now(Dwelling.id, today), capacity)
    return false()


@dataclass
class DwellingRow:
    dwelling: Dwelling
    address: Address
    status: object  # the row with the status columns (registry.dwelling.status)
    capacity: int | None


@dataclass
class PersonRow:
    person_id: int
    name: str
    dwelling_id: int
    address: str
    moved_in: date


@dataclass
class ListPage:
    measure: Measure
    area: Area
    rows: list
    total: int  # live
    page: int
    per_page: int
    figure: int | None  # the precomputed figure of the same area and measure
    state: FiguresState | None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def differs(self) -> bool:
        return self.figure is not None and self.figure != self.total


def measure_of(key: str) -> Measure:
    if key not in MEASURES:
        raise NotFound()
    return MEASURES[key]


def _dwellings_query(
    session: Session, actor: UserAccount, measure: str, area: Area, today: date
) -> tuple[Select, object]:
    a = aliased(Address, name="a")
    return (
        select(Dwelling, a)
        .join(a, a.id == Dwelling.address_id)
        .where(
            dwelling_filter(actor),
            _area_condition(actor, area, a),
            _dwelling_condition(session, measure, today),
        )
        .order_by(a.full_text, Dwelling.id)
    ), a


def _people_query(actor: UserAccount, area: Area, today: date) -> Select:
    a = aliased(Address, name="a")
    return (
        select(Person.id, Person.name, Dwelling.id, a.full_text, Residence.moved_in)
        .select_from(Residence)
        .join(Person, Person.id == Residence.person_id)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(a, a.id == Dwelling.address_id)
        .where(
            Residence.kind == ResidenceKind.TRANSIENT,
            residence_is_current(today),
            dwelling_filter(actor),
            _area_condition(actor, area, a),
        )
        .order_by(a.full_text, Person.name, Person.id)
    )


def _figure(session: Session, actor: UserAccount, measure: Measure, area: Area) -> int:
    """The precomputed figure of the area: the rows of cell_figures the page added up."""
    rows = select(*figure_sums(CellFigures)).where(cell_figures_filter(actor))
    if area.station_id is not None:
        rows = rows.where(
            CellFigures.community_id.in_(
                select(Community.id).where(Community.police_station_id == area.station_id)
            )
        )
    if area.community_id is not None:
        rows = rows.where(CellFigures.community_id == area.community_id)
    if area.cell_id is not None:
        rows = rows.where(CellFigures.grid_cell_id == area.cell_id)
    if area.outside_cells:
        in_scope = select(GridCell.id).where(grid_cell_filter(actor))
        rows = rows.where(
            or_(CellFigures.grid_cell_id.is_(None), CellFigures.grid_cell_id.not_in(in_scope))
        )
    result = session.execute(rows).one()
    return int(getattr(result, measure.figure) or 0)


def list_page(
    session: Session,
    actor: UserAccount,
    key: str,
    area: Area,
    today: date,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> ListPage:
    """One page of the live list behind a figure, with the figure beside it.

    A page of people shows their names: a view of each, logged as on every list.
    """
    _require_desk(actor)
    measure = measure_of(key)
    page = max(1, page)
    offset = (page - 1) * per_page
    if measure.people:
        query = _people_query(actor, area, today)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = [PersonRow(*row) for row in session.execute(query.limit(per_page).offset(offset))]
        record_list_views(session, actor, [Person(id=row.person_id) for row in rows], "list")
    else:
        query, a = _dwellings_query(session, actor, key, area, today)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rule = current_rule(session, today)
        rows = [
            DwellingRow(row[0], row[1], row, legal_capacity(row[0].floor_area, row[0].rooms, rule))
            for row in session.execute(
                dwelling_status(query, Dwelling, today).limit(per_page).offset(offset)
            )
        ]
    return ListPage(
        measure,
        area,
        rows,
        total,
        page,
        per_page,
        _figure(session, actor, measure, area),
        figures_state(session),
    )


def export_rows(
    session: Session, actor: UserAccount, key: str, area: Area, today: date
) -> tuple[Measure, list]:
    """Every row of the list, for its XLSX; the export is one audit entry naming the list
    (which list, which area, how many rows), not one entry per person."""
    _require_desk(actor)
    measure = measure_of(key)
    if measure.people:
        rows = [PersonRow(*row) for row in session.execute(_people_query(actor, area, today))]
    else:
        query, _a = _dwellings_query(session, actor, key, area, today)
        rule = current_rule(session, today)
        rows = [
            DwellingRow(row[0], row[1], row, legal_capacity(row[0].floor_area, row[0].rooms, rule))
            for row in session.execute(dwelling_status(query, Dwelling, today))
        ]
    record(
        session,
        actor,
        Action.EXPORT,
        "list",
        key,
        {"list": key, **{k: str(v) for k, v in area.query_args().items()}, "rows": len(rows)},
    )
    return measure, rows
