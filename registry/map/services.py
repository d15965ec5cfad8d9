"""The grid map's data: cells and their figures, boundaries, roads, a cell's buildings, search.

Every query applies the actor's scope from :mod:`registry.scope`; a record outside it is
"not found". Geometry leaves PostgreSQL as GeoJSON text (6 decimals, simplified for the
zoom asked for), never as Python objects walked row by row. Buildings' status comes from
the dwelling status of :mod:`registry.dwelling.status` through the same counts the grid
worker's cell list shows; a building's worst status is read off those counts
(:func:`worst_status`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import Select, and_, case, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address, Road
from registry.address.services import address_point, natural_order, search_addresses
from registry.area.models import Community, District, PoliceStation
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.services import StatusCounts, _counts, _with_status, moved_away_to_check
from registry.dwelling.status import (
    CapacityThresholds,
    Worst,
    capacity_sql,
    current_filing_of,
    current_rule,
    occupancy_problem_of,
    residents_of,
    worst_status,
)
from registry.errors import NotFound
from registry.figures.services import Figures, figures_by_cell, figures_state
from registry.flags.models import LIVE_STATES, Flag, FlagState
from registry.flags.services import VIEWING_ROLES, live_flags_by_cell
from registry.grid.models import FocusArea, GridCell, focus_area_cell
from registry.map.measures import CellValues
from registry.organisation.models import Organisation
from registry.scope import (
    address_filter,
    community_filter,
    dwelling_filter,
    get_in_scope,
    grid_cell_filter,
    organisation_filter,
)

PANEL_BUILDINGS = 40
SEARCH_LIMIT = 10
COORDINATE_DECIMALS = 6


# -- where the map is --------------------------------------------------------------------


def _station_cells(station_id: int | None):
    """Cells of one police station (an administrator's choice); everything without one."""
    if station_id is None:
        return true()
    return GridCell.community_id.in_(
        select(Community.id).where(Community.police_station_id == station_id)
    )


def stations(session: Session, actor: UserAccount) -> list[PoliceStation]:
    """The stations an administrator may pick (officers see their own only)."""
    if actor.role != Role.ADMIN:
        return []
    return list(session.scalars(select(PoliceStation).order_by(PoliceStation.code)))


def chosen_station(session: Session, actor: UserAccount, station_id: int | None):
    """The station the map is of: an officer's own, an administrator's choice, or None."""
    if actor.role == Role.POLICE_OFFICER:
        return session.get(PoliceStation, actor.police_station_id)
    if actor.role == Role.ADMIN and station_id is not None:
        station = session.get(PoliceStation, station_id)
        if station is None:
            raise NotFound()
        return station
    return None


def extent(
    session: Session, actor: UserAccount, station_id: int | None
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((south, west), (north, east)) of the cells in scope; the district's if none."""
    corners = _corners(
        session,
        select(func.ST_Extent(GridCell.geom).label("box"))
        .where(grid_cell_filter(actor), _station_cells(station_id))
        .subquery(),
    )
    if corners is None:
        corners = _corners(session, select(func.ST_Extent(District.geom).label("box")).subquery())
    if corners is None:
        return None
    west, south, east, north = corners
    return (south, west), (north, east)


def _corners(session: Session, extent_query) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of a one-row subquery holding a ``box``; None if empty."""
    box = extent_query.c.box
    row = session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
    ).one()
    return None if row[0] is None else tuple(float(value) for value in row)


# -- grid cells and their figures --------------------------------------------------------


def simplify_tolerance(zoom: int) -> float:
    """Half a screen pixel at ``zoom``, in degrees: simplification nobody can see."""
    zoom = max(0, min(zoom, 22))
    return 360.0 / (256 * 2**zoom) / 2


def _geojson(geometry, zoom: int):
    return func.ST_AsGeoJSON(
        func.ST_SimplifyPreserveTopology(geometry, simplify_tolerance(zoom)), COORDINATE_DECIMALS
    )


@dataclass(frozen=True)
class CellShape:
    id: int
    code: str
    name: str
    community: str
    geometry: str  # GeoJSON text


def cell_shapes(
    session: Session, actor: UserAccount, station_id: int | None, zoom: int
) -> list[CellShape]:
    """The grid cells in scope (of one station, for an administrator), simplified for zoom."""
    rows = session.execute(
        select(
            GridCell.id,
            GridCell.code,
            GridCell.name,
            Community.name,
            _geojson(GridCell.geom, zoom),
        )
        .join(Community, Community.id == GridCell.community_id)
        .where(grid_cell_filter(actor), _station_cells(station_id))
        .order_by(GridCell.id)
    )
    return [CellShape(*row) for row in rows]


def cell_figures(session: Session, actor: UserAccount) -> tuple[dict[int, Figures], date | None]:
    """The precomputed figures of each grid cell in scope, and the day they are for.

    One query over the per-cell figures (registry/figures), never a count of the dwellings;
    the day is None before the figures were first computed.
    """
    figures = figures_by_cell(session, actor)
    state = figures_state(session)
    by_cell = {cell_id: row for cell_id, row in figures.items() if cell_id is not None}
    return by_cell, (state.as_of if state else None)


def cell_values(
    session: Session, actor: UserAccount, cell_ids: list[int]
) -> tuple[dict[int, CellValues], date | None]:
    """What the measures of these cells read: the precomputed figures (and their day) and
    the live flags counted now (registry/flags), one query each."""
    figures, as_of = cell_figures(session, actor)
    # A long list (the whole map) filters nothing that the scope does not already.
    live = live_flags_by_cell(session, actor, cell_ids if len(cell_ids) <= 100 else None)
    return {i: CellValues(figures.get(i), live.get(i, 0)) for i in cell_ids}, as_of


# -- boundaries and roads ----------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    id: int
    name: str
    geometry: str


BOUNDARY_KINDS = ("communities", "stations", "focus_areas")


def boundaries(
    session: Session, actor: UserAccount, kind: str, station_id: int | None, zoom: int
) -> list[Shape]:
    """Outlines of communities, police stations or focus areas, as far as they are in scope.

    A focus area is drawn as the union of its cells in scope, so a grid worker sees only
    the part in their own cells.
    """
    if kind == "communities":
        query = (
            select(Community.id, Community.name, _geojson(Community.geom, zoom))
            .where(community_filter(actor), _station_communities(station_id))
            .order_by(Community.id)
        )
    elif kind == "stations":
        query = (
            select(
                PoliceStation.id,
                PoliceStation.name,
                _geojson(func.ST_Union(Community.geom), zoom),
            )
            .join(Community, Community.police_station_id == PoliceStation.id)
            .where(community_filter(actor), _station_communities(station_id))
            .group_by(PoliceStation.id)
            .order_by(PoliceStation.id)
        )
    elif kind == "focus_areas":
        query = (
            select(FocusArea.id, FocusArea.name, _geojson(func.ST_Union(GridCell.geom), zoom))
            .join(focus_area_cell, focus_area_cell.c.focus_area_id == FocusArea.id)
            .join(GridCell, GridCell.id == focus_area_cell.c.grid_cell_id)
            .where(grid_cell_filter(actor), _station_cells(station_id))
            .group_by(FocusArea.id)
            .order_by(FocusArea.id)
        )
    else:
        raise NotFound()
    return [Shape(*row) for row in session.execute(query)]


def _station_communities(station_id: int | None):
    if station_id is None:
        return true()
    return Community.police_station_id == station_id


def roads(session: Session, actor: UserAccount, station_id: int | None, zoom: int) -> list[Shape]:
    """Roads with an address in scope, cut to the cells in scope, one line per piece.

    There is no basemap by default, so roads and their names are how people find their
    way; an administrator's whole-district map shows them whole.
    """
    tolerance = simplify_tolerance(zoom)
    own = select(Address.id).where(Address.road_id == Road.id, address_filter(actor))
    if actor.role == Role.ADMIN and station_id is None:
        line = Road.geom
        where = and_(Road.geom.is_not(None), own.exists())
    else:
        area = (
            select(func.ST_Union(GridCell.geom))
            .where(grid_cell_filter(actor), _station_cells(station_id))
            .scalar_subquery()
        )
        line = func.ST_Intersection(Road.geom, area)
        where = and_(Road.geom.is_not(None), func.ST_Intersects(Road.geom, area), own.exists())
    pieces = (
        select(Road.id, Road.name, func.ST_Dump(line).geom.label("geom")).where(where).subquery()
    )
    query = (
        select(
            pieces.c.id,
            pieces.c.name,
            func.ST_AsGeoJSON(func.ST_Simplify(pieces.c.geom, tolerance), COORDINATE_DECIMALS),
        )
        .where(func.GeometryType(pieces.c.geom) == "LINESTRING")
        .order_by(pieces.c.id)
    )
    return [Shape(*row) for row in session.execute(query)]


# -- buildings: counts and worst status ---------------------------------------------------


def _building_id():
    """A dwelling's building: its address's parent, or the address itself (a house)."""
    return func.coalesce(Address.parent_id, Address.id)


def _building_addresses(buildings):
    """The addresses of the buildings in ``buildings`` (a select of ids): their rooms' and
    their own (a house). Two index look-ups joined by UNION ALL: an OR of the two would
    read every address."""
    rooms = aliased(Address, name="room")
    return union_all(
        select(rooms.id).where(rooms.parent_id.in_(buildings)),
        buildings,
    ).subquery("building_addresses")


def building_counts_query(session: Session, actor: UserAccount, buildings, today: date):
    """Per building id in ``buildings`` (a select of ids): the status counts of its dwellings
    (:func:`building_counts_for` with the capacity thresholds in force on ``today``)."""
    return building_counts_for(actor, buildings, today, current_rule(session, today))


def building_counts_for(actor, buildings, today, rule: CapacityThresholds | None):
    """Per building id in ``buildings`` (a select of ids): the status counts of its dwellings
    under the capacity thresholds ``rule``. ``actor`` may be a
    :class:`registry.scope.BoundActor` and ``today`` a bound parameter (the map's tiles).

    The counts are the grid worker's list's own (``_counts``, :class:`StatusCounts`) over
    the same status columns; only the way to them is faster for the many dwellings of a
    tile. A building's dwellings are at its rooms' addresses and at its own (a house): two
    index look-ups joined by UNION ALL (an OR of the two would read every address). Each
    dwelling's filing and residents are looked up once (LATERAL, registry/dwelling/status.py).
    """
    addresses = _building_addresses(buildings)
    filing = current_filing_of(Dwelling, today)
    residents = residents_of(Dwelling, today)
    capacity = capacity_sql(rule, Dwelling)
    status = (
        select(
            Dwelling.id.label("dwelling_id"),
            _building_id().label("building_id"),
            filing.c.filing_id.label("current_filing_id"),
            filing.c.rental_pledge,
            filing.c.security_guarantee,
            residents.c.occupants.label("occupants_now"),
            (capacity if capacity is not None else literal(None)).label("capacity"),
            (Dwelling.occupancy == Occupancy.RENTED).label("is_rented"),
            occupancy_problem_of(
                Dwelling.occupancy,
                residents.c.occupants,
                residents.c.tenant_side,
                residents.c.owner_side,
            ).label("occupancy_problem"),
            moved_away_to_check().label("moved_away_to_check"),
        )
        .select_from(Dwelling)
        .join(Address, Address.id == Dwelling.address_id)
        .join(addresses, addresses.c[0] == Address.id)
        .outerjoin(filing, true())
        .join(residents, true())
        .where(dwelling_filter(actor))
        .subquery("dwelling_status")
    )
    names = [f.name for f in fields(StatusCounts)]
    return (
        select(
            status.c.building_id,
            *(c.label(n) for c, n in zip(_counts(status), names, strict=True)),
        )
        .group_by(status.c.building_id)
        .subquery("building_counts")
    )


# -- buildings: their live flags ----------------------------------------------------------

# The live states a building's marker can show, the one asking most of a person first: open
# (nobody has taken it up yet), in review (someone is on it), confirmed (decided, waiting
# for a person to resolve it).
MARKED_STATES = (FlagState.OPEN, FlagState.IN_REVIEW, FlagState.CONFIRMED)


def building_flags_query(actor: UserAccount, buildings):
    """Per building id in ``buildings`` (a select of ids): the live flags in the actor's
    scope standing on it or its rooms: ``flags`` (how many) and one count per state of
    :data:`MARKED_STATES` (columns named by the state). Buildings without any have no row.

    The flags are scoped on their own place (the room's address for a dwelling's flag), as
    the flag list scopes them, so the map counts exactly what its links lead to. Property
    managers see no flags.
    """
    addresses = _building_addresses(buildings)
    building_id = _building_id()
    visible = address_filter(actor) if actor.role in VIEWING_ROLES else false()
    return (
        select(
            building_id.label("building_id"),
            func.count().label("flags"),
            *(func.count().filter(Flag.state == s).label(str(s)) for s in MARKED_STATES),
        )
        .select_from(Flag)
        .join(Address, Address.id == Flag.address_id)
        .where(
            Flag.state.in_(LIVE_STATES),
            Flag.address_id.in_(select(addresses.c[0])),
            visible,
        )
        .group_by(building_id)
        .subquery("building_flags")
    )


def marked_state(flags) -> ColumnElement:
    """SQL: the state a building's marker shows, from the columns of
    :func:`building_flags_query` (NULL without live flags)."""
    return case(*((flags.c[str(s)] > 0, literal(str(s))) for s in MARKED_STATES), else_=None)


def building_flags(session: Session, actor: UserAccount, building_id: int) -> dict[FlagState, int]:
    """How many live flags in scope stand on one building and its rooms, per state (the
    same query as the map's tile); states without any are left out."""
    flags = building_flags_query(actor, select(literal(building_id)))
    row = session.execute(select(*(flags.c[str(s)] for s in MARKED_STATES))).first()
    if row is None:
        return {}
    return {state: count for state, count in zip(MARKED_STATES, row, strict=True) if count}


@dataclass(frozen=True)
class BuildingRow:
    address: Address
    counts: StatusCounts
    worst: Worst


def _building_rows(session: Session, query: Select, counts) -> list[BuildingRow]:
    rows = []
    for row in session.execute(query):
        values = [int(getattr(row, f.name) or 0) for f in fields(StatusCounts)]
        rows.append(BuildingRow(row.Address, StatusCounts(*values), Worst(row.worst)))
    return rows


def cell_buildings(
    session: Session, actor: UserAccount, cell_id: int, today: date, limit: int = PANEL_BUILDINGS
) -> tuple[list[BuildingRow], int]:
    """A cell's buildings with their counts, worst first, then in walking order."""
    get_in_scope(session, actor, GridCell, cell_id)
    where = (Address.grid_cell_id == cell_id, Address.parent_id.is_(None), address_filter(actor))
    total = session.scalar(select(func.count()).select_from(Address).where(*where)) or 0
    ids = select(Address.id).where(*where)
    counts = building_counts_query(session, actor, ids, today)
    worst = worst_status(counts.c).label("worst")
    query = (
        select(Address, worst, *counts.c)
        .join(Road, Road.id == Address.road_id)
        .outerjoin(counts, counts.c.building_id == Address.id)
        .where(*where)
        .order_by(worst, Road.name, *natural_order(Address.door_number), Address.id)
        .limit(limit)
    )
    return _building_rows(session, query, counts), total


def building(session: Session, actor: UserAccount, address_id: int, today: date) -> BuildingRow:
    """One building (door-level address) in scope with its counts; NotFound otherwise."""
    address = get_in_scope(session, actor, Address, address_id)
    ids = select(literal(address.id))
    counts = building_counts_query(session, actor, ids, today)
    worst = worst_status(counts.c).label("worst")
    query = (
        select(Address, worst, *counts.c)
        .outerjoin(counts, counts.c.building_id == Address.id)
        .where(Address.id == address.id)
    )
    return _building_rows(session, query, counts)[0]


def organisations_with(
    session: Session, actor: UserAccount, organisation_id: int
) -> list[Organisation]:
    """The organisation and every other one in scope at its address (one marker on the map)."""
    chosen = get_in_scope(session, actor, Organisation, organisation_id)
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.address_id == chosen.address_id, organisation_filter(actor))
            .order_by(Organisation.id != chosen.id, Organisation.name, Organisation.id)
        )
    )


# -- the officer's cell page -------------------------------------------------------------


def cell_dwellings(
    session: Session,
    actor: UserAccount,
    cell_id: int,
    today: date,
    page: int,
    per_page: int,
    building_id: int | None = None,
):
    """A cell's dwellings (one page) with their status, in walking order; and the total.

    ``building_id`` narrows the list to one building of the cell (the map's popup links
    here); a building outside the cell or the scope is "not found".
    """
    if building_id is not None:
        chosen = get_in_scope(session, actor, Address, building_id)
        if chosen.grid_cell_id != cell_id:
            raise NotFound()
    a = aliased(Address, name="a")
    where = [a.grid_cell_id == cell_id, dwelling_filter(actor)]
    if building_id is not None:
        where.append(or_(a.id == building_id, a.parent_id == building_id))
    total = (
        session.scalar(
            select(func.count(Dwelling.id)).join(a, a.id == Dwelling.address_id).where(*where)
        )
        or 0
    )
    query = (
        select(a, Dwelling)
        .join_from(a, Dwelling, Dwelling.address_id == a.id)
        .join(Road, Road.id == a.road_id)
        .where(*where)
        .order_by(
            Road.name,
            *natural_order(a.door_number),
            *natural_order(a.building),
            *natural_order(a.entrance),
            a.floor.nulls_first(),
            *natural_order(a.room),
            a.id,
        )
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return _with_status(session, query, today), total


def pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


# -- search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    id: int
    text: str
    lon: float
    lat: float


def search(session: Session, actor: UserAccount, query: str) -> tuple[list[SearchHit], bool]:
    """Addresses in scope matching the normalised full text (the grid worker's search)."""
    found, more = search_addresses(session, actor, query, limit=SEARCH_LIMIT)
    hits = []
    for address in found:
        lon, lat = address_point(address)
        hits.append(SearchHit(address.id, address.full_text, lon, lat))
    return hits, more
