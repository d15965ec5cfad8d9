"""Lease filings 房屋租赁备案: one filing's page, file, renew, correct, end early.

Every read goes through registry.scope, so a filing or dwelling outside the actor's scope
is "not found"; every write is audited; edits of a filing check the version the user saw.
Services only flush: the request (or CLI command, or test) commits once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.area.models import Community, District, SubDistrict
from registry.audit.services import Action, record
from registry.constraints import checked
from registry.dwelling.models import Dwelling
from registry.dwelling.status import filing_is_current, residence_is_current
from registry.errors import InvalidInput
from registry.flags.hooks import rechecks_flags
from registry.lease.changes import FILING_ROLES, filing_for_change, require_role
from registry.lease.models import LeaseFiling, LeaseStatus, LeaseTenant, PledgeKind
from registry.lease.overview import DwellingRow, dwelling_row
from registry.lease.people import (
    ShownPerson,
    audit_person_views,
    clean_person_into,
    is_blank,
    shown_person,
)
from registry.lease.pledges import ShownPledge, pledges_of
from registry.lease.requests import close_filing_requests
from registry.lease.tenants import ShownTenancy, add_tenancy
from registry.lease.term import (
    clean_term,
    is_in_force,
    last_day_of_term,
    overlap_message,
    overlapping_filing,
    shown_date,
)
from registry.person.identity import IdentityCipher
from registry.person.models import Person, Relationship, Residence
from registry.person.services import PersonInput, resolve_person
from registry.scope import get_in_scope
from registry.validators import FieldError, ValidationErrors, parse_date

MAX_RENT = Decimal("99999999.99")  # Numeric(10, 2)
RENT_STEP = Decimal("0.01")
MAX_TENANT_ROWS = 20


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
    in_force = is_in_force(filing, today)
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
    pledges = pledges_of(session, filing.id)
    kinds = {p.kind for p in pledges if p.counts}
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
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling: Dwelling,
    data: LeaseInput,
    previous: LeaseFiling | None,
    today: date,
) -> _CleanLease:
    """Check everything before anything is written, and report every problem at once."""
    errors = ValidationErrors()
    start, end = clean_term(errors, data.starts_on, data.ends_on)
    rent = None
    with errors.collect():
        rent = validate_rent(data.monthly_rent)
    if start and end and "ends_on" not in errors.errors:
        other = overlapping_filing(session, dwelling.id, start, end)
        if other is not None:
            errors.add("starts_on", overlap_message(other))

    landlord_id = None
    landlord_input = None
    landlord_document = None
    choice = data.landlord_choice
    if choice == "owner":
        if dwelling.owner_person_id is None:
            errors.add(
                "landlord_choice", _l("This dwelling has no owner on record: enter the landlord")
            )
        landlord_id = dwelling.owner_person_id
    elif choice == "previous" and previous is not None:
        landlord_id = previous.landlord_person_id
    elif choice == "other" and data.landlord is not None:
        matched = clean_person_into(
            errors, session, actor, cipher, data.landlord, "landlord-", today
        )
        if matched is not None:
            clean, _holder = matched
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
        if is_blank(row):
            continue
        prefix = f"tenants-{position}-"
        matched = clean_person_into(errors, session, actor, cipher, row, prefix, today)
        if matched is None:
            continue
        clean, existing = matched
        key = (clean.document_type, clean.document_number)
        if key in seen_documents:
            errors.add(f"{prefix}document_number", _l("This person is entered twice"))
            continue
        seen_documents.add(key)
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


@rechecks_flags
def file_lease(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling_id: int,
    data: LeaseInput,
    today: date,
    *,
    renews: LeaseFiling | None = None,
) -> LeaseFiling:
    """File a lease for a dwelling in scope: validate all, then create people and filing."""
    require_role(actor, FILING_ROLES)
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    clean = _clean_lease(session, actor, cipher, dwelling, data, renews, today)
    landlord_id = clean.landlord_id
    if clean.landlord_input is not None:
        landlord_id = resolve_person(session, actor, cipher, clean.landlord_input, today).id
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
        filed_for_landlord=actor.role == Role.GRID_WORKER,
    )
    with checked(session):
        session.add(filing)
    changes = _filing_changes(filing)
    if filing.filed_for_landlord:
        changes["filed_for_landlord"] = [None, True]
    close_filing_requests(session, dwelling.id, filing.id)
    if renews is not None:
        changes["renews"] = [None, renews.filing_number]
    record(session, actor, Action.CREATE, "lease_filing", filing.id, changes)
    people = [t.person_id for t in clean.kept]
    for row in clean.tenant_inputs:
        person = resolve_person(session, actor, cipher, row, today)
        people.append(person.id)
    for person_id in dict.fromkeys(people):
        add_tenancy(session, actor, filing, person_id, clean.starts_on)
    return filing


@rechecks_flags
def renew_lease(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    filing_id: int,
    data: LeaseInput,
    today: date,
) -> LeaseFiling:
    """A new filing that follows ``filing_id`` for the same dwelling (the old one stays)."""
    require_role(actor, FILING_ROLES)
    previous = get_in_scope(session, actor, LeaseFiling, filing_id)
    return file_lease(session, actor, cipher, previous.dwelling_id, data, today, renews=previous)


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
    """A renewal starts the day after the old term's last day and runs for a year."""
    starts = filing.last_day + timedelta(days=1)
    return {
        "starts_on": starts,
        "ends_on": last_day_of_term(starts),
        "monthly_rent": filing.monthly_rent,
    }


