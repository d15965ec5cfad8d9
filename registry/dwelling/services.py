"""Dwellings: create and correct, inside the actor's scope, version-checked and audited.

The owner is a person (found by document and name through ``resolve_person``, or
registered) or an organisation (by its credit code), never both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.address.models import Address, Road
from registry.address.services import address_order, natural_order
from registry.audit.services import Action, changed, record
from registry.dwelling.models import Dwelling, DwellingUse, Occupancy
from registry.dwelling.status import (
    OWNER_SIDE,
    TENANT_SIDE,
    OccupancyProblem,  # noqa: F401  (re-exported: the pages name problems by it)
    capacity_sql,
    current_rule,
    dwelling_status,
    legal_capacity,
    occupancy_problem,
)
from registry.edits import load_for_correction
from registry.errors import InvalidInput, NotFound
from registry.flags.hooks import rechecks_flags
from registry.organisation.models import Organisation
from registry.person.identity import IdentityCipher
from registry.person.models import Residence
from registry.person.services import PersonInput, masked_document, resolve_person
from registry.scope import address_filter, dwelling_filter, get_in_scope
from registry.validators import (
    FieldError,
    ValidationErrors,
    validate_credit_code,
    validate_positive_area,
    validate_positive_int,
)

MAX_ROOMS = 100


class OwnerKind:
    KEEP = "keep"  # corrections only: leave the owner as it is
    NONE = "none"
    PERSON = "person"
    ORGANISATION = "organisation"
    ALL = (KEEP, NONE, PERSON, ORGANISATION)


@dataclass(frozen=True)
class DwellingInput:
    use: Any
    floor_area: Any
    rooms: Any
    occupancy: Any
    owner_kind: Any = OwnerKind.KEEP
    owner_name: Any = None
    owner_document_type: Any = None
    owner_document_number: Any = None
    owner_credit_code: Any = None


@dataclass(frozen=True)
class CleanDwelling:
    use: DwellingUse
    floor_area: Decimal
    rooms: int
    occupancy: Occupancy
    owner_kind: str


def clean_dwelling(data: DwellingInput) -> CleanDwelling:
    """Every field checked at once; the owner is checked where it is looked up."""
    errors = ValidationErrors()
    use = occupancy = None
    area = Decimal(0)
    rooms = 0
    try:
        use = DwellingUse(str(data.use or ""))
    except ValueError:
        errors.add("use", _l("Choose one of the listed values"))
    with errors.collect():
        area = validate_positive_area(data.floor_area or None)
    with errors.collect():
        rooms = validate_positive_int(data.rooms or None, "rooms", maximum=MAX_ROOMS)
    try:
        occupancy = Occupancy(str(data.occupancy or ""))
    except ValueError:
        errors.add("occupancy", _l("Choose one of the listed values"))
    owner_kind = str(data.owner_kind or OwnerKind.KEEP)
    if owner_kind not in OwnerKind.ALL:
        errors.add("owner_kind", _l("Choose one of the listed values"))
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return CleanDwelling(use, area, rooms, occupancy, owner_kind)


def _owner(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    data: DwellingInput,
    kind: str,
    today: date,
) -> tuple[int | None, int | None]:
    """(owner_person_id, owner_organisation_id) for the chosen kind of owner."""
    if kind == OwnerKind.NONE:
        return None, None
    if kind == OwnerKind.ORGANISATION:
        try:
            code = validate_credit_code(data.owner_credit_code, field="owner_credit_code")
        except FieldError as error:
            raise InvalidInput(fields={error.field: [error.message]}) from None
        organisation_id = session.scalar(
            select(Organisation.id).where(Organisation.credit_code == code)
        )
        if organisation_id is None:
            raise InvalidInput(
                fields={"owner_credit_code": [_l("No organisation with this credit code")]}
            )
        return None, organisation_id
    person_input = PersonInput(
        name=data.owner_name or "",
        document_type=data.owner_document_type or "",
        document_number=data.owner_document_number or "",
    )
    person = resolve_person(session, actor, cipher, person_input, today, field_prefix="owner_")
    return person.id, None


def owner_label(cipher: IdentityCipher, dwelling: Dwelling) -> str:
    """The owner as pages show it: a person's name with the document masked, or a unit."""
    if dwelling.owner_person is not None:
        masked = masked_document(cipher, dwelling.owner_person)
        return f"{dwelling.owner_person.name} ({masked})" if masked else dwelling.owner_person.name
    if dwelling.owner_organisation is not None:
        organisation = dwelling.owner_organisation
        return f"{organisation.name} ({organisation.credit_code})"
    return ""


