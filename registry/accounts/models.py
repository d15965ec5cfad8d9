"""User accounts with a role and a scope."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, TimestampMixin, VersionedMixin, enum_type
from registry.dwelling.models import managed_dwelling
from registry.grid.models import grid_cell_worker


class Role(enum.StrEnum):
    ADMIN = "admin"
    POLICE_OFFICER = "police_officer"  # scope: a police station's jurisdiction
    GRID_WORKER = "grid_worker"  # scope: assigned grid cells
    PROPERTY_MANAGER = "property_manager"  # scope: the dwellings they manage


class UserAccount(TimestampMixin, VersionedMixin, Base):
    """Someone who logs in. The scope depends on the role (see registry/scope.py)."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role <> 'police_officer' OR police_station_id IS NOT NULL",
            name="officer_has_station",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    police_station_id: Mapped[int | None] = mapped_column(
        ForeignKey("police_station.id"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    locale: Mapped[str] = mapped_column(String(10), server_default="zh_CN")
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    police_station = relationship("PoliceStation")
    grid_cells = relationship("GridCell", secondary=grid_cell_worker, back_populates="workers")
    dwellings = relationship("Dwelling", secondary=managed_dwelling, back_populates="managers")
