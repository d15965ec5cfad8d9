"""Lease filings 房屋租赁备案 and the two pledges 两书: file, renew, correct, end early,
tenants in and out, signatures, and what a property manager still has to do.

Every read goes through registry.scope, so a filing or dwelling outside the actor's scope
is "not found"; every write is audited; edits of a filing check the version the user saw.
Services only flush: the request (or CLI command, or test) commits once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from flask_babel import LazyString, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address, Road
from registry.address.services import natural_order
from registry.address.text import address_full_text
from registry.area.models import Community, District, SubDistrict
from registry.audit.services import Action, record
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import (
    current_filing_id,
    dwelling_status,
    filing_is_current,
    residence_is_current,
)
from registry.edits import check_version, load_for_correction
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.lease.models import (
    LeaseFiling,
    LeaseStatus,
    LeaseTenant,
    PledgeDocument,
    PledgeKind,
    RentalPledge,
    SecurityGuarantee,
    SignerRole,
)
from registry.person.identity import IdentityCipher
from registry.person.models import Person, Relationship, Residence
from registry.person.services import (
    PersonInput,
    clean_person,
    create_or_find_person,
    find_by_document,
    masked_document,
)
from registry.scope import dwelling_filter, get_in_scope
from registry.validators import FieldError, ValidationErrors, validate_name

# Who may do what, on top of scope: managers and landlords keep their filings; the pledges
# are signed by the landlord (or a tenant) on a manager's or a grid worker's device.
FILING_ROLES = (Role.PROPERTY_MANAGER,)
SIGNING_ROLES = (Role.PROPERTY_MANAGER, Role.GRID_WORKER)

ENDING_SOON_DAYS = 30
MAX_TERM_YEARS = 20  # Civil Code art. 705: a lease term may not exceed twenty years
MAX_RENT = Decimal("99999999.99")  # Numeric(10, 2)
RENT_STEP = Decimal("0.01")
MAX_TENANT_ROWS = 20

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIGNATURE_MAX_BYTES = 500 * 1024
SIGNATURE_MAX_SIDE = 2000
SIGNATURE_MAX_PIXELS = 1_000_000  # keeps the worst-case decode near a second
# A signature needs more ink than a stray tap: pixels that differ from the background.
MIN_INK_PIXELS = 40
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel (8-bit only)

PLEDGE_MODELS = {
    PledgeKind.RENTAL_PLEDGE: RentalPledge,
    PledgeKind.SECURITY_GUARANTEE: SecurityGuarantee,
}


# -- reading: the manager's overview and the to-do list -----------------------------------


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

    kind: str  # ending | unfiled | expired | pledge | tenants_unlisted | tenants_unfiled
    dwelling: DwellingRow
    filing_id: int | None = None
    on: date | None = None
    count: int = 0
    pledge: PledgeKind | None = None


def reminders_for(row: DwellingRow) -> list[Reminder]:
    """What is missing or due for one dwelling, most urgent first."""
    found: list[Reminder] = []
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


def _overview_query(actor: UserAccount, today: date):
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
        .where(earlier.dwelling_id == Dwelling.id, earlier.starts_on <= today)
        .order_by(earlier.starts_on.desc(), earlier.id.desc())
        .limit(1)
        .correlate(Dwelling)
        .scalar_subquery()
    )
    base = (
        select(
            Dwelling.id,
            Dwelling.occupancy,
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
        and_(status.c.occupancy == Occupancy.RENTED, status.c.current_filing_id.is_(None)),
        and_(status.c.current_filing_id.is_(None), status.c.tenant_residents > 0),
        and_(
            status.c.current_filing_id.is_not(None),
            or_(
                not_(status.c.rental_pledge),
                not_(status.c.security_guarantee),
                status.c.tenants_not_on_lease > 0,
                and_(current.ends_on <= soon, status.c.next_starts_on.is_(None)),
            ),
        ),
    )
    # A filing that starts later covers a dwelling whose last lease ran out.
    attention = and_(
        attention,
        or_(status.c.current_filing_id.is_not(None), status.c.next_starts_on.is_(None)),
    )
    query = (
        select(
            status,
            current.filing_number.label("current_number"),
            current.ends_on.label("current_ends_on"),
            last.status.label("latest_status"),
            last.ends_on.label("latest_ends_on"),
            last.ended_on.label("latest_ended_on"),
        )
        .outerjoin(current, current.id == status.c.current_filing_id)
        .outerjoin(last, last.id == status.c.latest_filing_id)
    )
    return query, attention, status


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


def list_my_dwellings(
    session: Session,
    actor: UserAccount,
    today: date,
    *,
    attention_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """The dwellings in the actor's scope with the state of each one's filing."""
    query, attention, status = _overview_query(actor, today)
    if attention_only:
        query = query.where(attention)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, page)
    rows = session.execute(
        query.order_by(*_address_order(status)).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page([_row(r, today) for r in rows], total or 0, page, per_page)


def dwelling_row(session: Session, actor: UserAccount, dwelling_id: int, today: date):
    """One dwelling's overview row, or NotFound when it is outside the actor's scope."""
    query, _attention, status = _overview_query(actor, today)
    result = session.execute(query.where(status.c.id == dwelling_id)).first()
    if result is None:
        raise NotFound()
    return _row(result, today)


def list_reminders(session: Session, actor: UserAccount, today: date) -> list[Reminder]:
    """Filings ending within 30 days first, then each dwelling that lacks something."""
    query, attention, status = _overview_query(actor, today)
    ordered = query.where(attention).order_by(*_address_order(status))
    rows = [_row(r, today) for r in session.execute(ordered)]
    found = [reminder for row in rows for reminder in reminders_for(row)]
    order = {"ending": 0, "expired": 1, "unfiled": 2, "pledge": 3}
    # A stable sort: within a kind and a date, the dwellings keep the database's order.
    found.sort(key=lambda r: (order.get(r.kind, 4), r.on or date.max))
    return found


def filings_of_dwelling(session: Session, actor: UserAccount, dwelling_id: int):
    """The dwelling (in scope) and all its filings, newest first."""
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    filings = session.scalars(
        select(LeaseFiling)
        .where(LeaseFiling.dwelling_id == dwelling.id)
        .order_by(LeaseFiling.starts_on.desc(), LeaseFiling.id.desc())
    ).all()
    return dwelling, filings


# -- one filing, as its page shows it -----------------------------------------------------


@dataclass(frozen=True)
class ShownPerson:
    person_id: int
    name: str
    document: str  # masked
    document_type: Any


@dataclass(frozen=True)
class ShownTenancy:
    id: int
    tenant: ShownPerson
    added_on: date
    removed_on: date | None


@dataclass(frozen=True)
class ShownPledge:
    id: int
    kind: PledgeKind
    signer_name: str
    signer_role: SignerRole
    signed_at: datetime
    version: str
    has_image: bool
    signer_person_id: int
    document_id: int


@dataclass
class FilingView:
    filing: LeaseFiling
    address: str
    landlord: ShownPerson
    tenancies: list[ShownTenancy]
    pledges: list[ShownPledge]
    residents_not_on_lease: list[ShownPerson]
    in_force: bool  # current, or filed for a term that has not begun yet
    is_current: bool
    today: date
    missing: list[PledgeKind] = field(default_factory=list)

    @property
    def current_tenancies(self) -> list[ShownTenancy]:
        return [t for t in self.tenancies if t.removed_on is None]

    @property
    def former_tenancies(self) -> list[ShownTenancy]:
        return [t for t in self.tenancies if t.removed_on is not None]


def shown_person(cipher: IdentityCipher, person: Person) -> ShownPerson:
    return ShownPerson(
        person.id, person.name, masked_document(cipher, person), person.document_type
    )


def _in_force(filing: LeaseFiling, today: date) -> bool:
    return filing.status == LeaseStatus.FILED and filing.ends_on >= today


def audit_person_views(session: Session, actor: UserAccount, people: Sequence[ShownPerson]) -> None:
    """Every person a page shows is a view of that person's record (PIPL)."""
    for person_id in dict.fromkeys(p.person_id for p in people):
        record(session, actor, Action.VIEW, "person", person_id)


