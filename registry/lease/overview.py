"""The property manager's overview: the dwellings in scope, their filing state, reminders.

One query per page (:func:`_overview_query`) builds on registry.dwelling.status, so the
list, the attention filter and the to-do list agree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, exists, func, literal, not_, or_, select
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from registry.accounts.models import UserAccount
from registry.address.door import door_condition, parse_door_query
from registry.address.models import Address, Road
from registry.address.services import natural_order
from registry.address.text import address_full_text, like_pattern, normalise_address_text
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import (
    CapacityThresholds,
    capacity_sql,
    current_filing_id,
    current_rule,
    dwelling_status,
    residence_is_current,
)
from registry.errors import NotFound
from registry.lease.models import (
    FilingRequest,
    LeaseFiling,
    LeaseStatus,
    LeaseTenant,
    PledgeKind,
)
from registry.person.models import Relationship, Residence
from registry.scope import dwelling_filter, get_in_scope

ENDING_SOON_DAYS = 30


@dataclass(frozen=True)
class DwellingRow:
    """One dwelling's filing state, as the overview and the to-do list show it."""

    id: int
    address: str
    short_address: str  # road to room, without the district, sub-district and community
    occupancy: Occupancy
    occupants_now: int
    current_filing_id: int | None
    current_number: str | None
    current_ends_on: date | None
    rental_pledge: bool
    security_guarantee: bool
    next_starts_on: date | None
    latest_filing_id: int | None
    latest_status: LeaseStatus | None
    latest_ends_on: date | None
    latest_ended_on: date | None
    tenants_not_on_lease: int
    tenant_residents: int
    today: date
    capacity: int | None = None  # legal capacity under the rule in force (None: no rule)

    @property
    def over_capacity(self) -> bool:
        """More people living there than its legal capacity (群租): shown and listed."""
        return self.capacity is not None and self.occupants_now > self.capacity

    @property
    def state(self) -> str:
        """'current', 'expired' (term over), 'ended' (ended early) or 'none'."""
        if self.current_filing_id is not None:
            return "current"
        if self.latest_filing_id is None:
            return "none"
        if self.latest_status == LeaseStatus.ENDED_EARLY:
            return "ended"
        if self.latest_ends_on is not None and self.latest_ends_on < self.today:
            return "expired"
        return "upcoming"  # only a filing that starts later

    @property
    def rented(self) -> bool:
        return self.occupancy == Occupancy.RENTED

    @property
    def ending_soon(self) -> bool:
        return (
            self.current_ends_on is not None
            and self.current_ends_on <= self.today + timedelta(days=ENDING_SOON_DAYS)
            and self.next_starts_on is None
        )

    @property
    def missing_pledges(self) -> list[PledgeKind]:
        if self.current_filing_id is None:
            return []
        missing = []
        if not self.rental_pledge:
            missing.append(PledgeKind.RENTAL_PLEDGE)
        if not self.security_guarantee:
            missing.append(PledgeKind.SECURITY_GUARANTEE)
        return missing

    @property
    def renewable_filing_id(self) -> int | None:
        """The filing a renewal follows: the current one, or the last one if it ran out."""
        if self.current_filing_id is not None:
            return self.current_filing_id
        if self.state == "expired":
            return self.latest_filing_id
        return None


@dataclass(frozen=True)
class Reminder:
    """Something a manager has to do for one dwelling; ``kind`` picks text and action."""

    # requested | over_capacity | ending | unfiled | expired | pledge | tenants_unlisted
    # | tenants_unfiled
    kind: str
    dwelling: DwellingRow
    filing_id: int | None = None
    on: date | None = None
    count: int = 0
    pledge: PledgeKind | None = None
    request: FilingRequest | None = None


def reminders_for(row: DwellingRow) -> list[Reminder]:
    """What is missing or due for one dwelling, most urgent first."""
    found: list[Reminder] = []
    if row.over_capacity:
        found.append(Reminder("over_capacity", row, count=row.occupants_now))
    if row.ending_soon:
        found.append(Reminder("ending", row, row.current_filing_id, row.current_ends_on))
    if row.current_filing_id is None and row.next_starts_on is None:
        if row.rented and row.state == "expired":
            found.append(Reminder("expired", row, row.latest_filing_id, row.latest_ends_on))
        elif row.rented:
            found.append(Reminder("unfiled", row))
        elif row.tenant_residents:
            found.append(Reminder("tenants_unfiled", row, count=row.tenant_residents))
    for kind in row.missing_pledges:
        found.append(Reminder("pledge", row, row.current_filing_id, pledge=kind))
    if row.current_filing_id is not None and row.tenants_not_on_lease:
        found.append(
            Reminder("tenants_unlisted", row, row.current_filing_id, count=row.tenants_not_on_lease)
        )
    return found