def dwelling_values(dwelling: Dwelling) -> dict[str, Any]:
    """The dwelling as its form fields hold it, for the conflict page and the audit log."""
    return {
        "use": str(dwelling.use),
        "floor_area": str(dwelling.floor_area),
        "rooms": dwelling.rooms,
        "occupancy": str(dwelling.occupancy),
    }


@rechecks_flags
def create_dwelling(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    address_id: int,
    data: DwellingInput,
    today: date,
) -> Dwelling:
    """The dwelling at an address in scope (one per address); audited."""
    address = get_in_scope(session, actor, Address, address_id)
    errors = ValidationErrors()
    clean = None
    try:
        clean = clean_dwelling(data)
    except InvalidInput as error:
        errors = ValidationErrors(error.details["fields"])
    if session.scalar(select(Dwelling.id).where(Dwelling.address_id == address.id)):
        errors.add("address", _l("This address already has a dwelling"))
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    kind = OwnerKind.NONE if clean.owner_kind == OwnerKind.KEEP else clean.owner_kind
    owner_person_id, owner_organisation_id = _owner(session, actor, cipher, data, kind, today)
    dwelling = Dwelling(
        address_id=address.id,
        use=clean.use,
        floor_area=clean.floor_area,
        rooms=clean.rooms,
        occupancy=clean.occupancy,
        owner_person_id=owner_person_id,
        owner_organisation_id=owner_organisation_id,
    )
    session.add(dwelling)
    session.flush()
    changes = {field: [None, value] for field, value in dwelling_values(dwelling).items()}
    changes |= {
        "address_id": [None, address.id],
        "owner_person_id": [None, owner_person_id],
        "owner_organisation_id": [None, owner_organisation_id],
    }
    record(session, actor, Action.CREATE, "dwelling", dwelling.id, changes)
    return dwelling


@rechecks_flags
def correct_dwelling(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling_id: int,
    data: DwellingInput,
    seen_version: Any,
    today: date,
) -> Dwelling:
    """Correct use, size, rooms, occupancy or owner; a stale version is refused."""
    dwelling, before = load_for_correction(
        session, actor, Dwelling, dwelling_id, dwelling_values, seen_version
    )
    clean = clean_dwelling(data)
    owner_before = (dwelling.owner_person_id, dwelling.owner_organisation_id)
    owner_after = owner_before
    if clean.owner_kind != OwnerKind.KEEP:
        owner_after = _owner(session, actor, cipher, data, clean.owner_kind, today)
    after = {
        "use": str(clean.use),
        "floor_area": str(clean.floor_area),
        "rooms": clean.rooms,
        "occupancy": str(clean.occupancy),
    }
    changes = changed(before, after)
    if owner_after != owner_before:
        changes["owner_person_id"] = [owner_before[0], owner_after[0]]
        changes["owner_organisation_id"] = [owner_before[1], owner_after[1]]
    if not changes:
        return dwelling
    dwelling.use = clean.use
    dwelling.floor_area = clean.floor_area
    dwelling.rooms = clean.rooms
    dwelling.occupancy = clean.occupancy
    dwelling.owner_person_id, dwelling.owner_organisation_id = owner_after
    session.flush()
    record(session, actor, Action.UPDATE, "dwelling", dwelling.id, changes)
    return dwelling


