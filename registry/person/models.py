"""People 实有人口 and their residences: who lives where, from when to when.

The ID number is never stored in clear: ``document_ciphertext`` holds it encrypted with
AES-GCM and ``document_index`` an HMAC blind index for exact look-up. No column records
place of origin, household registration, ethnicity, religion or sex (DOMAIN.md).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, TimestampMixin, VersionedMixin, enum_type
from registry.validators import DocumentType


class ResidenceKind(enum.StrEnum):
    REGISTERED = "registered"  # 户籍人口
    TRANSIENT = "transient"  # 流动人口


class Relationship(enum.StrEnum):
    OWNER = "owner"
    OWNER_FAMILY = "owner_family"
    TENANT = "tenant"
    TENANT_FAMILY = "tenant_family"
    EMPLOYEE = "employee"
    OTHER = "other"


class Person(TimestampMixin, VersionedMixin, Base):
    """A person as the registry knows them; anonymised once retention has passed."""

    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("document_type", "document_index", name="uq_person_document"),
        CheckConstraint(
            "(document_ciphertext IS NULL) = (document_index IS NULL)", name="document_pair"
        ),
        # Officers' look-up: a whole phone number, part of one (trigrams),
        # a name of 3 or more characters (trigrams), one of 2 (character pairs).
        Index("ix_person_phone", "phone"),
        Index(
            "ix_person_phone_trgm",
            "phone",
            postgresql_using="gin",
            postgresql_ops={"phone": "gin_trgm_ops"},
        ),
        Index(
            "ix_person_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        Index("ix_person_name_bigrams", text("name_bigrams(name)"), postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    document_type: Mapped[DocumentType] = mapped_column(enum_type(DocumentType, "document_type"))
    document_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_index: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date | None] = mapped_column(Date)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    residences: Mapped[list[Residence]] = relationship(back_populates="person")


# A person lives in one dwelling at a time: no two of their stays share a day. A stay is the
# half-open range [moved_in, moved_out), so a move-out and the next move-in on the same day
# fit, and "current" (moved_out NULL or later than today) is covered as well.
ONE_HOME = "ex_residence_one_home"


class Residence(TimestampMixin, VersionedMixin, Base):
    """A person living in a dwelling from ``moved_in`` until ``moved_out`` (open if null).

    History is kept by closing a residence, never by deleting it; "who lives here now" is
    the residences of a dwelling with no ``moved_out`` (or one still in the future).

    A stay ended because the person moved in elsewhere names that move-in in
    ``ended_by_residence_id``. When the worker who recorded the move-in could not see this
    dwelling, ``end_checked_on`` stays empty until this dwelling's worker has checked it.
    """

    __tablename__ = "residence"
    __table_args__ = (
        CheckConstraint("moved_out IS NULL OR moved_out >= moved_in", name="dates_in_order"),
        # Serves residence_is_current (registry/dwelling/status.py) per dwelling: the
        # people living in a dwelling today, counted from the index alone.
        Index(
            "ix_residence_current",
            "dwelling_id",
            text("COALESCE(moved_out, 'infinity'::date)"),
            "moved_in",
            postgresql_include=["moved_out"],
        ),
        Index(
            "ix_residence_end_to_check",
            "dwelling_id",
            postgresql_where=text("ended_by_residence_id IS NOT NULL AND end_checked_on IS NULL"),
        ),
        ExcludeConstraint(
            (literal_column("person_id"), "="),
            (func.daterange(literal_column("moved_in"), literal_column("moved_out")), "&&"),
            using="gist",
            name=ONE_HOME,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwelling.id"), index=True)
    moved_in: Mapped[date] = mapped_column(Date)
    moved_out: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[ResidenceKind] = mapped_column(enum_type(ResidenceKind, "residence_kind"))
    relationship_to_dwelling: Mapped[Relationship] = mapped_column(
        "relationship", enum_type(Relationship, "residence_relationship")
    )
    ended_by_residence_id: Mapped[int | None] = mapped_column(ForeignKey("residence.id"))
    end_checked_on: Mapped[date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="residences")
    dwelling = relationship("Dwelling")
