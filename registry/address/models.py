"""Standard addresses 标准地址: road/lane > door number > building > entrance > floor > room."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import SRID, Base, TimestampMixin, VersionedMixin


class Road(TimestampMixin, Base):
    """A road, street or lane 街路巷 whose name is unique within its district."""

    __tablename__ = "road"
    __table_args__ = (UniqueConstraint("district_id", "name", name="uq_road_district_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    geom = mapped_column(Geometry("LINESTRING", srid=SRID, spatial_index=True), nullable=True)


class Address(TimestampMixin, VersionedMixin, Base):
    """One canonical, geocoded address with a stable code.

    A door-level address (road + door number + building) is the parent of the room-level
    addresses inside it. ``grid_cell_id`` is derived by a trigger from ``geom`` and is never
    written by the application. ``full_text`` is the normalised text that search matches.
    """

    __tablename__ = "address"
    __table_args__ = (
        CheckConstraint("floor IS NULL OR floor BETWEEN -5 AND 200", name="floor_range"),
        CheckConstraint(
            "room IS NULL OR building IS NOT NULL OR door_number IS NOT NULL",
            name="room_needs_building",
        ),
        Index(
            "uq_address_parts",
            "road_id",
            "door_number",
            "building",
            "entrance",
            "floor",
            "room",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index(
            "ix_address_full_text_trgm",
            "full_text",
            postgresql_using="gin",
            postgresql_ops={"full_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    road_id: Mapped[int] = mapped_column(ForeignKey("road.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("address.id"), index=True)
    door_number: Mapped[str] = mapped_column(String(20))
    building: Mapped[str | None] = mapped_column(String(20))
    entrance: Mapped[str | None] = mapped_column(String(10))
    floor: Mapped[int | None] = mapped_column(SmallInteger)
    room: Mapped[str | None] = mapped_column(String(20))
    grid_cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cell.id"), index=True)
    full_text: Mapped[str] = mapped_column(String(300))
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)

    road: Mapped[Road] = relationship()
    community = relationship("Community")
    grid_cell = relationship("GridCell")
    parent: Mapped[Address | None] = relationship(remote_side=[id])