def _pledges_of(session: Session, filing_id: int) -> list[ShownPledge]:
    shown: list[ShownPledge] = []
    for kind, model in PLEDGE_MODELS.items():
        role = model.signer_role if model is SecurityGuarantee else None
        columns = [
            model.id,
            model.signer_name,
            model.signed_at,
            PledgeDocument.version,
            model.signature_png.is_not(None).label("has_image"),
            model.signer_person_id,
            model.pledge_document_id,
        ]
        if role is not None:
            columns.append(role)
        rows = session.execute(
            select(*columns)
            .join(PledgeDocument, PledgeDocument.id == model.pledge_document_id)
            .where(model.lease_filing_id == filing_id)
            .order_by(model.signed_at, model.id)
        ).all()
        for row in rows:
            shown.append(
                ShownPledge(
                    row.id,
                    kind,
                    row.signer_name,
                    getattr(row, "signer_role", None) or SignerRole.LANDLORD,
                    row.signed_at,
                    row.version,
                    bool(row.has_image),
                    row.signer_person_id,
                    row.pledge_document_id,
                )
            )
    return shown


def view_filing(
    session: Session, actor: UserAccount, cipher: IdentityCipher, filing_id: int, today: date
) -> FilingView:
    """A filing in scope with its people (each view audited), tenants and signatures."""
    filing = get_in_scope(session, actor, LeaseFiling, filing_id)
    address = session.scalar(
        select(Address.full_text)
        .join(Dwelling, Dwelling.address_id == Address.id)
        .where(Dwelling.id == filing.dwelling_id)
    )
    tenancies = session.scalars(
        select(LeaseTenant)
        .where(LeaseTenant.lease_filing_id == filing.id)
        .options(selectinload(LeaseTenant.person))
        .order_by(LeaseTenant.added_on, LeaseTenant.id)
    ).all()
    shown_tenancies = [
        ShownTenancy(t.id, shown_person(cipher, t.person), t.added_on, t.removed_on)
        for t in tenancies
    ]
    in_force = _in_force(filing, today)
    residents: list[ShownPerson] = []
    if in_force:
        listed = select(LeaseTenant.person_id).where(
            LeaseTenant.lease_filing_id == filing.id, LeaseTenant.removed_on.is_(None)
        )
        people = session.scalars(
            select(Person)
            .join(Residence, Residence.person_id == Person.id)
            .where(
                Residence.dwelling_id == filing.dwelling_id,
                residence_is_current(today),
                Residence.relationship_to_dwelling == Relationship.TENANT,
                Person.id.not_in(listed),
            )
            .order_by(Person.name, Person.id)
            .distinct()
        ).all()
        residents = [shown_person(cipher, p) for p in people]
    landlord = shown_person(cipher, filing.landlord)
    pledges = _pledges_of(session, filing.id)
    kinds = {p.kind for p in pledges}
    missing = [kind for kind in PledgeKind if kind not in kinds]
    audit_person_views(session, actor, [landlord, *(t.tenant for t in shown_tenancies), *residents])
    return FilingView(
        filing=filing,
        address=address,
        landlord=landlord,
        tenancies=shown_tenancies,
        pledges=pledges,
        residents_not_on_lease=residents,
        in_force=in_force,
        is_current=session.scalar(
            select(filing_is_current(today))
            .select_from(LeaseFiling)
            .where(LeaseFiling.id == filing.id)
        ),
        today=today,
        missing=missing,
    )


