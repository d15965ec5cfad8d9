"""A dwelling's status at a glance, computed in SQL from the facts, never stored.

One place defines what "filing current", "pledges complete", "occupants now" and "over
capacity" mean; the grid worker's cell list, the property manager's list and the officer's
dashboard all select from :func:`dwelling_status`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from registry.clock import deployment_zone, end_of_day
from registry.dwelling.models import CapacityRule
from registry.lease.models import LeaseFiling, RentalPledge, SecurityGuarantee
from registry.person.models import Residence


def current_rule(session: Session, today: date) -> CapacityRule | None:
    """The capacity rule in force on ``today``: the newest that started by its end.

    A rule starts at local midnight of its first day, so "by the end of today" in the
    deployment's time zone, not the database server's ``now()``, decides.
    """
    return session.scalar(
        select(CapacityRule)
        .where(CapacityRule.valid_from < end_of_day(today, deployment_zone()))
        .order_by(CapacityRule.valid_from.desc(), CapacityRule.id.desc())
        .limit(1)
    )


def legal_capacity(floor_area, rooms, rule: CapacityRule | None) -> int | None:
    """How many people the dwelling may hold: area per person and people per room."""
    if rule is None:
        return None
    by_area = int(floor_area // rule.min_floor_area_per_person)
    return min(by_area, rooms * rule.max_people_per_room)


def filing_is_current(today: date) -> ColumnElement[bool]:
    """The filing's term (registry/lease/models.py, both days included) covers today."""
    return LeaseFiling.covers(today)


def residence_is_current(today: date) -> ColumnElement[bool]:
    return and_(
        Residence.moved_in <= today,
        or_(Residence.moved_out.is_(None), Residence.moved_out > today),
    )


def occupants_now(dwelling_id, today: date):
    """Correlated count of the people living in the dwelling today."""
    return (
        select(func.count())
        .where(Residence.dwelling_id == dwelling_id, residence_is_current(today))
        .correlate_except(Residence)
        .scalar_subquery()
    )


def current_filing_id(dwelling_id, today: date):
    """The id of the dwelling's current filing (the newest if several), or NULL."""
    return (
        select(LeaseFiling.id)
        .where(LeaseFiling.dwelling_id == dwelling_id, filing_is_current(today))
        .order_by(LeaseFiling.starts_on.desc())
        .limit(1)
        .correlate_except(LeaseFiling)
        .scalar_subquery()
    )


def has_pledges(filing_id) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    rental = exists().where(RentalPledge.lease_filing_id == filing_id)
    guarantee = exists().where(SecurityGuarantee.lease_filing_id == filing_id)
    return rental, guarantee


def dwelling_status(base: Select, dwelling, today: date) -> Select:
    """Add status columns to ``base`` (a select over ``dwelling``).

    Columns: occupants_now, current_filing_id, has_expired_filing, rental_pledge,
    security_guarantee.
    """
    filing = current_filing_id(dwelling.id, today).label("current_filing_id")
    expired = (
        exists()
        .where(LeaseFiling.dwelling_id == dwelling.id, LeaseFiling.ends_on < today)
        .label("has_expired_filing")
    )
    current = current_filing_id(dwelling.id, today)
    rental, guarantee = has_pledges(current)
    return base.add_columns(
        occupants_now(dwelling.id, today).label("occupants_now"),
        filing,
        expired,
        rental.label("rental_pledge"),
        guarantee.label("security_guarantee"),
    )