@rechecks_flags
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
    filing = filing_for_change(session, actor, filing_id, seen_version)
    if filing.status != LeaseStatus.FILED:
        raise InvalidInput(fields={"form": [_l("A filing that was ended cannot be corrected")]})
    errors = ValidationErrors()
    start, end = clean_term(errors, starts_on, ends_on)
    rent = None
    with errors.collect():
        rent = validate_rent(monthly_rent)
    if start and end and "ends_on" not in errors.errors:
        other = overlapping_filing(session, filing.dwelling_id, start, end, exclude_id=filing.id)
        if other is not None:
            errors.add("starts_on", overlap_message(other))
    errors_dict = errors.errors
    if errors_dict:
        raise InvalidInput(fields=errors_dict)
    changes = {}
    with checked(session):
        for name, new in (("starts_on", start), ("ends_on", end), ("monthly_rent", rent)):
            old = getattr(filing, name)
            if old != new:
                changes[name] = [old, new]
                setattr(filing, name, new)
    if changes:
        record(session, actor, Action.UPDATE, "lease_filing", filing.id, changes)
    return filing


def check_end_date(filing: LeaseFiling, ended_on: Any, today: date) -> date:
    """The last day of a lease ended early, once it is known to be one: within the term,
    before its end and not in the future. Raises InvalidInput for the ``ended_on`` field."""
    if filing.status != LeaseStatus.FILED:
        raise InvalidInput(fields={"ended_on": [_l("This filing has already ended")]})
    try:
        day = parse_date(ended_on, "ended_on")
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
    return day


def preview_end_early(
    session: Session,
    actor: UserAccount,
    filing_id: int,
    ended_on: Any,
    seen_version: Any,
    today: date,
) -> tuple[LeaseFiling, date]:
    """What ending early would do, for the confirmation: the filing and its last day.

    The same checks as :func:`end_lease_early` (role, scope, version, the date), no write.
    """
    filing = filing_for_change(session, actor, filing_id, seen_version)
    return filing, check_end_date(filing, ended_on, today)


@rechecks_flags
def end_lease_early(
    session: Session,
    actor: UserAccount,
    filing_id: int,
    ended_on: Any,
    seen_version: Any,
    today: date,
) -> LeaseFiling:
    """End a filed lease before its term: status ended_early, ``ended_on`` the last day."""
    filing = filing_for_change(session, actor, filing_id, seen_version)
    day = check_end_date(filing, ended_on, today)
    changes = {"status": [filing.status, LeaseStatus.ENDED_EARLY], "ended_on": [None, day]}
    filing.status = LeaseStatus.ENDED_EARLY
    filing.ended_on = day
    session.flush()
    record(session, actor, Action.UPDATE, "lease_filing", filing.id, changes)
    return filing


CANCEL_REASON_LENGTH = 200


def may_cancel(filing: LeaseFiling, today: date) -> bool:
    """Only a filed lease whose term has not begun can be cancelled (one that has begun
    is ended early instead, so its days stay on record)."""
    return filing.status == LeaseStatus.FILED and filing.starts_on > today


@rechecks_flags
def cancel_filing(
    session: Session,
    actor: UserAccount,
    filing_id: int,
    reason: Any,
    seen_version: Any,
    today: date,
) -> LeaseFiling:
    """Withdraw a filing before its term begins, with a reason.

    The filing stays on record as cancelled: it holds no term (a new filing may take its
    days), is never current and no rule counts it; pledges signed on it stay as its
    history.
    """
    filing = filing_for_change(session, actor, filing_id, seen_version)
    if not may_cancel(filing, today):
        message = _l("Only a filing whose term has not begun can be cancelled: end it early")
        raise InvalidInput(fields={"reason": [message]})
    text = " ".join(unicodedata.normalize("NFC", str(reason or "")).split())
    if not text:
        raise InvalidInput(fields={"reason": [_l("Say why the filing is cancelled")]})
    if len(text) > CANCEL_REASON_LENGTH:
        message = _l("At most %(maximum)s characters", maximum=CANCEL_REASON_LENGTH)
        raise InvalidInput(fields={"reason": [message]})
    changes = {"status": [filing.status, LeaseStatus.CANCELLED], "cancelled_reason": [None, text]}
    filing.status = LeaseStatus.CANCELLED
    filing.cancelled_reason = text
    session.flush()
    record(session, actor, Action.UPDATE, "lease_filing", filing.id, changes)
    return filing