def _overview_query(actor: UserAccount, today: date, rule: CapacityThresholds | None):
    """Per dwelling in scope: its status columns plus the current and the latest filing."""
    cur_id = current_filing_id(Dwelling.id, today)
    on_lease = exists().where(
        LeaseTenant.lease_filing_id == cur_id,
        LeaseTenant.person_id == Residence.person_id,
        LeaseTenant.removed_on.is_(None),
    )
    unlisted = (
        select(func.count())
        .select_from(Residence)
        .where(
            Residence.dwelling_id == Dwelling.id,
            residence_is_current(today),
            Residence.relationship_to_dwelling == Relationship.TENANT,
            cur_id.is_not(None),
            ~on_lease,
        )
        .correlate(Dwelling)
        .scalar_subquery()
    )
    tenant_residents = (
        select(func.count())
        .select_from(Residence)
        .where(
            Residence.dwelling_id == Dwelling.id,
            residence_is_current(today),
            Residence.relationship_to_dwelling.in_(
                (Relationship.TENANT, Relationship.TENANT_FAMILY)
            ),
        )
        .correlate(Dwelling)
        .scalar_subquery()
    )
    later = aliased(LeaseFiling)
    next_start = (
        select(func.min(later.starts_on))
        .where(
            later.dwelling_id == Dwelling.id,
            later.status == LeaseStatus.FILED,
            later.starts_on > today,
        )
        .correlate(Dwelling)
        .scalar_subquery()
    )
    earlier = aliased(LeaseFiling)
    latest = (
        select(earlier.id)
        .where(earlier.dwelling_id == Dwelling.id, earlier.holds_term, earlier.starts_on <= today)
        .order_by(earlier.starts_on.desc(), earlier.id.desc())
        .limit(1)
        .correlate(Dwelling)
        .scalar_subquery()
    )
    base = (
        select(
            Dwelling.id,
            Dwelling.occupancy,
            Address.id.label("address_id"),
            Address.full_text.label("address"),
            Road.name.label("road"),
            Address.door_number,
            Address.building,
            Address.entrance,
            Address.floor,
            Address.room,
            unlisted.label("tenants_not_on_lease"),
            tenant_residents.label("tenant_residents"),
            next_start.label("next_starts_on"),
            latest.label("latest_filing_id"),
            _capacity_column(rule),
        )
        .join(Address, Address.id == Dwelling.address_id)
        .join(Road, Road.id == Address.road_id)
        .where(dwelling_filter(actor))
    )
    status = dwelling_status(base, Dwelling, today).subquery("status")
    current = aliased(LeaseFiling)
    last = aliased(LeaseFiling)
    soon = today + timedelta(days=ENDING_SOON_DAYS)
    attention = or_(
        status.c.occupants_now > status.c.capacity,
        and_(status.c.occupancy == Occupancy.RENTED, status.c.current_filing_id.is_(None)),
        and_(status.c.current_filing_id.is_(None), status.c.tenant_residents > 0),
        and_(
            status.c.current_filing_id.is_not(None),
            or_(
                not_(status.c.rental_pledge),
                not_(status.c.security_guarantee),
                status.c.tenants_not_on_lease > 0,
                and_(current.last_day <= soon, status.c.next_starts_on.is_(None)),
            ),
        ),
    )
    # A filing that starts later covers a dwelling whose last lease ran out.
    attention = or_(
        status.c.occupants_now > status.c.capacity,
        and_(
            attention,
            or_(status.c.current_filing_id.is_not(None), status.c.next_starts_on.is_(None)),
        ),
    )
    query = (
        select(
            status,
            current.filing_number.label("current_number"),
            current.last_day.label("current_ends_on"),
            last.status.label("latest_status"),
            last.ends_on.label("latest_ends_on"),
            last.ended_on.label("latest_ended_on"),
        )
        .outerjoin(current, current.id == status.c.current_filing_id)
        .outerjoin(last, last.id == status.c.latest_filing_id)
    )
    return query, attention, status, current


def _capacity_column(rule: CapacityThresholds | None):
    """The legal capacity under ``rule`` (registry/dwelling/status.py), NULL without one."""
    capacity = capacity_sql(rule)
    return (capacity if capacity is not None else literal(None)).label("capacity")


def _row(result, today: date) -> DwellingRow:
    return DwellingRow(
        id=result.id,
        address=result.address,
        short_address=address_full_text(
            "",
            result.road,
            result.door_number,
            result.building,
            result.entrance,
            result.floor,
            result.room,
        ),
        occupancy=result.occupancy,
        occupants_now=result.occupants_now,
        current_filing_id=result.current_filing_id,
        current_number=result.current_number,
        current_ends_on=result.current_ends_on,
        rental_pledge=bool(result.rental_pledge),
        security_guarantee=bool(result.security_guarantee),
        next_starts_on=result.next_starts_on,
        latest_filing_id=result.latest_filing_id,
        latest_status=result.latest_status,
        latest_ends_on=result.latest_ends_on,
        latest_ended_on=result.latest_ended_on,
        tenants_not_on_lease=result.tenants_not_on_lease,
        tenant_residents=result.tenant_residents,
        today=today,
        capacity=result.capacity,
    )


