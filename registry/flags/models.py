"""Flags 预警线索: leads on dwellings raised by rules, decided by people.

A flag is a lead for a person to check, never a verdict. It records the rule that raised
it, the place, the facts behind it, when it was raised and what people (or the system)
decided, with the history of every step in ``flag_event``.

Lifecycle::

      a rule run raises it
              │
              ▼
            open ───────────────────────┐
              │ a person takes it up    │ the system: its facts no longer hold,
              ▼                         │ or its rule was switched off
          in review ────────────────────┤
              │                         ▼
       a person decides             resolved
        ┌─────┴──────┐                  ▲
        ▼            ▼                  │
    confirmed    dismissed              │
        │                               │
        └──── a person resolves it ─────┘

- Every step a person takes needs a reason; it is written to the audit log and to
  ``flag_event``. A step the system takes (raised, facts updated, resolved because the
  facts no longer hold, withdrawn because the rule was switched off) is a ``flag_event``
  with no actor.
- Live states are open, in review and confirmed: a partial unique index keeps one live
  flag per rule and place, so two rule runs racing for the same dwelling raise one flag.
- A confirmed flag stays until a person resolves it, whatever the facts do.
- No nagging: each rule gives every flag a fact key (the filing's id, the occupant count in
  bands, the newest tip's id, …). While the newest flag of a rule at a place was closed by a
  person (dismissed, or resolved) with the same fact key, that rule raises nothing there.

A flag's place: every flag stands on an address, ``address_id``. Flags about a dwelling
stand on the dwelling's address and name the dwelling too. A tip against a whole building
raises one flag on the building's own (door-level) address with no dwelling: it is shown
on each dwelling of the building, and a sweep visits it as one stop. One live flag per rule
and *address* therefore covers both kinds of place.

Rules are code (registry/flags/rules.py), so ``rule`` holds the rule's code without a
database list of values: a rule added later needs no migration. Their settings live in
``rule_version``, one row per saved version, like the capacity rule before them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, VersionedMixin, enum_type

RULE_CODE_LENGTH = 40
FACT_KEY_LENGTH = 100
TIP_TEXT_LENGTH = 2000
NOTE_LENGTH = 500
PRIORITY_HIGHEST = 1
PRIORITY_LOWEST = 9


class RuleCode(enum.StrEnum):
    """The rules of registry/flags/rules.py (their settings and SQL live there)."""

    RENTED_UNFILED = "rented_unfiled"
    FILING_ENDED_OCCUPIED = "filing_ended_occupied"
    PLEDGE_MISSING = "pledge_missing"
    OVER_CAPACITY = "over_capacity"
    VACANT_OCCUPIED = "vacant_occupied"
    OWNER_OCCUPIED_TENANTS = "owner_occupied_tenants"
    OCCUPANT_SURGE = "occupant_surge"
    VISIT_UNREGISTERED = "visit_unregistered"
    VISIT_GROUP_RENTING = "visit_group_renting"
    TIP = "tip"
    RECENT_CASE = "recent_case"
    MOVED_AWAY_UNCHECKED = "moved_away_unchecked"


class FlagState(enum.StrEnum):
    OPEN = "open"
    IN_REVIEW = "in_review"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    RESOLVED = "resolved"


LIVE_STATES = (FlagState.OPEN, FlagState.IN_REVIEW, FlagState.CONFIRMED)
# States the system may still resolve by itself when the facts change.
SELF_RESOLVING_STATES = (FlagState.OPEN, FlagState.IN_REVIEW)
LIVE_SQL = "state IN ('open', 'in_review', 'confirmed')"
ONE_LIVE_FLAG = "uq_flag_one_live_per_rule_and_place"
ONE_SUCCESSOR = "uq_rule_version_one_successor"

# Who may move a flag from which state to which (a person; the system only resolves).
TRANSITIONS: dict[FlagState, tuple[FlagState, ...]] = {
    FlagState.OPEN: (FlagState.IN_REVIEW,),
    FlagState.IN_REVIEW: (FlagState.CONFIRMED, FlagState.DISMISSED),
    FlagState.CONFIRMED: (FlagState.RESOLVED,),
    FlagState.DISMISSED: (),
    FlagState.RESOLVED: (),
}


class FlagEventKind(enum.StrEnum):
    RAISED = "raised"  # a rule run raised the flag
    FACTS_UPDATED = "facts_updated"  # the rule still holds, on other facts (open / in review)
    DECIDED = "decided"  # a person moved it to another state, with a reason
    NO_LONGER_HOLDS = "no_longer_holds"  # the system resolved it: the facts changed
    RULE_OFF = "rule_off"  # the system resolved it: its rule was switched off


class RuleVersion(Base):
    """One saved version of a rule's settings: on or off, priority and its own thresholds.

    The newest version whose ``valid_from`` has passed is in force; older ones stay, so a
    past flag can be explained by the settings in force when it was raised. A rule with no
    version yet runs on its defaults (registry/flags/rules.py). The group-rental capacity
    thresholds are the settings of the over-capacity rule: there is no other copy of them.
    """

    __tablename__ = "rule_version"
    __table_args__ = (
        CheckConstraint(
            f"priority BETWEEN {PRIORITY_HIGHEST} AND {PRIORITY_LOWEST}", name="priority_range"
        ),
        CheckConstraint("jsonb_typeof(settings) = 'object'", name="settings_object"),
        Index("ix_rule_version_rule_valid_from", "rule", "valid_from"),
        UniqueConstraint(
            "rule", "based_on_id", name=ONE_SUCCESSOR, postgresql_nulls_not_distinct=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(RULE_CODE_LENGTH))
    enabled: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[int] = mapped_column(SmallInteger)
    settings: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    note: Mapped[str] = mapped_column(String(200), server_default="")
    # The version that was the newest when this one was saved: two administrators saving
    # at once on the same version is a conflict the unique constraint decides.
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("rule_version.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    created_by = relationship("UserAccount")


class Flag(VersionedMixin, Base):
    """One lead raised by a rule at a place, with the facts behind it and its decisions."""

    __tablename__ = "flag"
    __table_args__ = (
        Index(ONE_LIVE_FLAG, "rule", "address_id", unique=True, postgresql_where=text(LIVE_SQL)),
        Index("ix_flag_rule_place_raised", "rule", "address_id", "raised_at"),
        Index("ix_flag_live_address", "address_id", postgresql_where=text(LIVE_SQL)),
        CheckConstraint("(state = 'open') = (decided_at IS NULL)", name="decided_unless_open"),
        CheckConstraint(
            "decided_by_id IS NULL OR btrim(coalesce(decision_reason, '')) <> ''",
            name="person_gives_reason",
        ),
        CheckConstraint(
            "state NOT IN ('in_review', 'confirmed', 'dismissed') OR decided_by_id IS NOT NULL",
            name="person_decides",
        ),
        CheckConstraint("jsonb_typeof(facts) = 'object'", name="facts_object"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(RULE_CODE_LENGTH))
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
    dwelling_id: Mapped[int | None] = mapped_column(ForeignKey("dwelling.id"), index=True)
    state: Mapped[FlagState] = mapped_column(
        enum_type(FlagState, "flag_state"), server_default=FlagState.OPEN.value, index=True
    )
    fact_key: Mapped[str] = mapped_column(String(FACT_KEY_LENGTH))
    facts: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    rule_version_id: Mapped[int | None] = mapped_column(ForeignKey("rule_version.id"))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    raised_on: Mapped[date] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    address = relationship("Address")
    dwelling = relationship("Dwelling")
    decided_by = relationship("UserAccount")
    rule_version = relationship("RuleVersion")
    events: Mapped[list[FlagEvent]] = relationship(
        back_populates="flag", order_by="FlagEvent.id", viewonly=True
    )


class FlagEvent(Base):
    """One step in a flag's life: who (NULL: the system), when, why, and the facts."""

    __tablename__ = "flag_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flag.id"), index=True)
    kind: Mapped[FlagEventKind] = mapped_column(enum_type(FlagEventKind, "flag_event_kind"))
    from_state: Mapped[FlagState | None] = mapped_column(enum_type(FlagState, "from_state"))
    to_state: Mapped[FlagState] = mapped_column(enum_type(FlagState, "to_state"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    facts_before: Mapped[dict | None] = mapped_column(JSONB)
    facts_after: Mapped[dict | None] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # The deployment's local day it happened (the boundary's "today"): what rules compare.
    occurred_on: Mapped[date] = mapped_column(Date)

    flag: Mapped[Flag] = relationship(back_populates="events")
    actor = relationship("UserAccount")


class TipKind(enum.StrEnum):
    TIP = "tip"  # 举报
    COMPLAINT = "complaint"  # 投诉


class TipSource(enum.StrEnum):
    HOTLINE = "hotline"  # 热线电话 (12345, 110 transferred)
    WALK_IN = "walk_in"  # 来访
    LETTER = "letter"  # 来信
    ONLINE = "online"  # 网络
    DOOR_TO_DOOR = "door_to_door"  # 走访中听到
    OTHER = "other"


class Tip(Base):
    """A tip or complaint about an address: a dwelling, or a whole building.

    ``dwelling_id`` is set when it names one dwelling (``address_id`` is then that
    dwelling's address) and NULL when it names the whole building at ``address_id``. The
    tipster's name and phone are optional and shown to police officers only.
    """

    __tablename__ = "tip"
    __table_args__ = (
        CheckConstraint(
            f"char_length(btrim(text)) BETWEEN 1 AND {TIP_TEXT_LENGTH}", name="text_length"
        ),
        Index("ix_tip_address_received", "address_id", "received_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
    dwelling_id: Mapped[int | None] = mapped_column(ForeignKey("dwelling.id"), index=True)
    kind: Mapped[TipKind] = mapped_column(enum_type(TipKind, "tip_kind"))
    source: Mapped[TipSource] = mapped_column(enum_type(TipSource, "tip_source"))
    text: Mapped[str] = mapped_column(Text)
    tipster_name: Mapped[str | None] = mapped_column(String(50))
    tipster_phone: Mapped[str | None] = mapped_column(String(20))
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    address = relationship("Address")
    dwelling = relationship("Dwelling")
    recorded_by = relationship("UserAccount")


class VisitFinding(enum.StrEnum):
    UNREGISTERED_OCCUPANTS = "unregistered_occupants"  # 发现未登记人员
    GROUP_RENTING_SIGNS = "group_renting_signs"  # 群租迹象


class VisitReport(Base):
    """What a grid worker or a sweep team saw at a dwelling's door that the records lack.

    Written by the grid worker's visit form now, and by the weekly sweeps' outcomes later
    (issue 14's second half); the visit rules read it.
    """

    __tablename__ = "visit_report"
    __table_args__ = (
        CheckConstraint(
            "finding <> 'unregistered_occupants' OR people >= 1", name="people_when_unregistered"
        ),
        CheckConstraint("people IS NULL OR people BETWEEN 1 AND 500", name="people_range"),
        Index("ix_visit_report_dwelling_observed", "dwelling_id", "observed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwelling.id"))
    finding: Mapped[VisitFinding] = mapped_column(enum_type(VisitFinding, "visit_finding"))
    people: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str] = mapped_column(String(NOTE_LENGTH), server_default="")
    observed_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    dwelling = relationship("Dwelling")
    recorded_by = relationship("UserAccount")
