"""Grid cells 网格 that split a community, and focus areas 重点区域 made of cells."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import SRID, Base, TimestampMixin, VersionedMixin

grid_cell_worker = Table(
    "grid_cell_worker",
    Base.metadata,
    Column("grid_cell_id", ForeignKey("grid_cell.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
)

focus_area_cell = Table(
    "focus_area_cell",
    Base.metadata,
    Column("focus_area_id", ForeignKey("focus_area.id", ondelete="CASCADE"), primary_key=True),
    Column("grid_cell_id", ForeignKey("grid_cell.id", ondelete="CASCADE"), primary_key=True),
)


class GridCell(TimestampMixin, VersionedMixin, Base):
    """One irregular cell of a few hundred households, visited by its assigned grid workers.

    Addresses are not linked by hand: a database trigger derives each address's cell from
    its point, and re-derives them whenever a cell's polygon changes.
    """

    __tablename__ = "grid_cell"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    geom = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False)

    community = relationship("Community")
    workers = relationship("UserAccount", secondary=grid_cell_worker, back_populates="grid_cells")


class FocusArea(TimestampMixin, VersionedMixin, Base):
    """A named set of grid cells that gets a sweep every week."""

    __tablename__ = "focus_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, server_default="")

    cells: Mapped[list[GridCell]] = relationship(secondary=focus_area_cell)
