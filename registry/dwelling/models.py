"""Dwellings 实有房屋.

Their legal capacity follows from the over-capacity flag rule's thresholds
(registry/dwelling/status.py, registry/flags/rules.py).
"""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Numeric,
    SmallInteger,
    Table,
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