# -- validation of a lease ----------------------------------------------------------------


@dataclass(frozen=True)
class LeaseInput:
    """What the lease form, the importer or the API hands over to file a lease.

    ``landlord_choice`` is "owner" (the dwelling's owner), "previous" (the landlord of the
    filing being renewed) or "other" (``landlord`` entered with a document). ``tenants``
    are entered rows, blank ones included: errors are reported by row position.
    ``keep_tenancy_ids`` are tenancies of the renewed filing that carry over.
    """

    starts_on: Any
    ends_on: Any
    monthly_rent: Any
    landlord_choice: str = "owner"
    landlord: PersonInput | None = None
    tenants: Sequence[PersonInput] = ()
    keep_tenancy_ids: Sequence[int] = ()


def shown_date(day: date) -> LazyString:
    """A date for a message, formatted in the reader's locale when the message is shown."""
    return LazyString(format_date, day)


def _parse_date(value: Any, field_name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise FieldError(field_name, _l("This field is required"))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(field_name, _l("Not a valid date")) from None


def validate_rent(value: Any, field_name: str = "monthly_rent") -> Decimal:
    """Monthly rent in yuan: a number, not negative, at most two decimals."""
    if isinstance(value, Decimal):
        amount = value
    else:
        text = unicodedata.normalize("NFKC", str(value or "")).strip()
        text = text.replace(",", "").replace("¥", "").replace("元", "").strip()
        if not text:
            raise FieldError(field_name, _l("This field is required"))
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise FieldError(field_name, _l("Enter a number")) from None
    if not amount.is_finite():
        raise FieldError(field_name, _l("Enter a number"))
    if amount < 0:
        raise FieldError(field_name, _l("The rent cannot be negative"))
    if amount > MAX_RENT:
        raise FieldError(field_name, _l("Must be at most %(maximum)s", maximum=MAX_RENT))
    if amount.quantize(RENT_STEP) != amount:
        raise FieldError(field_name, _l("At most two decimal places"))
    return amount.quantize(RENT_STEP)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _clean_term(errors: ValidationErrors, starts_raw: Any, ends_raw: Any):
    start = end = None
    with errors.collect():
        start = _parse_date(starts_raw, "starts_on")
    with errors.collect():
        end = _parse_date(ends_raw, "ends_on")
    if start is not None and end is not None:
        if end <= start:
            errors.add("ends_on", _l("The end date must be after the start date"))
        elif end > add_years(start, MAX_TERM_YEARS):
            errors.add("ends_on", _l("A lease term may not exceed 20 years"))
    return start, end


def _overlapping(
    session: Session, dwelling_id: int, start: date, end: date, exclude_id: int | None = None
) -> LeaseFiling | None:
    """Another filing of the dwelling whose term meets [start, end].

    A filing ended early covers its start up to the day it ended, so a new lease may begin
    that very day.
    """
    query = select(LeaseFiling).where(
        LeaseFiling.dwelling_id == dwelling_id,
        LeaseFiling.starts_on <= end,
        or_(
            and_(LeaseFiling.status == LeaseStatus.FILED, LeaseFiling.ends_on >= start),
            and_(LeaseFiling.status == LeaseStatus.ENDED_EARLY, LeaseFiling.ended_on > start),
        ),
    )
    if exclude_id is not None:
        query = query.where(LeaseFiling.id != exclude_id)
    return session.scalars(query.order_by(LeaseFiling.starts_on).limit(1)).first()


def _overlap_message(other: LeaseFiling):
    return _l(
        "The term overlaps filing %(number)s (%(start)s to %(end)s): end that one early or "
        "renew it",
        number=other.filing_number,
        start=shown_date(other.starts_on),
        end=shown_date(other.ended_on or other.ends_on),
    )


def _is_blank(person: PersonInput) -> bool:
    return not any(
        (str(getattr(person, name) or "").strip())
        for name in ("name", "document_number", "phone", "birth_date")
    )


def _clean_person_into(
    errors: ValidationErrors,
    session: Session,
    cipher: IdentityCipher,
    data: PersonInput,
    prefix: str,
):
    """Validate one person's fields into ``errors`` under ``prefix``; the clean data or None.

    A document already on record under another name is refused: attaching that record
    silently would put the wrong person on the lease.
    """
    try:
        clean = clean_person(data)
    except InvalidInput as error:
        for name, messages in error.details.get("fields", {}).items():
            for message in messages:
                errors.add(f"{prefix}{name}", message)
        return None
    existing = find_by_document(session, cipher, clean.document_type, clean.document_number)
    if existing is not None and existing.anonymised_at is None and existing.name != clean.name:
        errors.add(
            f"{prefix}name",
            _l("This document is on record under another name: check the name and the number"),
        )
        return None
    return clean


@dataclass
class _CleanLease:
    starts_on: date
    ends_on: date
    monthly_rent: Decimal
    landlord_id: int | None
    landlord_input: PersonInput | None
    tenant_inputs: list[PersonInput]
    kept: list[LeaseTenant]


def _clean_lease(
    session: Session,
    cipher: IdentityCipher,
    dwelling: Dwelling,
    data: LeaseInput,
    previous: LeaseFiling | None,
) -> _CleanLease:
    """Check everything before anything is written, and report every problem at once."""
    errors = ValidationErrors()
    start, end = _clean_term(errors, data.starts_on, data.ends_on)
    rent = None
    with errors.collect():
        rent = validate_rent(data.monthly_rent)
    if start and end and "ends_on" not in errors.errors:
        other = _overlapping(session, dwelling.id, start, end)
        if other is not None:
            errors.add("starts_on", _overlap_message(other))

    landlord_id = None
    landlord_input = None
    landlord_document = None
    choice = data.landlord_choice
    if choice == "owner":
        if dwelling.owner_person_id is None:
            errors.add(
                "landlord_choice",
                _l("This dwelling has no owner on record: enter the landlord"),
            )
        landlord_id = dwelling.owner_person_id
    elif choice == "previous" and previous is not None:
        landlord_id = previous.landlord_person_id
    elif choice == "other" and data.landlord is not None:
        clean = _clean_person_into(errors, session, cipher, data.landlord, "landlord-")
        if clean is not None:
            landlord_input = data.landlord
            landlord_document = (clean.document_type, clean.document_number)
    else:
        errors.add("landlord_choice", _l("Choose the landlord"))

    kept: list[LeaseTenant] = []
    if previous is not None and data.keep_tenancy_ids:
        wanted = {int(i) for i in data.keep_tenancy_ids}
        kept = [t for t in previous.tenancies if t.id in wanted and t.removed_on is None]
    seen_documents: set[tuple] = set()
    if landlord_document is not None:
        seen_documents.add(landlord_document)
    kept_people = {t.person_id for t in kept}
    tenant_inputs: list[PersonInput] = []
    if len(data.tenants) > MAX_TENANT_ROWS:
        errors.add("tenants", _l("At most %(maximum)s tenants", maximum=MAX_TENANT_ROWS))
    for position, row in enumerate(data.tenants[:MAX_TENANT_ROWS]):
        if _is_blank(row):
            continue
        prefix = f"tenants-{position}-"
        clean = _clean_person_into(errors, session, cipher, row, prefix)
        if clean is None:
            continue
        key = (clean.document_type, clean.document_number)
        if key in seen_documents:
            errors.add(f"{prefix}document_number", _l("This person is entered twice"))
            continue
        seen_documents.add(key)
        existing = find_by_document(session, cipher, clean.document_type, clean.document_number)
        if existing is not None and existing.id in kept_people:
            errors.add(f"{prefix}document_number", _l("This tenant is already kept on the lease"))
            continue
        tenant_inputs.append(row)
    if (
        not tenant_inputs
        and not kept
        and not any(key.startswith("tenants-") for key in errors.errors)
    ):
        errors.add("tenants", _l("Enter at least one tenant"))
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return _CleanLease(start, end, rent, landlord_id, landlord_input, tenant_inputs, kept)


def _require_role(actor: UserAccount, roles: Sequence[Role]) -> None:
    if actor.role not in roles:
        raise Forbidden()


def _allocate_filing_number(session: Session, dwelling: Dwelling) -> tuple[int, str]:
    """The new filing's id and its number: district code and the id, as the demo writes them.

    Taking the id from the table's own sequence first makes the number unique without a
    second counter that could drift.
    """
    new_id = session.scalar(select(func.nextval(func.pg_get_serial_sequence("lease_filing", "id"))))
    district = session.scalar(
        select(District.code)
        .join(SubDistrict, SubDistrict.district_id == District.id)
        .join(Community, Community.sub_district_id == SubDistrict.id)
        .join(Address, Address.community_id == Community.id)
        .where(Address.id == dwelling.address_id)
    )
    return new_id, f"{district}-{new_id:08d}"


def _filing_changes(filing: LeaseFiling) -> dict[str, list]:
    return {
        "filing_number": [None, filing.filing_number],
        "dwelling_id": [None, filing.dwelling_id],
        "landlord_person_id": [None, filing.landlord_person_id],
        "starts_on": [None, filing.starts_on],
        "ends_on": [None, filing.ends_on],
        "monthly_rent": [None, filing.monthly_rent],
    }


def _add_tenancy(
    session: Session, actor: UserAccount, filing: LeaseFiling, person_id: int, added_on: date
) -> LeaseTenant:
    tenancy = LeaseTenant(lease_filing_id=filing.id, person_id=person_id, added_on=added_on)
    session.add(tenancy)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        "lease_tenant",
        tenancy.id,
        {
            "lease_filing_id": [None, filing.id],
            "person_id": [None, person_id],
            "added_on": [None, added_on],
        },
    )
    return tenancy


