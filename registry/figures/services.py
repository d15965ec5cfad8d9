"""Compute the per-cell figures in one statement, and read them for a user's scope.

The refresh is set work for PostgreSQL: one INSERT … SELECT over every dwelling, joined to
the current filings and current residents as registry/dwelling/status.py defines them,
grouped by (community, grid cell). Readers add up the rows in their scope, a few thousand
rows at most.

Only one refresh runs at a time: it holds a transaction-level advisory lock. The app's own
refresh (when the figures are stale) only tries the lock, so that of several workers one
refreshes and the others go on showing the figures they have.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Select,
    and_,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, aliased

from registry.accounts.models import UserAccount
from registry.address.models import Address
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import (
    capacity_sql,
    current_filings,
    current_residents,
    current_rule,
    occupancy_problem_of,
    over_capacity,
)
from registry.figures.models import COUNTS, CellFigures, FiguresRun
from registry.organisation.models import Organisation
from registry.scope import cell_figures_filter

# pg_advisory_xact_lock key of the refresh ("figures" in ASCII, as a bigint).
REFRESH_LOCK = 0x66696775726573
# How old figures may get before the app refreshes them (also when the day has changed).
DEFAULT_MAX_AGE = timedelta(minutes=15)
REFRESH_WORK_MEM = "64MB"
# A refresh asked for by hand is skipped when the figures are younger than this.
MIN_INTERVAL = timedelta(seconds=30)


@dataclass
class Figures:
    """The counts of one grid cell, one community or a whole scope (see models.COUNTS)."""

    dwellings: int = 0
    rented: int = 0
    rented_filed: int = 0
    rented_unfiled: int = 0
    rented_pledged: int = 0
    filed: int = 0
    filed_pledged: int = 0
    pledges_missing: int = 0
    over_capacity: int = 0
    occupancy_to_check: int = 0
    attention: int = 0
    occupants: int = 0
    registered: int = 0
    transient: int = 0
    organisations: int = 0

    @property
    def filed_share(self) -> float | None:
        """Share of rented dwellings that have a current filing (None: nothing rented)."""
        return self.rented_filed / self.rented if self.rented else None

    @property
    def pledged_share(self) -> float | None:
        """Share of rented dwellings with a current filing whose filing has both pledges."""
        return self.rented_pledged / self.rented_filed if self.rented_filed else None

    @property
    def filings_pledged_share(self) -> float | None:
        """Share of current filings (any occupancy) that have both pledges."""
        return self.filed_pledged / self.filed if self.filed else None

    @property
    def occupants_per_dwelling(self) -> float | None:
        return self.occupants / self.dwellings if self.dwellings else None

    @property
    def population(self) -> int:
        return self.registered + self.transient


assert tuple(f.name for f in fields(Figures)) == COUNTS


@dataclass(frozen=True)
class FiguresState:
    """For which day the figures were computed, when, and how long it took."""

    as_of: date
    computed_at: datetime
    seconds: float


# -- computing -----------------------------------------------------------------------------


def _dwelling_rows(session: Session, today: date) -> Select:
    """Per (community, grid cell): the dwelling and population counts, from status.py."""
    address = aliased(Address, name="a")
    filings = current_filings(today)
    residents = current_residents(today)
    occupants = func.coalesce(residents.c.occupants, 0)
    rented = Dwelling.occupancy == Occupancy.RENTED
    filed = filings.c.filing_id.is_not(None)
    unfiled = and_(rented, filings.c.filing_id.is_(None))
    pledged = and_(filed, filings.c.pledges_complete)
    missing = and_(filed, ~filings.c.pledges_complete)
    over = over_capacity(occupants, capacity_sql(current_rule(session, today), Dwelling))
    problem = occupancy_problem_of(
        Dwelling.occupancy,
        occupants,
        func.coalesce(residents.c.tenant_side, false()),
        func.coalesce(residents.c.owner_side, false()),
    ).is_not(None)
    count = func.count(Dwelling.id)
    measures = {
        "dwellings": count,
        "rented": count.filter(rented),
        "rented_filed": count.filter(rented, filed),
        "rented_unfiled": count.filter(unfiled),
        "rented_pledged": count.filter(rented, pledged),
        "filed": count.filter(filed),
        "filed_pledged": count.filter(pledged),
        "pledges_missing": count.filter(missing),
        "over_capacity": count.filter(over),
        "occupancy_to_check": count.filter(problem),
        "attention": count.filter(or_(unfiled, missing, over, problem)),
        "occupants": func.sum(occupants),
        "registered": func.sum(func.coalesce(residents.c.registered, 0)),
        "transient": func.sum(func.coalesce(residents.c.transient, 0)),
        "organisations": literal(0),
    }
    return (
        select(
            address.community_id,
            address.grid_cell_id,
            *(measures[name].label(name) for name in COUNTS),
        )
        .select_from(Dwelling)
        .join(address, address.id == Dwelling.address_id)
        .outerjoin(filings, filings.c.dwelling_id == Dwelling.id)
        .outerjoin(residents, residents.c.dwelling_id == Dwelling.id)
        .group_by(address.community_id, address.grid_cell_id)
    )


def _organisation_rows() -> Select:
    address = aliased(Address, name="a")
    counts = {name: literal(0) for name in COUNTS} | {"organisations": func.count()}
    return (
        select(
            address.community_id,
            address.grid_cell_id,
            *(counts[name].label(name) for name in COUNTS),
        )
        .select_from(Organisation)
        .join(address, address.id == Organisation.address_id)
        .group_by(address.community_id, address.grid_cell_id)
    )


def figures_statement(session: Session, today: date):
    """INSERT INTO cell_figures the rows of every (community, grid cell), in one statement."""
    parts = union_all(_dwelling_rows(session, today), _organisation_rows()).subquery("parts")
    rows = select(
        parts.c.community_id,
        parts.c.grid_cell_id,
        *(func.sum(parts.c[name]).label(name) for name in COUNTS),
    ).group_by(parts.c.community_id, parts.c.grid_cell_id)
    return insert(CellFigures).from_select(["community_id", "grid_cell_id", *COUNTS], rows)


def refresh_figures(session: Session, today: date, *, locked: bool = False) -> FiguresState:
    """Recompute every row for ``today``; waits for a refresh that runs already.

    ``locked``: the caller holds the refresh lock. Readers see the old rows until the
    transaction commits.
    """
    if not locked:
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
    # Grouping half a million dwellings: with the default work_mem the sorts spill to disk.
    session.execute(text(f"SET LOCAL work_mem = '{REFRESH_WORK_MEM}'"))
    started = time.perf_counter()
    session.execute(delete(CellFigures).execution_options(synchronize_session=False))
    session.execute(figures_statement(session, today))
    seconds = time.perf_counter() - started
    values = {"as_of": today, "computed_at": func.now(), "seconds": seconds}
    session.execute(
        pg_insert(FiguresRun)
        .values(id=1, **values)
        .on_conflict_do_update(index_elements=[FiguresRun.id], set_=values)
    )
    session.expire_all()
    return figures_state(session)


def figures_state(session: Session) -> FiguresState | None:
    """When and for which day the figures were computed; None before the first refresh."""
    row = session.execute(
        select(FiguresRun.as_of, FiguresRun.computed_at, FiguresRun.seconds).where(
            FiguresRun.id == 1
        )
    ).first()
    return FiguresState(*row) if row else None


def _database_now(session: Session) -> datetime:
    return session.scalar(select(func.now()))


def is_stale(state: FiguresState | None, today: date, now: datetime, max_age: timedelta) -> bool:
    """Never computed, computed for another day, or older than ``max_age``."""
    return state is None or state.as_of != today or now - state.computed_at > max_age


def figures_are_stale(session: Session, today: date, max_age: timedelta = DEFAULT_MAX_AGE) -> bool:
    """Whether the stored figures are stale now (one small query)."""
    return is_stale(figures_state(session), today, _database_now(session), max_age)


def refresh_if_stale(session: Session, today: date, max_age: timedelta = DEFAULT_MAX_AGE) -> bool:
    """Refresh when the figures are stale and no other worker is refreshing them already.

    Returns whether this call refreshed. Takes the lock without waiting: a worker that does
    not get it leaves the work to the one that did.
    """
    if not figures_are_stale(session, today, max_age):
        return False
    if not session.scalar(select(func.pg_try_advisory_xact_lock(REFRESH_LOCK))):
        return False
    # Another worker may have committed a refresh between the first look and the lock.
    if not figures_are_stale(session, today, max_age):
        return False
    refresh_figures(session, today, locked=True)
    return True


def computed_moments_ago(session: Session, today: date) -> bool:
    """The figures of ``today`` are only seconds old: a user's refresh is not needed."""
    state = figures_state(session)
    return state is not None and not is_stale(state, today, _database_now(session), MIN_INTERVAL)


def refresh_on_request(session: Session, today: date) -> bool:
    """A user's refresh: done unless the figures of ``today`` are only seconds old."""
    session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
    if computed_moments_ago(session, today):
        return False
    refresh_figures(session, today, locked=True)
    return True


# -- reading -------------------------------------------------------------------------------


def figure_sums(rows) -> list:
    """``sum(count)`` of every measure over ``rows`` (CellFigures or a subquery of it)."""
    return [func.coalesce(func.sum(getattr(rows, name)), 0).label(name) for name in COUNTS]


def figures_of(row) -> Figures:
    """A ``Figures`` from a result row holding every measure by name."""
    return Figures(**{name: int(getattr(row, name) or 0) for name in COUNTS})


def figures_by_cell(session: Session, actor: UserAccount) -> dict[int | None, Figures]:
    """The figures of each grid cell in the actor's scope (None: addresses in no cell).

    For the grid map: one query over the precomputed rows.
    """
    rows = session.execute(
        select(CellFigures.grid_cell_id, *figure_sums(CellFigures))
        .where(cell_figures_filter(actor))
        .group_by(CellFigures.grid_cell_id)
    )
    return {row.grid_cell_id: figures_of(row) for row in rows}
