"""Lease filings 房屋租赁备案 and the two signed pledges 两书: 承诺书 and 保证书."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    func,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, TimestampMixin, VersionedMixin, enum_type


class LeaseStatus(enum.StrEnum):
    FILED = "filed"
    ENDED_EARLY = "ended_early"
    CANCELLED = "cancelled"  # withdrawn before its term began, with a reason

    # Whether a filed lease is current or expired follows from its term and today's date,
    # so it is computed, never stored (a stored "expired" would go stale overnight).


# A cancelled filing holds no term: it is outside the one-term constraint, never current,
# and no rule counts it; its pledges stay as its history.
CANCELLED = LeaseStatus.CANCELLED.value

# The term of a filing, both days included: [starts_on, ends_on], or [starts_on, ended_on]
# when it was ended early. This SQL and the hybrids on LeaseFiling (last_day, covers,
# meets) are the one definition; the form, the renewal and the demo build on term.py.
TERM_SQL = "daterange(starts_on, coalesce(ended_on, ends_on), '[]')"
HOLDS_TERM_SQL = f"status <> '{CANCELLED}'"
ONE_TERM_AT_A_TIME = "ex_lease_filing_one_term_at_a_time"


# The same definition as SQL expressions over the columns of ``filing``: the model (as the
# hybrids below pass it) or the ``.c`` of a Core alias of its table (registry/scope.py,
# where an ORM alias per table costs more Python than the query it builds).
def term_last_day(filing) -> ColumnElement[date]:
    """The term's last day: the day it was ended early, or else ``ends_on``."""
    return func.coalesce(filing.ended_on, filing.ends_on)


def term_held(filing) -> ColumnElement[bool]:
    """False only for a cancelled filing."""
    # As text, the very predicate of the exclusion constraint (HOLDS_TERM_SQL).
    return type_coerce(filing.status, String) != CANCELLED


def term_meets(filing, first: date, last: date) -> ColumnElement[bool]:
    """The term shares a day with [first, last] (both included), as ``&&`` decides."""
    return and_(term_held(filing), filing.starts_on <= last, term_last_day(filing) >= first)


def term_covers(filing, day: date) -> ColumnElement[bool]:
    """``day`` is one of the term's days: the filing is current that day."""
    return term_meets(filing, day, day)


class PledgeKind(enum.StrEnum):
    RENTAL_PLEDGE = "rental_pledge"  # 房屋出租承诺书
    SECURITY_GUARANTEE = "security_guarantee"  # 治安责任保证书


class SignerRole(enum.StrEnum):
    LANDLORD = "landlord"
    TENANT = "tenant"