def file_lease(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling_id: int,
    data: LeaseInput,
    *,
    renews: LeaseFiling | None = None,
) -> LeaseFiling:
    """File a lease for a dwelling in scope: validate all, then create people and filing."""
    _require_role(actor, FILING_ROLES)
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    clean = _clean_lease(session, cipher, dwelling, data, renews)
    landlord_id = clean.landlord_id
    if clean.landlord_input is not None:
        landlord_id = create_or_find_person(session, actor, cipher, clean.landlord_input).id
    new_id, number = _allocate_filing_number(session, dwelling)
    filing = LeaseFiling(
        id=new_id,
        filing_number=number,
        dwelling_id=dwelling.id,
        landlord_person_id=landlord_id,
        starts_on=clean.starts_on,
        ends_on=clean.ends_on,
        monthly_rent=clean.monthly_rent,
        status=LeaseStatus.FILED,
        filed_by_id=actor.id,
    )
    session.add(filing)
    session.flush()
    changes = _filing_changes(filing)
    if renews is not None:
        changes["renews"] = [None, renews.filing_number]
    record(session, actor, Action.CREATE, "lease_filing", filing.id, changes)
    people = [t.person_id for t in clean.kept]
    for row in clean.tenant_inputs:
        person = create_or_find_person(session, actor, cipher, row)
        people.append(person.id)
    for person_id in dict.fromkeys(people):
        _add_tenancy(session, actor, filing, person_id, clean.starts_on)
    return filing


