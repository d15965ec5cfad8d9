"""Organisations 实有单位: the work units at an address, by Unified Social Credit Code."""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, TimestampMixin, VersionedMixin, enum_type


class OrganisationKind(enum.StrEnum):
    COMPANY = "company"
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户
    SHOP = "shop"
    SCHOOL = "school"
    CLINIC = "clinic"
    GOVERNMENT = "government"
    SOCIAL_ORGANISATION = "social_organisation"
    OTHER = "other"


class Organisation(TimestampMixin, VersionedMixin, Base):
    """A company, shop, school or clinic at a standard address."""

    __tablename__ = "organisation"
    __table_args__ = (CheckConstraint("employee_count >= 0", name="employees_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind, "organisation_kind"))
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"), index=True)
    legal_representative: Mapped[str] = mapped_column(String(50))
    employee_count: Mapped[int] = mapped_column(Integer, server_default="0")

    address = relationship("Address")