def dwelling_with_status(session: Session, actor: UserAccount, dwelling_id: int, today: date):
    """(dwelling, status row, legal capacity) for one dwelling in scope."""
    query = dwelling_status(
        select(Dwelling).where(Dwelling.id == dwelling_id, dwelling_filter(actor)),
        Dwelling,
        today,
    ).add_columns(
        occupancy_problem(today).label("occupancy_problem"),
        moved_away_to_check().label("moved_away_to_check"),
    )
    row = session.execute(query).first()
    if row is None:
        raise NotFound()
    dwelling = row[0]
    capacity = legal_capacity(dwelling.floor_area, dwelling.rooms, current_rule(session, today))
    return dwelling, row, capacity


# -- occupancy that contradicts the people living there -----------------------------------


def moved_away_to_check() -> Any:
    """Whether somebody's stay in ``Dwelling`` was ended by a move-in that a worker without
    this dwelling in scope recorded, and nobody here has checked it yet (correlated)."""
    return (
        select(Residence.id)
        .where(
            Residence.dwelling_id == Dwelling.id,
            Residence.ended_by_residence_id.is_not(None),
            Residence.end_checked_on.is_(None),
        )
        .correlate_except(Residence)
        .exists()
    )


def suggested_occupancy(problem: str | None, relationships) -> Occupancy | None:
    """The occupancy the residents' relationships point to, for a one-tap correction."""
    if problem is None:
        return None
    kinds = {str(r) for r in relationships}
    if kinds & {str(r) for r in TENANT_SIDE}:
        return Occupancy.RENTED
    if kinds & {str(r) for r in OWNER_SIDE}:
        return Occupancy.OWNER_OCCUPIED
    return Occupancy.OTHER


# -- lists: a cell's buildings and dwellings with their status ----------------------------


@dataclass(frozen=True)
class StatusCounts:
    """A group of dwellings at a glance: the figures the worker's list shows per row."""

    dwellings: int = 0
    rented: int = 0
    rented_without_filing: int = 0
    pledges_missing: int = 0
    occupants: int = 0
    over_capacity: int = 0
    occupancy_to_check: int = 0  # recorded occupancy contradicts the residents
    moves_to_check: int = 0  # a stay ended by a move-in recorded from outside the cell

    attention: int = 0  # dwellings with at least one of the problems above


def _status_subquery(session: Session, base: Select, today: date):
    """``base`` (a select over Dwelling joined to Address) with status and capacity flags."""
    rule = current_rule(session, today)
    capacity = capacity_sql(rule)
    query = dwelling_status(base, Dwelling, today)
    query = query.add_columns(
        (capacity if capacity is not None else literal(None)).label("capacity"),
        (Dwelling.occupancy == Occupancy.RENTED).label("is_rented"),
        occupancy_problem(today).label("occupancy_problem"),
        moved_away_to_check().label("moved_away_to_check"),
    )
    return query.subquery()


def _counts(sub) -> list:
    rented = sub.c.is_rented
    filing = sub.c.current_filing_id
    over = sub.c.occupants_now > sub.c.capacity
    contradicted = sub.c.occupancy_problem.is_not(None)
    moved_away = sub.c.moved_away_to_check
    return [
        func.count(sub.c.dwelling_id),
        func.count().filter(rented),
        func.count().filter(rented, filing.is_(None)),
        func.count().filter(filing.is_not(None), ~(sub.c.rental_pledge & sub.c.security_guarantee)),
        func.coalesce(func.sum(sub.c.occupants_now), 0),
        func.count().filter(over),
        func.count().filter(contradicted),
        func.count().filter(moved_away),
        func.count().filter(
            or_(
                and_(rented, filing.is_(None)),
                and_(filing.is_not(None), ~(sub.c.rental_pledge & sub.c.security_guarantee)),
                over,
                contradicted,
                moved_away,
            )
        ),
    ]


def cell_summaries(
    session: Session, actor: UserAccount, cell_ids: list[int], today: date
) -> dict[int, StatusCounts]:
    """Per grid cell of the actor: dwellings, rented, lacking a filing or pledges, occupants."""
    if not cell_ids:
        return {}
    base = (
        select(Dwelling.id.label("dwelling_id"), Address.grid_cell_id)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.grid_cell_id.in_(cell_ids), dwelling_filter(actor))
    )
    sub = _status_subquery(session, base, today)
    rows = session.execute(select(sub.c.grid_cell_id, *_counts(sub)).group_by(sub.c.grid_cell_id))
    return {row[0]: StatusCounts(*(int(v or 0) for v in row[1:])) for row in rows}