def renew_lease(
    session: Session, actor: UserAccount, cipher: IdentityCipher, filing_id: int, data: LeaseInput
) -> LeaseFiling:
    """A new filing that follows ``filing_id`` for the same dwelling (the old one stays)."""
    _require_role(actor, FILING_ROLES)
    previous = get_in_scope(session, actor, LeaseFiling, filing_id)
    return file_lease(session, actor, cipher, previous.dwelling_id, data, renews=previous)


def get_filing(session: Session, actor: UserAccount, filing_id: int) -> LeaseFiling:
    """A filing in the actor's scope, or NotFound."""
    return get_in_scope(session, actor, LeaseFiling, filing_id)


@dataclass
class LeaseFormContext:
    row: DwellingRow
    owner: ShownPerson | None
    previous: LeaseFiling | None
    previous_landlord: ShownPerson | None
    old_tenants: list[tuple[int, ShownPerson]]

    @property
    def landlord_choices(self) -> list[str]:
        choices = ["previous"] if self.previous is not None else []
        if self.owner is not None:
            choices.append("owner")
        return [*choices, "other"]


def lease_form_context(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling_id: int,
    today: date,
    previous: LeaseFiling | None = None,
) -> LeaseFormContext:
    """What the lease form offers: the owner, and for a renewal the old landlord and tenants."""
    row = dwelling_row(session, actor, dwelling_id, today)
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    owner = shown_person(cipher, dwelling.owner_person) if dwelling.owner_person else None
    previous_landlord = None
    old_tenants: list[tuple[int, ShownPerson]] = []
    if previous is not None:
        previous_landlord = shown_person(cipher, previous.landlord)
        old_tenants = [
            (t.id, shown_person(cipher, t.person))
            for t in sorted(previous.tenancies, key=lambda t: (t.added_on, t.id))
            if t.removed_on is None
        ]
    shown = [p for p in (owner, previous_landlord) if p is not None]
    audit_person_views(session, actor, [*shown, *(p for _id, p in old_tenants)])
    return LeaseFormContext(row, owner, previous, previous_landlord, old_tenants)


def renewal_defaults(filing: LeaseFiling) -> dict[str, Any]:
    """A renewal starts the day after the old term ends and runs as long as it did."""
    starts = filing.ends_on + timedelta(days=1)
    return {
        "starts_on": starts,
        "ends_on": starts + (filing.ends_on - filing.starts_on),
        "monthly_rent": filing.monthly_rent,
    }


# -- edits of a filing: correct, end early, tenants in and out ---------------------------


def conflict_values(session: Session, filing: LeaseFiling) -> dict[str, Any]:
    """What the conflict page shows as saved meanwhile (no personal data)."""
    tenants = session.scalar(
        select(func.count()).where(
            LeaseTenant.lease_filing_id == filing.id, LeaseTenant.removed_on.is_(None)
        )
    )
    return {
        "starts_on": filing.starts_on.isoformat(),
        "ends_on": filing.ends_on.isoformat(),
        "monthly_rent": str(filing.monthly_rent),
        "status": str(filing.status),
        "ended_on": filing.ended_on.isoformat() if filing.ended_on else None,
        "tenant_count": tenants,
    }


def _check_version(session: Session, filing: LeaseFiling, seen_version: Any) -> None:
    check_version(filing, seen_version, conflict_values(session, filing))


def _filing_for_change(
    session: Session, actor: UserAccount, filing_id: int, seen_version: Any
) -> LeaseFiling:
    """A filing the actor may change, once its version is known to be the one they saw."""
    _require_role(actor, FILING_ROLES)
    filing, _current = load_for_correction(
        session,
        actor,
        LeaseFiling,
        filing_id,
        lambda record: conflict_values(session, record),
        seen_version,
    )
    return filing


def _touch(filing: LeaseFiling) -> None:
    """Count a change of the tenants as an edit of the filing, so stale forms are refused."""
    filing.updated_at = func.now()


def _editable(filing: LeaseFiling, today: date) -> None:
    if not _in_force(filing, today):
        message = _l("This filing is no longer in force: file or renew a lease instead")
        raise InvalidInput(fields={"form": [message]})


