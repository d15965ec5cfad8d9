"""Dwellings 实有房屋 and the configurable rule that derives their legal capacity."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Numeric,
    SmallInteger,
    String,
    Table,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, TimestampMixin, VersionedMixin, enum_type


class DwellingUse(enum.StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    MIXED = "mixed"


class Occupancy(enum.StrEnum):
    OWNER_OCCUPIED = "owner_occupied"
    RENTED = "rented"
    VACANT = "vacant"
    OTHER = "other"


managed_dwelling = Table(
    "managed_dwelling",
    Base.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "dwelling_id", ForeignKey("dwelling.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Dwelling(TimestampMixin, VersionedMixin, Base):
    """One actual dwelling or room at a standard address: the unit of record and of visits."""

    __tablename__ = "dwelling"
    __table_args__ = (
        CheckConstraint("floor_area > 0", name="floor_area_positive"),
        CheckConstraint("rooms > 0", name="rooms_positive"),
        CheckConstraint(
            "NOT (owner_person_id IS NOT NULL AND owner_organisation_id IS NOT NULL)",
            name="one_owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"), unique=True)
    use: Mapped[DwellingUse] = mapped_column(enum_type(DwellingUse, "dwelling_use"))
    floor_area: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    rooms: Mapped[int] = mapped_column(SmallInteger)
    owner_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    owner_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), index=True
    )
    occupancy: Mapped[Occupancy] = mapped_column(enum_type(Occupancy, "occupancy"), index=True)

    address = relationship("Address")
    owner_person = relationship("Person", foreign_keys=[owner_person_id])
    owner_organisation = relationship("Organisation", foreign_keys=[owner_organisation_id])
    managers = relationship("UserAccount", secondary=managed_dwelling, back_populates="dwellings")


class CapacityRule(Base):
    """The group-rental (群租) thresholds in force from ``valid_from`` on.

    The newest rule whose ``valid_from`` has passed applies; older ones stay for history so
    a past flag can be explained by the rule that was in force then.
    """

    __tablename__ = "capacity_rule"
    __table_args__ = (
        CheckConstraint("min_floor_area_per_person > 0", name="area_positive"),
        CheckConstraint("max_people_per_room > 0", name="people_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    min_floor_area_per_person: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    max_people_per_room: Mapped[int] = mapped_column(SmallInteger)
    valid_from: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    note: Mapped[str] = mapped_column(String(200), server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