def buildings_of_cell(
    session: Session,
    actor: UserAccount,
    cell_id: int,
    today: date,
    page: int,
    per_page: int,
) -> tuple[list[tuple[Address, StatusCounts]], int]:
    """The door-level addresses of a cell (one page) with their dwellings' status counts."""
    scope = address_filter(actor)
    where = (Address.grid_cell_id == cell_id, Address.parent_id.is_(None), scope)
    total = session.scalar(select(func.count()).select_from(Address).where(*where)) or 0
    addresses = list(
        session.scalars(
            select(Address)
            .join(Road, Road.id == Address.road_id)
            .where(*where)
            .order_by(*address_order())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    ids = [a.id for a in addresses]
    counts: dict[int, StatusCounts] = {}
    if ids:
        group = func.coalesce(Address.parent_id, Address.id).label("building_id")
        base = (
            select(Dwelling.id.label("dwelling_id"), group)
            .join(Address, Address.id == Dwelling.address_id)
            .where(or_(Address.parent_id.in_(ids), Address.id.in_(ids)), scope)
        )
        sub = _status_subquery(session, base, today)
        rows = session.execute(select(sub.c.building_id, *_counts(sub)).group_by(sub.c.building_id))
        counts = {row[0]: StatusCounts(*(int(v or 0) for v in row[1:])) for row in rows}
    return [(a, counts.get(a.id, StatusCounts())) for a in addresses], total


def _with_status(session: Session, query: Select, today: date) -> list:
    """(row, legal capacity) for a select of (Address, Dwelling or NULL) with status columns."""
    rule = current_rule(session, today)
    query = dwelling_status(query, Dwelling, today).add_columns(
        occupancy_problem(today).label("occupancy_problem"),
        moved_away_to_check().label("moved_away_to_check"),
    )
    rows = []
    for row in session.execute(query):
        dwelling = row.Dwelling
        capacity = legal_capacity(dwelling.floor_area, dwelling.rooms, rule) if dwelling else None
        rows.append((row, capacity))
    return rows


def dwellings_with_status(
    session: Session, actor: UserAccount, address_ids: list[int], today: date
) -> dict[int, tuple]:
    """Per address id (of those given, in scope) that has a dwelling: (row, capacity), as
    the building's list shows them, for a search's results."""
    if not address_ids:
        return {}
    query = (
        select(Address, Dwelling)
        .join(Dwelling, Dwelling.address_id == Address.id)
        .where(Address.id.in_(address_ids), dwelling_filter(actor))
    )
    rows = _with_status(session, query, today)
    return {row.Address.id: (row, capacity) for row, capacity in rows}


def dwelling_here(session: Session, actor: UserAccount, address: Address, today: date):
    """The address's own row (address, its dwelling or None, status) and its capacity."""
    query = (
        select(Address, Dwelling)
        .outerjoin(Dwelling, Dwelling.address_id == Address.id)
        .where(Address.id == address.id, address_filter(actor))
    )
    rows = _with_status(session, query, today)
    return rows[0] if rows else (None, None)


def dwellings_at(
    session: Session,
    actor: UserAccount,
    building: Address,
    today: date,
    page: int,
    per_page: int,
):
    """The room-level addresses of a building (one page), each with its dwelling's status.

    Rows carry ``address``, ``dwelling`` (or None) and the status columns; they come in
    entrance, floor, room order (numbers as numbers) so that the page can group them by
    entrance. The building's own address is not among them (``dwelling_here``), so the
    total is the number of rooms the list pages through.
    """
    where = (Address.parent_id == building.id, address_filter(actor))
    total = session.scalar(select(func.count()).select_from(Address).where(*where)) or 0
    query = (
        select(Address, Dwelling)
        .outerjoin(Dwelling, Dwelling.address_id == Address.id)
        .where(*where)
        .order_by(
            *natural_order(Address.entrance),
            Address.floor.nulls_first(),
            *natural_order(Address.room),
            Address.id,
        )
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return _with_status(session, query, today), total