def correct_filing(
    session: Session,
    actor: UserAccount,
    filing_id: int,
    starts_on: Any,
    ends_on: Any,
    monthly_rent: Any,
    seen_version: Any,
    today: date,
) -> LeaseFiling:
    """Correct a filing's term or rent (a typo), refusing a stale version."""
    filing = _filing_for_change(session, actor, filing_id, seen_version)
    if filing.status != LeaseStatus.FILED:
        raise InvalidInput(fields={"form": [_l("A filing that was ended cannot be corrected")]})
    errors = ValidationErrors()
    start, end = _clean_term(errors, starts_on, ends_on)
    rent = None
    with errors.collect():
        rent = validate_rent(monthly_rent)
    if start and end and "ends_on" not in errors.errors:
        other = _overlapping(session, filing.dwelling_id, start, end, exclude_id=filing.id)
        if other is not None:
            errors.add("starts_on", _overlap_message(other))
    errors_dict = errors.errors
    if errors_dict:
        raise InvalidInput(fields=errors_dict)
    changes = {}
    for name, new in (("starts_on", start), ("ends_on", end), ("monthly_rent", rent)):
        old = getattr(filing, name)
        if old != new:
            changes[name] = [old, new]
            setattr(filing, name, new)
    if changes:
        session.flush()
        record(session, actor, Action.UPDATE, "lease_filing", filing.id, changes)
    return filing


def end_lease_early(
    session: Session,
    actor: UserAccount,
    filing_id: int,
    ended_on: Any,
    seen_version: Any,
    today: date,
) -> LeaseFiling:
    """End a filed lease before its term: status ended_early, ``ended_on`` the last day."""
    filing = _filing_for_change(session, actor, filing_id, seen_version)
    if filing.status != LeaseStatus.FILED:
        raise InvalidInput(fields={"ended_on": [_l("This filing has already ended")]})
    try:
        day = _parse_date(ended_on, "ended_on")
    except FieldError as error:
        raise InvalidInput(fields={error.field: [error.message]}) from None
    if day < filing.starts_on:
        message = _l(
            "The lease cannot end before it starts (%(start)s)", start=shown_date(filing.starts_on)
        )
        raise InvalidInput(fields={"ended_on": [message]})
    if day >= filing.ends_on:
        raise InvalidInput(
            fields={
                "ended_on": [_l("That is not before the end of the term: nothing to end early")]
            }
        )
    if day > today:
        raise InvalidInput(fields={"ended_on": [_l("The end date cannot be in the future")]})
    changes = {"status": [filing.status, LeaseStatus.ENDED_EARLY], "ended_on": [None, day]}
    filing.status = LeaseStatus.ENDED_EARLY
    filing.ended_on = day
    session.flush()
    record(session, actor, Action.UPDATE, "lease_filing", filing.id, changes)
    return filing


def add_tenant(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    filing_id: int,
    seen_version: Any,
    today: date,
    *,
    person: PersonInput | None = None,
    resident_person_id: int | None = None,
) -> LeaseTenant:
    """Add a tenant, entered with a document or taken from the dwelling's residents."""
    filing = _filing_for_change(session, actor, filing_id, seen_version)
    _editable(filing, today)
    current = {t.person_id for t in filing.tenancies if t.removed_on is None}
    if resident_person_id is not None:
        resident = session.scalar(
            select(Residence.person_id)
            .where(
                Residence.dwelling_id == filing.dwelling_id,
                Residence.person_id == resident_person_id,
                residence_is_current(today),
            )
            .limit(1)
        )
        if resident is None:
            raise NotFound()
        person_id = resident
    else:
        errors = ValidationErrors()
        clean = _clean_person_into(errors, session, cipher, person or PersonInput("", "", ""), "")
        if clean is not None:
            existing = find_by_document(session, cipher, clean.document_type, clean.document_number)
            if existing is not None and existing.id in current:
                errors.add("document_number", _l("This person is already a tenant on this lease"))
        if errors.errors:
            raise InvalidInput(fields=errors.errors)
        person_id = create_or_find_person(session, actor, cipher, person).id
    if person_id in current:
        raise InvalidInput(fields={"form": [_l("This person is already a tenant on this lease")]})
    tenancy = _add_tenancy(session, actor, filing, person_id, max(today, filing.starts_on))
    _touch(filing)
    session.flush()
    return tenancy


def remove_tenant(
    session: Session,
    actor: UserAccount,
    filing_id: int,
    tenancy_id: int,
    seen_version: Any,
    today: date,
) -> LeaseTenant:
    """Close a tenancy (``removed_on``); the row stays as history."""
    _require_role(actor, FILING_ROLES)
    filing = get_in_scope(session, actor, LeaseFiling, filing_id)
    tenancy = session.scalar(
        select(LeaseTenant).where(
            LeaseTenant.id == tenancy_id, LeaseTenant.lease_filing_id == filing.id
        )
    )
    if tenancy is None:
        raise NotFound()
    _check_version(session, filing, seen_version)
    _editable(filing, today)
    if tenancy.removed_on is not None:
        raise InvalidInput(fields={"form": [_l("This tenant was already removed")]})
    day = max(today, tenancy.added_on)
    tenancy.removed_on = day
    _touch(filing)
    session.flush()
    record(session, actor, Action.UPDATE, "lease_tenant", tenancy.id, {"removed_on": [None, day]})
    return tenancy


# -- the two pledges -----------------------------------------------------------------------


def pledge_kind(value: str) -> PledgeKind:
    """The pledge kind named in a URL; anything else is simply not found."""
    try:
        return PledgeKind(value)
    except ValueError:
        raise NotFound() from None


