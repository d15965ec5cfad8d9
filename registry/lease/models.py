"""Lease filings 房屋租赁备案 and the two signed pledges 两书: 承诺书 and 保证书."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, TimestampMixin, VersionedMixin, enum_type


class LeaseStatus(enum.StrEnum):
    FILED = "filed"
    ENDED_EARLY = "ended_early"

    # Whether a filed lease is current or expired follows from its term and today's date,
    # so it is computed, never stored (a stored "expired" would go stale overnight).


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
        Index("ix_lease_filing_dwelling_term", "dwelling_id", "ends_on"),
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

    dwelling = relationship("Dwelling")
    landlord = relationship("Person", foreign_keys=[landlord_person_id])
    tenancies: Mapped[list[LeaseTenant]] = relationship(back_populates="lease_filing")
    rental_pledges: Mapped[list[RentalPledge]] = relationship(back_populates="lease_filing")
    security_guarantees: Mapped[list[SecurityGuarantee]] = relationship(
        back_populates="lease_filing"
    )


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


class SignedPledgeMixin(TimestampMixin):
    """What both pledges record: who signed which text version, when, and the drawn signature.

    The signer's name is kept as signed, so a later correction of the person's record does
    not rewrite what was on the paper. The image is deferred: lists never load it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    signer_name: Mapped[str] = mapped_column(String(50))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


class RentalPledge(SignedPledgeMixin, Base):
    """The landlord's 房屋出租承诺书 for one lease filing."""

    __tablename__ = "rental_pledge"

    lease_filing_id: Mapped[int] = mapped_column(ForeignKey("lease_filing.id"), index=True)
    pledge_document_id: Mapped[int] = mapped_column(ForeignKey("pledge_document.id"))
    signer_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    lease_filing: Mapped[LeaseFiling] = relationship(back_populates="rental_pledges")
    pledge_document = relationship("PledgeDocument")


class SecurityGuarantee(SignedPledgeMixin, Base):
    """The 治安责任保证书, signed by the landlord and optionally by tenants."""

    __tablename__ = "security_guarantee"

    lease_filing_id: Mapped[int] = mapped_column(ForeignKey("lease_filing.id"), index=True)
    pledge_document_id: Mapped[int] = mapped_column(ForeignKey("pledge_document.id"))
    signer_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    signer_role: Mapped[SignerRole] = mapped_column(
        enum_type(SignerRole, "signer_role"), server_default=SignerRole.LANDLORD.value
    )
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    lease_filing: Mapped[LeaseFiling] = relationship(back_populates="security_guarantees")
    pledge_document = relationship("PledgeDocument")