class LeaseFiling(TimestampMixin, VersionedMixin, Base):
    """The registered lease of a dwelling: landlord, tenants, term and rent."""

    __tablename__ = "lease_filing"
    __table_args__ = (
        CheckConstraint("ends_on > starts_on", name="term_in_order"),
        CheckConstraint("monthly_rent >= 0", name="rent_not_negative"),
        CheckConstraint("ended_on IS NULL OR ended_on >= starts_on", name="ended_after_start"),
        CheckConstraint(
            "(status = 'cancelled') = (cancelled_reason IS NOT NULL)", name="cancelled_with_reason"
        ),
        Index("ix_lease_filing_dwelling_term", "dwelling_id", "ends_on"),
        ExcludeConstraint(
            ("dwelling_id", "="),
            (text(TERM_SQL), "&&"),
            name=ONE_TERM_AT_A_TIME,
            using="gist",
            where=text(HOLDS_TERM_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_number: Mapped[str] = mapped_column(String(30), unique=True)
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwelling.id"), index=True)
    landlord_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    monthly_rent: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[LeaseStatus] = mapped_column(
        enum_type(LeaseStatus, "lease_status"), server_default=LeaseStatus.FILED.value
    )
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # A grid worker filed it on the landlord's behalf, the landlord present to sign.
    filed_for_landlord: Mapped[bool] = mapped_column(Boolean, server_default=false())
    cancelled_reason: Mapped[str | None] = mapped_column(String(200))

    dwelling = relationship("Dwelling")
    filed_by = relationship("UserAccount", foreign_keys=[filed_by_id])
    landlord = relationship("Person", foreign_keys=[landlord_person_id])
    tenancies: Mapped[list[LeaseTenant]] = relationship(back_populates="lease_filing")
    rental_pledges: Mapped[list[RentalPledge]] = relationship(back_populates="lease_filing")
    security_guarantees: Mapped[list[SecurityGuarantee]] = relationship(
        back_populates="lease_filing"
    )

    @hybrid_property
    def last_day(self) -> date:
        """The term's last day: the day it was ended early, or else ``ends_on``."""
        return self.ended_on or self.ends_on

    @last_day.inplace.expression
    @classmethod
    def _last_day_sql(cls) -> ColumnElement[date]:
        return term_last_day(cls)

    @hybrid_property
    def holds_term(self) -> bool:
        """False only for a cancelled filing, which is as if it had never been filed."""
        return self.status != CANCELLED

    @holds_term.inplace.expression
    @classmethod
    def _holds_term_sql(cls) -> ColumnElement[bool]:
        return term_held(cls)

    @hybrid_method
    def meets(self, first: date, last: date) -> bool:
        """Whether the term shares a day with [first, last] (both included), as the
        exclusion constraint's ``&&`` decides."""
        return self.holds_term and self.starts_on <= last and self.last_day >= first

    @meets.expression
    @classmethod
    def _meets_sql(cls, first: date, last: date) -> ColumnElement[bool]:
        return term_meets(cls, first, last)

    @hybrid_method
    def covers(self, day: date) -> bool:
        """Whether ``day`` is one of the term's days: the filing is current that day."""
        return self.meets(day, day)

    @covers.expression
    @classmethod
    def _covers_sql(cls, day: date) -> ColumnElement[bool]:
        return term_covers(cls, day)


class LeaseTenant(TimestampMixin, Base):
    """A tenant on a lease; removing one closes ``removed_on`` so the history stays."""

    __tablename__ = "lease_tenant"
    __table_args__ = (
        CheckConstraint("removed_on IS NULL OR removed_on >= added_on", name="dates_in_order"),
        Index(
            "uq_lease_tenant_current",
            "lease_filing_id",
            "person_id",
            unique=True,
            postgresql_where=text("removed_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lease_filing_id: Mapped[int] = mapped_column(ForeignKey("lease_filing.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    added_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)

    lease_filing: Mapped[LeaseFiling] = relationship(back_populates="tenancies")
    person = relationship("Person")


class PledgeDocument(TimestampMixin, Base):
    """One version of a pledge's text; a signature records the version it was given on."""

    __tablename__ = "pledge_document"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_pledge_document_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PledgeKind] = mapped_column(enum_type(PledgeKind, "pledge_kind"))
    version: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)


class SigningMethod(enum.StrEnum):
    """How a pledge was signed: drawn on the screen, or (for a signer who cannot draw) the
    full name typed and confirmed, witnessed by the logged-in user who collected it."""

    DRAWN = "drawn"
    TYPED = "typed"


class SignedPledgeMixin(TimestampMixin):
    """What both pledges record: who signed which text version, when, and how.

    The signer's name is kept as signed, so a later correction of the person's record does
    not rewrite what was on the paper. The image is deferred: lists never load it. A typed
    signature keeps the name as typed; its witness is ``collected_by_id``.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    signer_name: Mapped[str] = mapped_column(String(50))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    signing_method: Mapped[SigningMethod] = mapped_column(
        enum_type(SigningMethod, "signing_method"), server_default=SigningMethod.DRAWN.value
    )
    typed_name: Mapped[str | None] = mapped_column(String(50))


def typed_signature() -> CheckConstraint:
    """A typed signature has the typed name and no image; a drawn one has no typed name."""
    return CheckConstraint(
        "(signing_method = 'typed') = (typed_name IS NOT NULL)"
        " AND (signing_method <> 'typed' OR signature_png IS NULL)",
        name="typed_signature",
    )


def one_signature_name(table: str) -> str:
    return f"uq_{table}_signature"


def one_signature_each(table: str) -> UniqueConstraint:
    """A signer signs one text version of a pledge once per filing: a double tap stores one."""
    return UniqueConstraint(
        "lease_filing_id", "signer_person_id", "pledge_document_id", name=one_signature_name(table)
    )


class RentalPledge(SignedPledgeMixin, Base):
    """The landlord's 房屋出租承诺书 for one lease filing."""

    __tablename__ = "rental_pledge"
    __table_args__ = (one_signature_each("rental_pledge"), typed_signature())

    lease_filing_id: Mapped[int] = mapped_column(ForeignKey("lease_filing.id"), index=True)
    pledge_document_id: Mapped[int] = mapped_column(ForeignKey("pledge_document.id"))
    signer_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    lease_filing: Mapped[LeaseFiling] = relationship(back_populates="rental_pledges")
    pledge_document = relationship("PledgeDocument")


class SecurityGuarantee(SignedPledgeMixin, Base):
    """The 治安责任保证书, signed by the landlord and optionally by tenants."""

    __tablename__ = "security_guarantee"
    __table_args__ = (one_signature_each("security_guarantee"), typed_signature())

    lease_filing_id: Mapped[int] = mapped_column(ForeignKey("lease_filing.id"), index=True)
    pledge_document_id: Mapped[int] = mapped_column(ForeignKey("pledge_document.id"))
    signer_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    signer_role: Mapped[SignerRole] = mapped_column(
        enum_type(SignerRole, "signer_role"), server_default=SignerRole.LANDLORD.value
    )
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    lease_filing: Mapped[LeaseFiling] = relationship(back_populates="security_guarantees")
    pledge_document = relationship("PledgeDocument")


class FilingRequest(Base):
    """A grid worker's request that the landlord (who has an account) file a dwelling's lease.

    It sits on the to-do list of the dwelling's managers until a lease of the dwelling is
    filed, which closes it (``lease_filing_id``); ``note`` is what the worker tells them.
    """

    __tablename__ = "filing_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwelling.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(500), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lease_filing_id: Mapped[int | None] = mapped_column(ForeignKey("lease_filing.id"))

    requested_by = relationship("UserAccount")