def current_pledge_document(session: Session, kind: PledgeKind, today: date):
    """The text version in force: the latest ``effective_from`` that is not after today."""
    return session.scalars(
        select(PledgeDocument)
        .where(PledgeDocument.kind == kind, PledgeDocument.effective_from <= today)
        .order_by(PledgeDocument.effective_from.desc(), PledgeDocument.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Signer:
    key: str  # "landlord" or "tenant-<person id>"
    role: SignerRole
    person: ShownPerson


@dataclass
class SigningContext:
    filing: LeaseFiling
    address: str
    kind: PledgeKind
    document: PledgeDocument
    signers: list[Signer]
    signed: list[ShownPledge]
    problem: Any | None  # why the filing cannot be signed now, or None
    can_sign: bool

    @property
    def signed_this_version(self) -> set[int]:
        """People who already signed the text in force for this filing."""
        return {p.signer_person_id for p in self.signed if p.document_id == self.document.id}

    @property
    def first_unsigned(self) -> str:
        """The signer to offer first: the first who has not signed this text yet."""
        done = self.signed_this_version
        pending = [s.key for s in self.signers if s.person.person_id not in done]
        return (pending or [self.signers[0].key])[0]


def _signers(
    session: Session, cipher: IdentityCipher, filing: LeaseFiling, kind: PledgeKind
) -> list[Signer]:
    signers = [Signer("landlord", SignerRole.LANDLORD, shown_person(cipher, filing.landlord))]
    if kind == PledgeKind.SECURITY_GUARANTEE:
        tenancies = session.scalars(
            select(LeaseTenant)
            .where(LeaseTenant.lease_filing_id == filing.id, LeaseTenant.removed_on.is_(None))
            .options(selectinload(LeaseTenant.person))
            .order_by(LeaseTenant.added_on, LeaseTenant.id)
        ).all()
        for tenancy in tenancies:
            signers.append(
                Signer(
                    f"tenant-{tenancy.person_id}",
                    SignerRole.TENANT,
                    shown_person(cipher, tenancy.person),
                )
            )
    return signers


def _signing_problem(filing: LeaseFiling, today: date):
    if filing.status == LeaseStatus.ENDED_EARLY:
        return _l("This lease was ended early: it takes no more signatures")
    if filing.ends_on < today:
        return _l("This filing has expired: renew it, then sign the pledges for the new term")
    return None


def signing_context(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    filing_id: int,
    kind: str | PledgeKind,
    today: date,
) -> SigningContext:
    """What the signing page shows: the text in force, who may sign, who signed already."""
    kind = pledge_kind(kind)
    filing = get_in_scope(session, actor, LeaseFiling, filing_id)
    document = current_pledge_document(session, kind, today)
    if document is None:
        raise NotFound(_l("No text of this pledge is in force yet: ask an administrator"))
    address = session.scalar(
        select(Address.full_text)
        .join(Dwelling, Dwelling.address_id == Address.id)
        .where(Dwelling.id == filing.dwelling_id)
    )
    signers = _signers(session, cipher, filing, kind)
    signed = [p for p in _pledges_of(session, filing.id) if p.kind == kind]
    audit_person_views(session, actor, [s.person for s in signers])
    return SigningContext(
        filing=filing,
        address=address,
        kind=kind,
        document=document,
        signers=signers,
        signed=signed,
        problem=_signing_problem(filing, today),
        can_sign=actor.role in SIGNING_ROLES,
    )


def decode_signature_data_url(value: str | None) -> bytes:
    """The bytes of a ``data:image/png;base64,...`` URL as a canvas sends it.

    Anything malformed comes back as bytes that fail the PNG check, so the user sees one
    clear message about the signature rather than a different one per way of going wrong.
    """
    text = (value or "").strip()
    if not text:
        return b""
    prefix = "data:image/png;base64,"
    if not text.startswith(prefix):
        return b"not a png data url"
    try:
        return base64.b64decode(text[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        return b"not base64"


def _png_chunks(data: bytes):
    """(type, payload) of each chunk after the signature, CRC-checked."""
    position = len(PNG_MAGIC)
    while position < len(data):
        if position + 12 > len(data):
            raise ValueError("truncated chunk")
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 8 + length
        if end + 4 > len(data):
            raise ValueError("truncated chunk")
        payload = data[position + 8 : end]
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(kind + payload) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC")
        yield kind, payload
        if kind == b"IEND":
            return
        position = end + 4
    raise ValueError("no IEND")


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter_row(kind: int, line: np.ndarray, prior: np.ndarray, bpp: int) -> np.ndarray:
    """One scanline reconstructed (PNG spec 9.2); None, Sub and Up in numpy."""
    if kind == 0:
        return line
    if kind == 1:
        summed = np.cumsum(line.reshape(-1, bpp).astype(np.uint32), axis=0)
        return (summed & 0xFF).astype(np.uint8).reshape(-1)
    if kind == 2:
        return line + prior  # uint8 arithmetic wraps modulo 256 as the spec wants
    if kind not in (3, 4):
        raise ValueError("unknown filter")
    raw, up = line.tolist(), prior.tolist()
    out = [0] * len(raw)
    for i, value in enumerate(raw):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 3:
            out[i] = (value + ((left + up[i]) >> 1)) & 0xFF
        else:
            upper_left = up[i - bpp] if i >= bpp else 0
            out[i] = (value + _paeth(left, up[i], upper_left)) & 0xFF
    return np.array(out, dtype=np.uint8)


def _ink_pixels(raw: bytes, width: int, height: int, channels: int, enough: int) -> int:
    """How much ink: the smaller of the pixels equal to the top-left one and the others.

    Whichever of the two is the background, a signature has ``enough`` of each; the scan
    stops as soon as that is certain, so a real signature rarely needs the whole image.
    """
    stride = width * channels
    prior = np.zeros(stride, dtype=np.uint8)
    corner = None
    differing = 0
    seen = 0
    for y in range(height):
        start = y * (stride + 1)
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1)
        row = _unfilter_row(raw[start], line, prior, channels)
        pixels = row.reshape(width, channels)
        if corner is None:
            corner = pixels[0].copy()
        differing += int(np.count_nonzero((pixels != corner).any(axis=1)))
        seen += width
        if differing >= enough and seen - differing >= enough:
            return min(differing, seen - differing)
        prior = row
    return min(differing, seen - differing)


def validate_signature_png(data: bytes | None, field_name: str = "signature") -> bytes:
    """A drawn signature: a well-formed 8-bit PNG under 500 KB with real ink on it."""
    if not data:
        raise FieldError(field_name, _l("Draw the signature in the box"))
    if len(data) > SIGNATURE_MAX_BYTES:
        raise FieldError(field_name, _l("The signature image is too large"))
    if not data.startswith(PNG_MAGIC):
        raise FieldError(field_name, _l("The signature is not a PNG image"))
    try:
        chunks = list(_png_chunks(data))
        if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
            raise ValueError("no IHDR")
        width, height, depth, colour, compression, filtering, interlace = struct.unpack(
            ">IIBBBBB", chunks[0][1]
        )
        channels = _CHANNELS.get(colour)
        if (
            channels is None
            or depth != 8
            or compression
            or filtering
            or interlace
            or not 0 < width <= SIGNATURE_MAX_SIDE
            or not 0 < height <= SIGNATURE_MAX_SIDE
            or width * height > SIGNATURE_MAX_PIXELS
        ):
            raise ValueError("unsupported image")
        expected = height * (1 + width * channels)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(b"".join(p for k, p in chunks if k == b"IDAT"), expected + 1)
        if len(raw) != expected:
            raise ValueError("wrong amount of image data")
        ink = _ink_pixels(raw, width, height, channels, MIN_INK_PIXELS)
    except (ValueError, zlib.error, struct.error):
        raise FieldError(field_name, _l("The signature is not a valid PNG image")) from None
    if ink < MIN_INK_PIXELS:
        raise FieldError(field_name, _l("The signature is blank: draw it in the box"))
    return data


def sign_pledge(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    filing_id: int,
    kind: str | PledgeKind,
    *,
    signer_key: str | None,
    confirmed: bool,
    signature: bytes | None,
    today: date,
    now: datetime,
):
    """Store one signed pledge: the text version in force, the signer, the drawn image."""
    kind = pledge_kind(kind)
    # Scope first: out of scope must look like "not found", whatever the role.
    filing = get_in_scope(session, actor, LeaseFiling, filing_id)
    _require_role(actor, SIGNING_ROLES)
    problem = _signing_problem(filing, today)
    if problem is not None:
        raise InvalidInput(fields={"form": [problem]})
    document = current_pledge_document(session, kind, today)
    if document is None:
        raise NotFound(_l("No text of this pledge is in force yet: ask an administrator"))
    errors = ValidationErrors()
    signer = next((s for s in _signers(session, cipher, filing, kind) if s.key == signer_key), None)
    if signer is None:
        errors.add("signer", _l("Choose who signs"))
    if not confirmed:
        errors.add("confirm", _l("The signer must confirm having read the text"))
    with errors.collect():
        signature = validate_signature_png(signature)
    model = PLEDGE_MODELS[kind]
    if signer is not None:
        earlier = session.scalars(
            select(model).where(
                model.lease_filing_id == filing.id,
                model.signer_person_id == signer.person.person_id,
                model.pledge_document_id == document.id,
            )
        ).first()
        if earlier is not None:
            errors.add(
                "signer",
                _l("%(name)s has already signed this version of the text", name=signer.person.name),
            )
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    pledge = model(
        lease_filing_id=filing.id,
        pledge_document_id=document.id,
        signer_person_id=signer.person.person_id,
        signer_name=validate_name(signer.person.name),
        signed_at=now,
        signature_png=signature,
        collected_by_id=actor.id,
    )
    if model is SecurityGuarantee:
        pledge.signer_role = signer.role
    session.add(pledge)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        model.__tablename__,
        pledge.id,
        {
            "lease_filing_id": [None, filing.id],
            "pledge_document": [None, f"{document.kind}/{document.version}"],
            "signer_person_id": [None, signer.person.person_id],
            "signer_role": [None, signer.role],
            "signed_at": [None, now],
            "signature_sha256": [None, hashlib.sha256(signature).hexdigest()],
        },
    )
    return pledge


def signature_image(
    session: Session, actor: UserAccount, kind: str | PledgeKind, pledge_id: int
) -> bytes:
    """The stored signature of a pledge whose filing is in scope; the view is audited."""
    kind = pledge_kind(kind)
    model = PLEDGE_MODELS[kind]
    pledge = session.get(model, pledge_id)
    if pledge is None:
        raise NotFound()
    get_in_scope(session, actor, LeaseFiling, pledge.lease_filing_id)
    image = pledge.signature_png
    if not image:
        raise NotFound()
    record(session, actor, Action.VIEW, model.__tablename__, pledge.id)
    return bytes(image)
