"""Administrative areas: district 区 > sub-district 街道 > community 社区, and police stations."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import SRID, Base, TimestampMixin


def area_polygon():
    """Every administrative area is a (multi)polygon in lon/lat with a GiST index."""
    return mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


class District(TimestampMixin, Base):
    """A district 区, identified by its six-digit GB/T 2260 code."""

    __tablename__ = "district"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{6}$'", name="code_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    geom = area_polygon()

    sub_districts: Mapped[list[SubDistrict]] = relationship(back_populates="district")


class SubDistrict(TimestampMixin, Base):
    """A sub-district 街道: district code plus three digits."""

    __tablename__ = "sub_district"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{9}$'", name="code_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    geom = area_polygon()

    district: Mapped[District] = relationship(back_populates="sub_districts")
    communities: Mapped[list[Community]] = relationship(back_populates="sub_district")


class PoliceStation(TimestampMixin, Base):
    """A police station 派出所; its jurisdiction is the set of communities pointing at it."""

    __tablename__ = "police_station"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    # Where the station stands: the default start of its sweep teams' routes.
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False), nullable=True)

    communities: Mapped[list[Community]] = relationship(back_populates="police_station")


class Community(TimestampMixin, Base):
    """A community 社区: sub-district code plus three digits; covered by one police station."""

    __tablename__ = "community"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{12}$'", name="code_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_district_id: Mapped[int] = mapped_column(ForeignKey("sub_district.id"), index=True)
    police_station_id: Mapped[int | None] = mapped_column(
        ForeignKey("police_station.id"), index=True
    )
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    geom = area_polygon()

    sub_district: Mapped[SubDistrict] = relationship(back_populates="communities")
    police_station: Mapped[PoliceStation | None] = relationship(back_populates="communities")
