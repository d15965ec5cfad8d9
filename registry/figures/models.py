"""Per-cell figures, precomputed: what the dashboards and the grid map read.

Counting 1M residences and 500,000 dwellings on every page view is what made the
dashboards slow at district scale. ``registry figures refresh`` (or the app, when the
figures are older than their configured age or were computed for another day) recomputes
every row in one statement from the status definitions of registry/dwelling/status.py;
pages then add up a few thousand rows.

One row per (community, grid cell) of the addresses: a user's scope is a set of
communities (officers) or grid cells (grid workers), so summing the rows in scope gives
exactly the figures of the records in scope. Addresses outside every grid cell have the
row of their community with no cell.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base

# The counts each row holds, in the order the refresh computes them.
COUNTS = (
    "dwellings",
    "rented",
    "rented_filed",  # rented, with a current lease filing
    "rented_unfiled",  # rented, without one
    "rented_pledged",  # rented, with a current filing that has both pledges
    "filed",  # dwellings with a current filing (of any occupancy)
    "filed_pledged",  # of those, the filing has both pledges
    "pledges_missing",  # of those, the filing lacks one or both
    "over_capacity",  # more people living there today than the legal capacity
    "occupancy_to_check",  # the recorded occupancy contradicts the residents
    "attention",  # dwellings with at least one problem: unfiled, pledges, capacity, occupancy
    "occupants",  # people living in the dwellings today
    "registered",  # of those, registered residents 户籍人口
    "transient",  # of those, the transient population 流动人口
    "organisations",
)


def _count() -> Mapped[int]:
    return mapped_column(server_default="0")


class CellFigures(Base):
    """The counts of the dwellings, people and organisations of one community's grid cell."""

    __tablename__ = "cell_figures"
    __table_args__ = (
        Index(
            "uq_cell_figures_area",
            "community_id",
            "grid_cell_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    grid_cell_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid_cell.id", ondelete="CASCADE"), index=True
    )
    dwellings: Mapped[int] = _count()
    rented: Mapped[int] = _count()
    rented_filed: Mapped[int] = _count()
    rented_unfiled: Mapped[int] = _count()
    rented_pledged: Mapped[int] = _count()
    filed: Mapped[int] = _count()
    filed_pledged: Mapped[int] = _count()
    pledges_missing: Mapped[int] = _count()
    over_capacity: Mapped[int] = _count()
    occupancy_to_check: Mapped[int] = _count()
    attention: Mapped[int] = _count()
    occupants: Mapped[int] = _count()
    registered: Mapped[int] = _count()
    transient: Mapped[int] = _count()
    organisations: Mapped[int] = _count()


class FiguresRun(Base):
    """When the figures were last computed, and for which day (one row)."""

    __tablename__ = "figures_run"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    as_of: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float] = mapped_column(Float)
