"""A dwelling's status at a glance, computed in SQL from the facts, never stored.

This module alone defines what "filing current", "pledges complete", "living there now",
"legal capacity", "over capacity" and "occupancy to check" mean. The grid worker's lists,
the property manager's list, the officer's pages, the precomputed per-cell figures
(registry/figures) and the grid map all build on it, never on a copy.

Each definition comes in the two shapes its callers need, built from the same predicates:
- per dwelling, as correlated subqueries (:func:`dwelling_status`), for a page of a few
  dozen dwellings;
- for every dwelling at once, as grouped subqueries to join (:func:`current_filings`,
  :func:`current_residents`), for figures over a whole district.
The rules that combine the facts (:func:`over_capacity`, :func:`occupancy_problem_of`)
take column expressions, so both shapes apply the very same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from registry.clock import deployment_zone, end_of_day
from registry.dwelling.models import Dwelling, Occupancy
from registry.flags.models import RuleCode, RuleVersion
from registry.lease.models import LeaseFiling, RentalPledge, SecurityGuarantee, SigningMethod
from registry.person.models import Relationship, Residence, ResidenceKind
from registry.setting.models import TYPED_SIGNATURE_COUNTS
from registry.setting.services import setting_sql

# A residence with no move-out date runs on forever; the index ix_residence_current holds
# this very expression, so that "living there today" is read from the index.
_OPEN_END = literal_column("'infinity'::date")


@dataclass(frozen=True)
class CapacityThresholds:
    """The group-rental (群租) thresholds: the settings of the over-capacity flag rule.

    They are kept, with their history, as that rule's versions (registry/flags), and read
    from there alone: an administrator changes them on the rule's page.
    """

    min_floor_area_per_person: Decimal
    max_people_per_room: int

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> CapacityThresholds | None:
        """The thresholds from a rule's settings; None while either is not set."""
        area, people = values.get("min_floor_area_per_person"), values.get("max_people_per_room")
        if area is None or people is None:
            return None
        return cls(Decimal(str(area)), int(people))


def current_rule(session: Session, today: date) -> CapacityThresholds | None:
    """The capacity thresholds in force on ``today``: the over-capacity rule's newest
    version that started by the end of the day (None before one was saved).

    A version starts at local midnight of its first day, so "by the end of today" in the
    deployment's time zone, not the database server's ``now()``, decides. Switching the
    rule's flags off does not take the thresholds away: capacity is still shown.
    """
    settings = session.scalar(
        select(RuleVersion.settings)
        .where(
            RuleVersion.rule == RuleCode.OVER_CAPACITY.value,
            RuleVersion.valid_from < end_of_day(today, deployment_zone()),
        )
        .order_by(RuleVersion.valid_from.desc(), RuleVersion.id.desc())
        .limit(1)
    )
    return None if settings is None else CapacityThresholds.of(settings)


# -- legal capacity ------------------------------------------------------------------------


