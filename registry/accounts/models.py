"""User accounts with a role and a scope."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, TimestampMixin, VersionedMixin, enum_type
from registry.dwelling.models import managed_dwelling
from registry.grid.models import grid_cell_worker

# Usernames are unique whatever their case: "Grid0001" cannot be made beside "grid0001".
USERNAME_UNIQUE_ANY_CASE = "uq_user_account_lower_username"


class Role(enum.StrEnum):
    ADMIN = "admin"
    POLICE_OFFICER = "police_officer"  # scope: a police station's jurisdiction
    GRID_WORKER = "grid_worker"  # scope: assigned grid cells
    PROPERTY_MANAGER = "property_manager"  # scope: the dwellings they manage
    SWEEP_TEAM_MEMBER = "sweep_team_member"  # scope: the stops of their current sweeps


class UserAccount(TimestampMixin, VersionedMixin, Base):
    """Someone who logs in. The scope depends on the role (see registry/scope.py)."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role <> 'police_officer' OR police_station_id IS NOT NULL",
            name="officer_has_station",
        ),
        Index(USERNAME_UNIQUE_ANY_CASE, text("lower(username)"), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50))  # unique in any case: see above
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


class LoginFailure(Base):
    """One failed log-in, counted for a while against an account or a client address.

    Bookkeeping of the log-in throttle (registry/accounts/ratelimit.py), kept in the
    database so that every worker process counts the same failures and a restart forgets
    none. ``key`` is a keyed digest of "account:<username>" or "address:<ip>", never the
    text typed: a password typed into the username box must not be stored. Rows older than
    the throttle's window are pruned as new failures come in.
    """

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_key_failed_at", "key", "failed_at"),
        Index("ix_login_failure_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary(32))
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
