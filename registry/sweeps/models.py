"""Weekly sweeps 一周一集中清查: standing teams, each focus area's plan for a week, its stops
in walking order, the visits recorded at them and their photos.

A sweep is one focus area's plan for one ISO week (one per area and week, a unique
constraint). Its stops are the dwellings (or whole buildings, for a flag on a building's
address) to visit; each stop belongs to one team-day and has a position in that day's
walking order. A stop has at most one visit (a unique constraint: a double tap on a weak
connection cannot record two), and a visit may carry photos, stored in the database so
that several app servers share them, and deleted with the visit.

Lifecycle of a sweep::

    planned ──first visit, or its week begins──▶ under way ──an officer or the week's end──▶ closed
       │
       └── planned again before it starts: the plan is replaced in place

A closed sweep is history: its team no longer sees its stops (``closed_at``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import SRID, Base, TimestampMixin, VersionedMixin, enum_type

NOTE_LENGTH = 1000
ONE_SWEEP_PER_WEEK = "uq_sweep_focus_area_week"
ONE_VISIT_PER_STOP = "uq_sweep_visit_stop_id"
ONE_SUBMISSION = "uq_sweep_visit_submission"
TEAM_NAME_TAKEN = "uq_sweep_team_name"
MAX_PEOPLE_FOUND = 500


class MemberFunction(enum.StrEnum):
    """What a member does on the joint team (241专班: 2 police, 4 market regulation, 1 housing)."""

    POLICE = "police"  # 公安
    MARKET_REGULATION = "market_regulation"  # 市场监管
    HOUSING = "housing"  # 住建 / 房管
    COMMUNITY = "community"  # 社区 (grid workers)


class StopReason(enum.StrEnum):
    FLAG = "flag"  # an open or in-review flag stands on the place
    SAMPLE = "sample"  # drawn at random from the rented dwellings without a flag


class StartKind(enum.StrEnum):
    STATION = "station"  # the police station's location (the default)
    CHOSEN = "chosen"  # a point the team picked
    AREA = "area"  # the focus area's centre: the station has no location on record


class Outcome(enum.StrEnum):
    NO_ONE_HOME = "no_one_home"  # 无人在家
    IN_ORDER = "in_order"  # 情况正常
    RECORD_CORRECTED = "record_corrected"  # 已更正登记
    UNREGISTERED_OCCUPANTS = "unregistered_occupants"  # 发现未登记人员
    GROUP_RENTING = "group_renting"  # 群租迹象
    REFERRED_TO_POLICE = "referred_to_police"  # 移交公安


class SweepTeam(TimestampMixin, VersionedMixin, Base):
    """A standing joint team; its station's officers manage it and assign it to sweeps."""

    __tablename__ = "sweep_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    police_station_id: Mapped[int] = mapped_column(ForeignKey("police_station.id"), index=True)

    police_station = relationship("PoliceStation")
    members: Mapped[list[SweepTeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="SweepTeamMember.user_id"
    )


class SweepTeamMember(Base):
    """A user account on a team, with its function there."""

    __tablename__ = "sweep_team_member"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("sweep_team.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    function: Mapped[MemberFunction] = mapped_column(enum_type(MemberFunction, "member_function"))

    team: Mapped[SweepTeam] = relationship(back_populates="members")
    user = relationship("UserAccount")


class SweepSettings(Base):
    """The planning settings in force from ``valid_from``; older rows are kept as history.

    Each sweep also copies the values it was planned with, so a plan can be reproduced
    whatever the settings became later.
    """

    __tablename__ = "sweep_settings"
    __table_args__ = (
        CheckConstraint("stops_per_day BETWEEN 1 AND 500", name="stops_per_day_range"),
        CheckConstraint("sample_percent BETWEEN 0 AND 100", name="sample_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stops_per_day: Mapped[int] = mapped_column(SmallInteger)
    sample_percent: Mapped[float] = mapped_column(Numeric(5, 2))
    valid_from: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Sweep(TimestampMixin, VersionedMixin, Base):
    """One focus area's sweep in one ISO week: the plan, who walks it, and its state."""

    __tablename__ = "sweep"
    __table_args__ = (
        UniqueConstraint("focus_area_id", "week_start", name=ONE_SWEEP_PER_WEEK),
        CheckConstraint("extract(isodow FROM week_start) = 1", name="week_starts_monday"),
        CheckConstraint("stops_per_day BETWEEN 1 AND 500", name="stops_per_day_range"),
        CheckConstraint("sample_percent BETWEEN 0 AND 100", name="sample_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    focus_area_id: Mapped[int] = mapped_column(ForeignKey("focus_area.id"))
    week_start: Mapped[date] = mapped_column(Date)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("sweep_team.id"), index=True)
    police_station_id: Mapped[int | None] = mapped_column(
        ForeignKey("police_station.id"), index=True
    )
    # What the plan was made with: enough to make exactly the same plan again.
    seed: Mapped[int] = mapped_column(BigInteger)
    stops_per_day: Mapped[int] = mapped_column(SmallInteger)
    sample_percent: Mapped[float] = mapped_column(Numeric(5, 2))
    start_kind: Mapped[StartKind] = mapped_column(enum_type(StartKind, "start_kind"))
    start_geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False), nullable=False)
    planned_on: Mapped[date] = mapped_column(Date)
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    route_m: Mapped[float] = mapped_column(Float, server_default="0")
    nearest_neighbour_m: Mapped[float] = mapped_column(Float, server_default="0")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    focus_area = relationship("FocusArea")
    team = relationship("SweepTeam")
    police_station = relationship("PoliceStation")
    planned_by = relationship("UserAccount", foreign_keys=[planned_by_id])
    days: Mapped[list[SweepDay]] = relationship(
        back_populates="sweep", order_by="SweepDay.number", cascade="all, delete-orphan"
    )


class SweepDay(Base):
    """One team-day of a sweep: at most the sweep's cap of stops, with its own route."""

    __tablename__ = "sweep_day"
    __table_args__ = (UniqueConstraint("sweep_id", "number", name="uq_sweep_day_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweep.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(SmallInteger)
    route_m: Mapped[float] = mapped_column(Float)
    nearest_neighbour_m: Mapped[float] = mapped_column(Float)

    sweep: Mapped[Sweep] = relationship(back_populates="days")
    stops: Mapped[list[SweepStop]] = relationship(
        back_populates="day", order_by="SweepStop.position", cascade="all, delete-orphan"
    )


class SweepStop(Base):
    """A place to visit: a dwelling, or a whole building (a flag on its door address).

    ``checks`` is what to check there, copied from the flags' reasons when planned, so the
    printed list and the tablet say the same thing even after a flag moves on.
    """

    __tablename__ = "sweep_stop"
    __table_args__ = (
        UniqueConstraint("sweep_id", "address_id", name="uq_sweep_stop_place"),
        UniqueConstraint("day_id", "position", name="uq_sweep_stop_position"),
        CheckConstraint("jsonb_typeof(checks) = 'array'", name="checks_array"),
        Index("ix_sweep_stop_address", "address_id"),
        Index("ix_sweep_stop_dwelling", "dwelling_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweep.id", ondelete="CASCADE"), index=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("sweep_day.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    rank: Mapped[int] = mapped_column(Integer)  # 1 = most urgent (priority, then age)
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
    building_address_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
    dwelling_id: Mapped[int | None] = mapped_column(ForeignKey("dwelling.id"))
    reason: Mapped[StopReason] = mapped_column(enum_type(StopReason, "stop_reason"))
    priority: Mapped[int | None] = mapped_column(SmallInteger)
    checks: Mapped[list] = mapped_column(JSONB, server_default="[]")

    day: Mapped[SweepDay] = relationship(back_populates="stops")
    address = relationship("Address", foreign_keys=[address_id])
    dwelling = relationship("Dwelling")
    visit: Mapped[SweepVisit | None] = relationship(back_populates="stop", uselist=False)


class SweepVisit(VersionedMixin, Base):
    """What was found at a stop. One per stop; a correction edits it (with its version)."""

    __tablename__ = "sweep_visit"
    __table_args__ = (
        UniqueConstraint("stop_id", name=ONE_VISIT_PER_STOP),
        UniqueConstraint("submission", name=ONE_SUBMISSION),
        CheckConstraint(
            "(outcome = 'unregistered_occupants') = (people IS NOT NULL)", name="people_when_found"
        ),
        CheckConstraint(f"people BETWEEN 1 AND {MAX_PEOPLE_FOUND}", name="people_range"),
        CheckConstraint(f"char_length(note) <= {NOTE_LENGTH}", name="note_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("sweep_stop.id", ondelete="CASCADE"))
    # The form's one-time key: a repeated submission of the same form is the same visit.
    submission: Mapped[str] = mapped_column(String(36))
    outcome: Mapped[Outcome] = mapped_column(enum_type(Outcome, "visit_outcome"))
    people: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str] = mapped_column(Text, server_default="")
    visited_on: Mapped[date] = mapped_column(Date)
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    visited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    stop: Mapped[SweepStop] = relationship(back_populates="visit")
    visited_by = relationship("UserAccount")
    photos: Mapped[list[VisitPhoto]] = relationship(
        back_populates="visit", order_by="VisitPhoto.id", cascade="all, delete-orphan"
    )


class VisitPhoto(Base):
    """A photo taken at a visit: re-encoded JPEG without metadata, deleted with the visit."""

    __tablename__ = "visit_photo"
    __table_args__ = (CheckConstraint("octet_length(content) > 0", name="content_present"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        ForeignKey("sweep_visit.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(SmallInteger)
    height: Mapped[int] = mapped_column(SmallInteger)
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    visit: Mapped[SweepVisit] = relationship(back_populates="photos")