def legal_capacity(floor_area, rooms, rule: CapacityThresholds | None) -> int | None:
    """How many people the dwelling may hold: area per person and people per room."""
    if rule is None:
        return None
    by_area = int(floor_area // rule.min_floor_area_per_person)
    return min(by_area, rooms * rule.max_people_per_room)


def capacity_sql(rule: CapacityThresholds | None, dwelling=Dwelling) -> ColumnElement | None:
    """:func:`legal_capacity` of ``dwelling`` in SQL (None without a rule)."""
    if rule is None:
        return None
    by_area = func.floor(dwelling.floor_area / rule.min_floor_area_per_person)
    return func.least(by_area, dwelling.rooms * rule.max_people_per_room)


def over_capacity(occupants, capacity) -> ColumnElement[bool]:
    """More people living there today than the legal capacity (never, without a rule)."""
    if capacity is None:
        return false()
    return occupants > capacity


# -- filings and residences ----------------------------------------------------------------


def filing_is_current(today: date) -> ColumnElement[bool]:
    """The filing's term (registry/lease/models.py, both days included) covers today."""
    return LeaseFiling.covers(today)


def residence_is_current(today: date, residence=Residence) -> ColumnElement[bool]:
    """Living there today: moved in by today and not moved out by today.

    ``residence``: the model, an alias of it, or the ``.c`` of a Core alias of its table.
    """
    return and_(
        residence.moved_in <= today,
        func.coalesce(residence.moved_out, _OPEN_END) > today,
    )


def pledges_complete(filing_id) -> ColumnElement[bool]:
    """The filing has both the rental pledge and the security guarantee signed."""
    rental, guarantee = has_pledges(filing_id)
    return and_(rental, guarantee)


def counts_as_signed(pledge) -> ColumnElement[bool]:
    """A drawn signature counts; a typed one (for a signer who cannot draw) counts when the
    administrator's setting says so (registry/setting)."""
    return or_(pledge.signing_method == SigningMethod.DRAWN, setting_sql(TYPED_SIGNATURE_COUNTS))


def has_pledges(filing_id) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    rental = exists().where(
        RentalPledge.lease_filing_id == filing_id, counts_as_signed(RentalPledge)
    )
    guarantee = exists().where(
        SecurityGuarantee.lease_filing_id == filing_id, counts_as_signed(SecurityGuarantee)
    )
    return rental, guarantee


# -- occupancy that contradicts the people living there -----------------------------------


class OccupancyProblem:
    """Why a dwelling's recorded occupancy does not fit the people living there today."""

    VACANT_OCCUPIED = "vacant_occupied"  # 空置, yet somebody lives there
    TENANTS_ONLY = "tenants_only"  # 自住, yet only tenants (no owner or family) live there


OWNER_SIDE = (Relationship.OWNER, Relationship.OWNER_FAMILY)
TENANT_SIDE = (Relationship.TENANT, Relationship.TENANT_FAMILY)


def occupancy_problem_of(occupancy, occupants, tenant_side, owner_side) -> ColumnElement:
    """An ``OccupancyProblem`` value in SQL, or NULL when all fits.

    ``occupants`` counts the people living there today; ``tenant_side`` and
    ``owner_side`` say whether any of them is a tenant (or family), an owner (or family).
    Only flagged, never changed: the grid worker finds out whether the occupancy or the
    list of residents is wrong, and corrects that one.
    """
    return case(
        (
            and_(occupancy == Occupancy.VACANT, occupants > 0),
            literal(OccupancyProblem.VACANT_OCCUPIED),
        ),
        (
            and_(occupancy == Occupancy.OWNER_OCCUPIED, tenant_side, ~owner_side),
            literal(OccupancyProblem.TENANTS_ONLY),
        ),
        else_=literal(None),
    )


# -- per dwelling: correlated subqueries ---------------------------------------------------


def occupants_now(dwelling_id, today: date):
    """Correlated count of the people living in the dwelling today."""
    return (
        select(func.count())
        .where(Residence.dwelling_id == dwelling_id, residence_is_current(today))
        .correlate_except(Residence)
        .scalar_subquery()
    )


def _living_now(dwelling_id, today: date, relationships) -> ColumnElement[bool]:
    """Whether anybody of these relationships lives in the dwelling today (correlated)."""
    return (
        select(Residence.id)
        .where(
            Residence.dwelling_id == dwelling_id,
            residence_is_current(today),
            Residence.relationship_to_dwelling.in_(relationships),
        )
        .correlate_except(Residence)
        .exists()
    )


def occupancy_problem(today: date, dwelling=Dwelling) -> ColumnElement:
    """:func:`occupancy_problem_of` for ``dwelling``, from correlated subqueries."""
    return occupancy_problem_of(
        dwelling.occupancy,
        occupants_now(dwelling.id, today),
        _living_now(dwelling.id, today, TENANT_SIDE),
        _living_now(dwelling.id, today, OWNER_SIDE),
    )


def current_filing_id(dwelling_id, today: date):
    """The id of the dwelling's current filing (the newest if several), or NULL."""
    return (
        select(LeaseFiling.id)
        .where(LeaseFiling.dwelling_id == dwelling_id, filing_is_current(today))
        .order_by(LeaseFiling.starts_on.desc(), LeaseFiling.id.desc())
        .limit(1)
        .correlate_except(LeaseFiling)
        .scalar_subquery()
    )


def dwelling_status(base: Select, dwelling, today: date) -> Select:
    """Add status columns to ``base`` (a select over ``dwelling``).

    Columns: occupants_now, current_filing_id, has_expired_filing, rental_pledge,
    security_guarantee.
    """
    filing = current_filing_id(dwelling.id, today).label("current_filing_id")
    expired = (
        exists()
        .where(
            LeaseFiling.dwelling_id == dwelling.id,
            LeaseFiling.holds_term,
            LeaseFiling.ends_on < today,
        )
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


# -- every dwelling at once: grouped subqueries to join ------------------------------------


def _among(dwelling_id, only: Select | None) -> ColumnElement[bool]:
    """``only`` (a select of dwelling ids) restricts a grouped subquery to a few dwellings:
    a filter from outside does not reach inside a GROUP BY or DISTINCT ON."""
    return true() if only is None else dwelling_id.in_(only)


def current_filings(today: date, only: Select | None = None):
    """Per dwelling with a current filing: that filing (the newest, as in
    :func:`current_filing_id`) and whether it has both pledges.

    Columns: dwelling_id, filing_id, pledges_complete.
    """
    return (
        select(
            LeaseFiling.dwelling_id,
            LeaseFiling.id.label("filing_id"),
            pledges_complete(LeaseFiling.id).label("pledges_complete"),
        )
        .where(filing_is_current(today), _among(LeaseFiling.dwelling_id, only))
        .ext(distinct_on(LeaseFiling.dwelling_id))
        .order_by(LeaseFiling.dwelling_id, LeaseFiling.starts_on.desc(), LeaseFiling.id.desc())
        .subquery("current_filing")
    )


def ended_filings(today: date, only: Select | None = None):
    """Per dwelling with a filing whose term is over: the newest such filing, its last day.

    "Over" is the term of registry/lease/models.py run out (or ended early) before today.
    Columns: dwelling_id, filing_id, last_day.
    """
    return (
        select(
            LeaseFiling.dwelling_id,
            LeaseFiling.id.label("filing_id"),
            LeaseFiling.last_day.label("last_day"),
        )
        .where(LeaseFiling.holds_term, LeaseFiling.last_day < today)
        .where(_among(LeaseFiling.dwelling_id, only))
        .ext(distinct_on(LeaseFiling.dwelling_id))
        .order_by(LeaseFiling.dwelling_id, LeaseFiling.last_day.desc(), LeaseFiling.id.desc())
        .subquery("ended_filing")
    )


def next_filings(today: date, only: Select | None = None):
    """Per dwelling with a filing that starts after today: the first one and its first day.

    Columns: dwelling_id, filing_id, starts_on.
    """
    return (
        select(
            LeaseFiling.dwelling_id,
            LeaseFiling.id.label("filing_id"),
            LeaseFiling.starts_on,
        )
        .where(LeaseFiling.holds_term, LeaseFiling.starts_on > today)
        .where(_among(LeaseFiling.dwelling_id, only))
        .ext(distinct_on(LeaseFiling.dwelling_id))
        .order_by(LeaseFiling.dwelling_id, LeaseFiling.starts_on, LeaseFiling.id)
        .subquery("next_filing")
    )


def current_residents(today: date, only: Select | None = None):
    """Per dwelling somebody lives in today: how many, of which kind and relationship.

    Columns: dwelling_id, occupants, registered, transient, tenant_side, owner_side.
    """
    relationship = Residence.relationship_to_dwelling
    return (
        select(
            Residence.dwelling_id,
            func.count().label("occupants"),
            func.count().filter(Residence.kind == ResidenceKind.REGISTERED).label("registered"),
            func.count().filter(Residence.kind == ResidenceKind.TRANSIENT).label("transient"),
            func.bool_or(relationship.in_(TENANT_SIDE)).label("tenant_side"),
            func.bool_or(relationship.in_(OWNER_SIDE)).label("owner_side"),
        )
        .where(residence_is_current(today), _among(Residence.dwelling_id, only))
        .group_by(Residence.dwelling_id)
        .subquery("current_residents")
    )


# -- per dwelling: lateral subqueries to join (a few dwellings at a time) ------------------


def current_filing_of(dwelling, today: date):
    """LATERAL: the dwelling's current filing (the newest, as :func:`current_filing_id`)
    and its two pledges; no row when it has none.

    Columns: filing_id, rental_pledge, security_guarantee. Each is computed once per
    dwelling, where the correlated columns of :func:`dwelling_status` compute the filing
    three times.
    """
    rental, guarantee = has_pledges(LeaseFiling.id)
    return (
        select(
            LeaseFiling.id.label("filing_id"),
            rental.label("rental_pledge"),
            guarantee.label("security_guarantee"),
        )
        .where(LeaseFiling.dwelling_id == dwelling.id, filing_is_current(today))
        .order_by(LeaseFiling.starts_on.desc(), LeaseFiling.id.desc())
        .limit(1)
        .lateral("current_filing")
    )


def residents_of(dwelling, today: date):
    """LATERAL: who lives in the dwelling today, as :func:`current_residents` counts them.

    Columns: occupants, tenant_side, owner_side (one row, also for an empty dwelling).
    """
    relationship = Residence.relationship_to_dwelling
    return (
        select(
            func.count().label("occupants"),
            func.coalesce(func.bool_or(relationship.in_(TENANT_SIDE)), false()).label(
                "tenant_side"
            ),
            func.coalesce(func.bool_or(relationship.in_(OWNER_SIDE)), false()).label("owner_side"),
        )
        .where(Residence.dwelling_id == dwelling.id, residence_is_current(today))
        .lateral("residents")
    )


# -- a group of dwellings at a glance ------------------------------------------------------


class Worst(IntEnum):
    """The worst status among a group of dwellings (a building), worst first.

    The grid map colours each building by it; the order is the order of what to do first.
    """

    OVER_CAPACITY = 1
    UNFILED = 2  # rented, no current filing
    PLEDGE_MISSING = 3  # current filing without both pledges
    OCCUPANCY = 4  # recorded occupancy contradicts the residents
    IN_ORDER = 5
    NO_DWELLINGS = 6


def worst_status(counts) -> ColumnElement:
    """SQL: the :class:`Worst` of a group of dwellings, from its status counts.

    ``counts`` has the columns of :class:`registry.dwelling.services.StatusCounts`
    (``over_capacity``,
    ``rented_without_filing``, ``pledges_missing``, ``occupancy_to_check``, ``dwellings``).
    """
    return case(
        (func.coalesce(counts.dwellings, 0) == 0, literal(int(Worst.NO_DWELLINGS))),
        (counts.over_capacity > 0, literal(int(Worst.OVER_CAPACITY))),
        (counts.rented_without_filing > 0, literal(int(Worst.UNFILED))),
        (counts.pledges_missing > 0, literal(int(Worst.PLEDGE_MISSING))),
        (counts.occupancy_to_check > 0, literal(int(Worst.OCCUPANCY))),
        else_=literal(int(Worst.IN_ORDER)),
    )