@dataclass(frozen=True)
class Page:
    rows: list[DwellingRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _address_order(status) -> tuple:
    """Road, door number, building, entrance, floor, room; numbers as numbers (101 < 1001)."""
    return (
        status.c.road,
        *natural_order(status.c.door_number),
        *natural_order(status.c.building),
        *natural_order(status.c.entrance),
        status.c.floor.nulls_first(),
        *natural_order(status.c.room),
        status.c.id,
    )


class Show(enum.StrEnum):
    """What the dwellings list can be narrowed to."""

    ALL = "all"
    ATTENTION = "attention"  # anything on the to-do list
    UNFILED = "unfiled"  # rented, or tenants living there, with no current filing
    ENDING = "ending"  # the current filing ends within 30 days, nothing follows
    PLEDGES = "pledges"  # the current filing misses a pledge
    OVER_CAPACITY = "over_capacity"  # more people than the legal capacity


def _shown(show: Show, attention, status, current, today: date):
    soon = today + timedelta(days=ENDING_SOON_DAYS)
    has_filing = status.c.current_filing_id.is_not(None)
    return {
        Show.ALL: None,
        Show.ATTENTION: attention,
        Show.UNFILED: and_(
            status.c.current_filing_id.is_(None),
            status.c.next_starts_on.is_(None),
            or_(status.c.occupancy == Occupancy.RENTED, status.c.tenant_residents > 0),
        ),
        Show.ENDING: and_(has_filing, current.last_day <= soon, status.c.next_starts_on.is_(None)),
        Show.PLEDGES: and_(
            has_filing, or_(not_(status.c.rental_pledge), not_(status.c.security_guarantee))
        ),
        Show.OVER_CAPACITY: status.c.occupants_now > status.c.capacity,
    }[show]


def _door_search(text: str, status) -> ColumnElement[bool]:
    """Dwellings whose address matches a door number however typed, or holds the text."""
    parsed = parse_door_query(text)
    address = aliased(Address)
    if parsed is not None:
        condition = door_condition(parsed, address)
    else:
        condition = address.full_text.like(like_pattern(normalise_address_text(text)), escape="\\")
    return exists().where(address.id == status.c.address_id, condition)


def list_my_dwellings(
    session: Session,
    actor: UserAccount,
    today: date,
    *,
    show: Show = Show.ALL,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """The dwellings in the actor's scope with the state of each one's filing, narrowed to
    ``show`` and to a door number or address text ``search``."""
    query, attention, status, current = _overview_query(actor, today, current_rule(session, today))
    narrowed = _shown(show, attention, status, current, today)
    if narrowed is not None:
        query = query.where(narrowed)
    if search.strip():
        query = query.where(_door_search(search, status))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, page)
    rows = session.execute(
        query.order_by(*_address_order(status)).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page([_row(r, today) for r in rows], total or 0, page, per_page)


def dwelling_row(session: Session, actor: UserAccount, dwelling_id: int, today: date):
    """One dwelling's overview row, or NotFound when it is outside the actor's scope."""
    query, _attention, status, _current = _overview_query(
        actor, today, current_rule(session, today)
    )
    result = session.execute(query.where(status.c.id == dwelling_id)).first()
    if result is None:
        raise NotFound()
    return _row(result, today)


def list_reminders(session: Session, actor: UserAccount, today: date) -> list[Reminder]:
    """Requests from grid workers and overcrowding first, then filings ending within 30
    days, then each dwelling that lacks something."""
    query, attention, status, _current = _overview_query(actor, today, current_rule(session, today))
    requested = select(FilingRequest.dwelling_id).where(FilingRequest.lease_filing_id.is_(None))
    ordered = query.where(or_(attention, status.c.id.in_(requested))).order_by(
        *_address_order(status)
    )
    rows = [_row(r, today) for r in session.execute(ordered)]
    found = [reminder for row in rows for reminder in reminders_for(row)]
    found += _requested(session, {row.id: row for row in rows})
    order = {"requested": 0, "over_capacity": 1, "ending": 2, "expired": 3, "unfiled": 4}
    order["pledge"] = 5
    # A stable sort: within a kind and a date, the dwellings keep the database's order.
    found.sort(key=lambda r: (order.get(r.kind, 6), r.on or date.max))
    return found


def _requested(session: Session, rows: dict[int, DwellingRow]) -> list[Reminder]:
    """The open requests of grid workers to file these dwellings' leases, with their notes."""
    if not rows:
        return []
    requests = session.scalars(
        select(FilingRequest)
        .where(FilingRequest.dwelling_id.in_(rows), FilingRequest.lease_filing_id.is_(None))
        .options(selectinload(FilingRequest.requested_by))
        .order_by(FilingRequest.id)
    )
    return [
        Reminder("requested", rows[r.dwelling_id], on=r.created_at.date(), request=r)
        for r in requests
    ]


def filings_of_dwelling(session: Session, actor: UserAccount, dwelling_id: int):
    """The dwelling (in scope) and all its filings, newest first."""
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    filings = session.scalars(
        select(LeaseFiling)
        .where(LeaseFiling.dwelling_id == dwelling.id)
        .order_by(LeaseFiling.starts_on.desc(), LeaseFiling.id.desc())
    ).all()
    return dwelling, filings
