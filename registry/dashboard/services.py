"""The police officer's desk: jurisdiction figures, look-ups, person and dwelling pages, trails.

Every query here goes through the filters of :mod:`registry.scope`; the figures are a few
aggregate SQL queries grouped by community and grid cell (Python never walks the
dwellings). Addresses are joined under an alias so that the scope filters' own subqueries
over ``address`` are not correlated away into the outer query.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Select,
    String,
    and_,
    case,
    cast,
    func,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address, Road
from registry.address.text import normalise_address_text
from registry.area.models import Community, PoliceStation
from registry.audit.models import AuditEntry
from registry.audit.services import Action, record
from registry.clock import deployment_zone, end_of_day, start_of_day
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import (
    current_rule,
    dwelling_status,
    filing_is_current,
    has_pledges,
    legal_capacity,
    residence_is_current,
)
from registry.errors import InvalidInput, NotFound
from registry.figures.models import COUNTS, CellFigures
from registry.figures.services import Figures, FiguresState, figure_sums, figures_state
from registry.grid.models import GridCell
from registry.lease.models import (
    LeaseFiling,
    LeaseStatus,
    LeaseTenant,
    RentalPledge,
    SecurityGuarantee,
)
from registry.organisation.models import Organisation
from registry.person.identity import IdentityCipher
from registry.person.lookup import MIN_NAME_LENGTH, like_pattern, name_matches, phone_contains
from registry.person.models import Person, Residence, ResidenceKind
from registry.person.residences import record_list_views
from registry.person.services import (
    find_visible_by_document,
    masked_document,
    reveal_document,
    view_person,
)
from registry.scope import (
    address_filter,
    all_in_scope,
    cell_figures_filter,
    community_filter,
    dwelling_filter,
    get_in_scope,
    grid_cell_filter,
    lease_filter,
    organisation_filter,
    person_filter,
)
from registry.validators import (
    DocumentType,
    FieldError,
    QueryKind,
    classify_query,
    validate_document,
)

DESK_ROLES = (Role.POLICE_OFFICER, Role.ADMIN)
LOOKUP_LIMIT = 50
MIN_ADDRESS_QUERY = 2
MIN_PHONE_DIGITS = 4


def _require_desk(actor: UserAccount) -> None:
    """Officers and admins only; anyone else is told the page does not exist."""
    if actor.role not in DESK_ROLES:
        raise NotFound()


# -- the jurisdiction dashboard ------------------------------------------------------------


@dataclass
class AreaRow:
    """One line of a dashboard table: a community or a grid cell (id None: no cell)."""

    id: int | None
    code: str
    name: str
    community: str = ""
    figures: Figures = field(default_factory=Figures)


@dataclass
class Dashboard:
    today: date
    state: FiguresState | None  # for which day and when the figures were computed
    station: PoliceStation | None  # the jurisdiction shown; None: the whole district
    stations: list[PoliceStation]  # what an admin may filter by (empty for officers)
    communities: list[AreaRow]
    cells: list[AreaRow]
    total: Figures


# The three grouping levels of one GROUPING SETS query, told apart by grouping():
# bit 1 = community_id not grouped, bit 0 = grid_cell_id not grouped.
_BY_COMMUNITY, _BY_CELL, _TOTAL = 0b01, 0b10, 0b11


def _grouped(query: Select, address) -> Select:
    levels = func.grouping(address.community_id, address.grid_cell_id).label("level")
    return query.add_columns(levels, address.community_id, address.grid_cell_id).group_by(
        func.grouping_sets(tuple_(address.community_id), tuple_(address.grid_cell_id), tuple_())
    )


def _station_condition(community_id, station_id: int | None):
    if station_id is None:
        return true()
    return community_id.in_(select(Community.id).where(Community.police_station_id == station_id))


def _figure_rows(actor: UserAccount, station_id: int | None) -> Select:
    """The precomputed rows in scope, summed per community, per grid cell and in total."""
    return _grouped(
        select(*figure_sums(CellFigures)).where(
            cell_figures_filter(actor), _station_condition(CellFigures.community_id, station_id)
        ),
        CellFigures,
    )


def jurisdiction_dashboard(
    session: Session, actor: UserAccount, today: date, station_id: int | None = None
) -> Dashboard:
    """Figures of the actor's jurisdiction per community, per grid cell and in total.

    Officers always see their own station's jurisdiction; admins see the district, or one
    police station's jurisdiction when ``station_id`` is given.
    """
    _require_desk(actor)
    stations: list[PoliceStation] = []
    station = None
    if actor.role == Role.ADMIN:
        stations = list(session.scalars(select(PoliceStation).order_by(PoliceStation.code)))
        if station_id is not None:
            station = session.get(PoliceStation, station_id)
            if station is None:
                raise NotFound()
    else:
        station_id = None  # the scope filters already hold the officer to their station
        station = actor.police_station

    community_condition = community_filter(actor)
    if station_id is not None:
        community_condition = and_(community_condition, Community.police_station_id == station_id)
    # Ids, codes and names only: the areas' polygons are not needed here, and 2,000 grid
    # cells' polygons cost more than the figures themselves.
    communities = {
        c.id: AreaRow(c.id, c.code, c.name)
        for c in session.execute(
            select(Community.id, Community.code, Community.name)
            .where(community_condition)
            .order_by(Community.code)
        )
    }
    cell_condition = grid_cell_filter(actor)
    if station_id is not None:
        cell_condition = and_(cell_condition, _station_condition(GridCell.community_id, station_id))
    cells: dict[int | None, AreaRow] = {
        cell.id: AreaRow(cell.id, cell.code, cell.name, cell.community)
        for cell in session.execute(
            select(GridCell.id, GridCell.code, GridCell.name, Community.name.label("community"))
            .join(Community, Community.id == GridCell.community_id)
            .where(cell_condition)
            .order_by(Community.code, GridCell.code)
        )
    }
    total = Figures()

    def row_for(level: int, community_id: int | None, cell_id: int | None) -> Figures:
        if level == _TOTAL:
            return total
        if level == _BY_COMMUNITY:
            if community_id not in communities:  # cannot happen within scope; stay safe
                communities[community_id] = AreaRow(community_id, "", "")
            return communities[community_id].figures
        if cell_id not in cells:
            # Addresses outside every cell of this jurisdiction are counted together.
            cells[None] = cells.get(None) or AreaRow(None, "", "")
            return cells[None].figures
        return cells[cell_id].figures

    for result in session.execute(_figure_rows(actor, station_id)):
        figures = row_for(result.level, result.community_id, result.grid_cell_id)
        for name in COUNTS:  # several cells outside the jurisdiction share one line
            setattr(figures, name, getattr(figures, name) + int(getattr(result, name) or 0))

    return Dashboard(
        today=today,
        state=figures_state(session),
        station=station,
        stations=stations,
        communities=list(communities.values()),
        cells=list(cells.values()),
        total=total,
    )


# -- look-up -------------------------------------------------------------------------------


@dataclass
class PersonHit:
    id: int
    name: str
    masked_document: str
    phone: str | None
    birth_date: date | None
    addresses: list[tuple[int, str]]  # current dwellings in scope: (dwelling id, address)


@dataclass
class DwellingHit:
    id: int
    address: str
    occupancy: Occupancy
    occupants_now: int
    filing_current: bool
    pledges_complete: bool


def _people_hits(
    session: Session, actor: UserAccount, cipher: IdentityCipher, people: list[Person], today
) -> list[PersonHit]:
    if not people:
        return []
    # A result list shows name, masked number and phone: a view of each person, logged.
    record_list_views(session, actor, people, "search")
    a = aliased(Address, name="a")
    addresses: dict[int, list[tuple[int, str]]] = {}
    for person_id, dwelling_id, text in session.execute(
        select(Residence.person_id, Dwelling.id, a.full_text)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(a, a.id == Dwelling.address_id)
        .where(
            Residence.person_id.in_([p.id for p in people]),
            residence_is_current(today),
            dwelling_filter(actor),
        )
        .order_by(a.full_text)
    ):
        addresses.setdefault(person_id, []).append((dwelling_id, text))
    return [
        PersonHit(
            p.id,
            p.name,
            masked_document(cipher, p),
            p.phone,
            p.birth_date,
            addresses.get(p.id, []),
        )
        for p in people
    ]


def _query_field_error(message: Any) -> InvalidInput:
    return InvalidInput(fields={"q": [message]})


def find_people(
    session: Session, actor: UserAccount, cipher: IdentityCipher, text: str, today: date
) -> list[PersonHit]:
    """People in scope by name or phone (:func:`matching_people`), as the list shows them."""
    return _people_hits(session, actor, cipher, matching_people(session, actor, text), today)


def matching_people(session: Session, actor: UserAccount, text: str) -> list[Person]:
    """People in scope by name (2 characters or more, anywhere in the name, see
    registry.person.lookup) or by phone (the whole number, or at least 4 of its digits).

    Nothing is shown yet, so nothing is logged: the page that lists them logs the views.
    """
    _require_desk(actor)
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        raise _query_field_error(_l("Enter a name or a phone number"))
    query = select(Person).where(person_filter(actor), Person.anonymised_at.is_(None))
    typed = classify_query(text)
    if typed.kind is QueryKind.PHONE:
        query = query.where(Person.phone == typed.phone).order_by(Person.name, Person.id)
    elif typed.is_number_only and (typed.kind is QueryKind.NUMBER or "-" not in typed.text):
        if len(typed.digits) < MIN_PHONE_DIGITS:
            raise _query_field_error(_l("Enter at least 4 digits of the phone number"))
        query = query.where(phone_contains(typed.digits))
        query = query.order_by(Person.name, Person.id)
    elif typed.kind is QueryKind.DOOR:
        # "26-1-601" or "A1201" is a room, neither a name nor part of a phone number.
        raise _query_field_error(_l("This looks like a door number: look up dwellings by address"))
    else:
        if len(text) < MIN_NAME_LENGTH:
            raise _query_field_error(_l("Enter at least 2 characters of the name"))
        query = query.where(name_matches(text)).order_by(
            (Person.name == text).desc(), Person.name, Person.id
        )
    return list(session.scalars(query.limit(LOOKUP_LIMIT)))


def people_by_ids(
    session: Session, actor: UserAccount, cipher: IdentityCipher, ids: list[int], today: date
) -> list[PersonHit]:
    """The people of a kept look-up (registry/searches), read again in the actor's scope."""
    _require_desk(actor)
    people = [p for p in all_in_scope(session, actor, Person, ids) if p.anonymised_at is None]
    return _people_hits(session, actor, cipher, people, today)


def find_person_by_document(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    document_type: str,
    number: str,
    today: date,
) -> list[PersonHit]:
    """The person with exactly this document number, as the list shows them."""
    people = person_by_document(session, actor, cipher, document_type, number, today)
    return _people_hits(session, actor, cipher, people, today)


def person_by_document(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    document_type: str,
    number: str,
    today: date,
) -> list[Person]:
    """The person with exactly this document number, through the blind index, if in scope
    (a list of one or none; nothing logged until a page shows them)."""
    _require_desk(actor)
    try:
        kind = DocumentType(document_type)
    except ValueError:
        raise InvalidInput(fields={"document_type": [_l("Unknown document type")]}) from None
    try:
        normalised = validate_document(kind, number, field="q", today=today)
    except FieldError as error:
        raise InvalidInput(fields={"q": [error.message]}) from None
    person = find_visible_by_document(session, actor, cipher, kind, normalised)
    return [person] if person else []


def find_dwellings_by_address(
    session: Session, actor: UserAccount, text: str, today: date
) -> list[DwellingHit]:
    """Dwellings in scope whose normalised address contains the text (pg_trgm index)."""
    _require_desk(actor)
    normalised = normalise_address_text(text or "")
    if len(normalised) < MIN_ADDRESS_QUERY:
        raise _query_field_error(_l("Enter at least 2 characters of the address"))
    a = aliased(Address, name="a")
    query = dwelling_status(
        select(Dwelling.id, Dwelling.occupancy, a.full_text)
        .join(a, a.id == Dwelling.address_id)
        .where(a.full_text.ilike(like_pattern(normalised), escape="\\"), dwelling_filter(actor))
        .order_by(a.full_text, Dwelling.id)
        .limit(LOOKUP_LIMIT),
        Dwelling,
        today,
    )
    return [
        DwellingHit(
            row.id,
            row.full_text,
            row.occupancy,
            row.occupants_now,
            row.current_filing_id is not None,
            bool(row.rental_pledge and row.security_guarantee),
        )
        for row in session.execute(query)
    ]


# -- a person's page -----------------------------------------------------------------------


@dataclass
class ResidenceLine:
    dwelling_id: int
    address: str
    kind: ResidenceKind
    relationship: str
    moved_in: date
    moved_out: date | None
    current: bool


@dataclass
class PersonPage:
    person: Person
    masked_document: str
    residences: list[ResidenceLine]


def person_page(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    person_id: int,
    today: date,
    *,
    audit_view: bool = True,
) -> PersonPage:
    """A person in scope with their residences (current first) in the actor's scope.

    The view is audited; ``audit_view=False`` is for the page shown right after a reveal,
    which the reveal's own audit entry already records.
    """
    _require_desk(actor)
    if audit_view:
        person = view_person(session, actor, person_id)
    else:
        person = get_in_scope(session, actor, Person, person_id)
    a = aliased(Address, name="a")
    current = residence_is_current(today)
    rows = session.execute(
        select(Residence, a.full_text, current.label("current"))
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(a, a.id == Dwelling.address_id)
        .where(Residence.person_id == person.id, dwelling_filter(actor))
        .order_by(current.desc(), Residence.moved_in.desc(), Residence.id.desc())
    )
    residences = [
        ResidenceLine(
            residence.dwelling_id,
            text,
            residence.kind,
            str(residence.relationship_to_dwelling),
            residence.moved_in,
            residence.moved_out,
            bool(is_current),
        )
        for residence, text, is_current in rows
    ]
    return PersonPage(person, masked_document(cipher, person), residences)


def reveal_person_document(
    session: Session, actor: UserAccount, cipher: IdentityCipher, person_id: int, reason: str
) -> str:
    """The full number, through the audited reveal (which also logs a refusal)."""
    return reveal_document(session, actor, cipher, person_id, reason)


# -- a dwelling's page ---------------------------------------------------------------------


@dataclass
class ResidentLine:
    person_id: int
    name: str
    kind: ResidenceKind
    relationship: str
    moved_in: date


@dataclass
class FilingLine:
    id: int
    filing_number: str
    landlord: str
    starts_on: date
    ends_on: date
    ended_on: date | None
    monthly_rent: Decimal
    state: str  # current, future, expired, ended_early
    tenants: int
    rental_pledge: bool
    security_guarantee: bool


@dataclass
class OwnerLine:
    """The owner 产权人 as the officer's page shows it: a person (masked) or an organisation."""

    name: str
    document: str  # a person's masked document number, or an organisation's credit code
    person_id: int | None  # set when the owner is a person the actor may open


@dataclass
class DwellingPage:
    dwelling: Dwelling
    address: str
    community: str
    community_id: int
    grid_cell: str | None
    grid_cell_id: int | None
    owner: OwnerLine | None
    legal_capacity: int | None
    occupants_now: int
    over_capacity: bool
    residents: list[ResidentLine]
    filings: list[FilingLine]


def _owner_line(
    session: Session, actor: UserAccount, cipher: IdentityCipher, dwelling: Dwelling
) -> OwnerLine | None:
    """The dwelling's owner; a person shown here is a view of that person, logged."""
    if dwelling.owner_person is not None:
        owner = dwelling.owner_person
        record_list_views(session, actor, [owner], "owner")
        visible = session.scalar(
            select(Person.id).where(Person.id == owner.id, person_filter(actor))
        )
        return OwnerLine(owner.name, masked_document(cipher, owner), visible)
    if dwelling.owner_organisation is not None:
        organisation = dwelling.owner_organisation
        return OwnerLine(organisation.name, organisation.credit_code or "", None)
    return None


def dwelling_page(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling_id: int,
    today: date,
) -> DwellingPage:
    """A dwelling in scope: its facts, owner, capacity, who lives there now and its filings."""
    _require_desk(actor)
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    address = dwelling.address
    capacity = legal_capacity(dwelling.floor_area, dwelling.rooms, current_rule(session, today))
    residents = [
        ResidentLine(pid, name, kind, str(rel), moved_in)
        for pid, name, kind, rel, moved_in in session.execute(
            select(
                Person.id,
                Person.name,
                Residence.kind,
                Residence.relationship_to_dwelling,
                Residence.moved_in,
            )
            .join(Person, Person.id == Residence.person_id)
            .where(Residence.dwelling_id == dwelling.id, residence_is_current(today))
            .order_by(Residence.moved_in, Person.name)
        )
    ]
    record_list_views(session, actor, [Person(id=r.person_id) for r in residents], "dwelling")
    state = case(
        (filing_is_current(today), "current"),
        (LeaseFiling.status == LeaseStatus.CANCELLED, "cancelled"),
        (LeaseFiling.status == LeaseStatus.ENDED_EARLY, "ended_early"),
        (LeaseFiling.starts_on > today, "future"),
        else_="expired",
    )
    rental, guarantee = has_pledges(LeaseFiling.id)  # as the status counts them
    tenants = (
        select(func.count(LeaseTenant.id))
        .where(LeaseTenant.lease_filing_id == LeaseFiling.id, LeaseTenant.removed_on.is_(None))
        .scalar_subquery()
    )
    filings = [
        FilingLine(
            row.id,
            row.filing_number,
            row.landlord,
            row.starts_on,
            row.ends_on,
            row.ended_on,
            row.monthly_rent,
            row.state,
            row.tenants,
            row.rental_pledge,
            row.security_guarantee,
        )
        for row in session.execute(
            select(
                LeaseFiling.id,
                LeaseFiling.filing_number,
                Person.name.label("landlord"),
                LeaseFiling.starts_on,
                LeaseFiling.ends_on,
                LeaseFiling.ended_on,
                LeaseFiling.monthly_rent,
                state.label("state"),
                tenants.label("tenants"),
                rental.label("rental_pledge"),
                guarantee.label("security_guarantee"),
            )
            .join(Person, Person.id == LeaseFiling.landlord_person_id)
            .where(LeaseFiling.dwelling_id == dwelling.id, lease_filter(actor))
            .order_by(LeaseFiling.starts_on.desc(), LeaseFiling.id.desc())
        )
    ]
    occupants = len(residents)
    return DwellingPage(
        dwelling=dwelling,
        address=address.full_text,
        community=address.community.name,
        community_id=address.community_id,
        grid_cell=address.grid_cell.name if address.grid_cell is not None else None,
        grid_cell_id=address.grid_cell_id,
        owner=_owner_line(session, actor, cipher, dwelling),
        legal_capacity=capacity,
        occupants_now=occupants,
        over_capacity=capacity is not None and occupants > capacity,
        residents=residents,
        filings=filings,
    )


# -- audit trail of a record ---------------------------------------------------------------

# URL name -> (model, the object_type names its entries are written under)
AUDITED_RECORDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "person": (Person, ("person",)),
    "dwelling": (Dwelling, ("dwelling",)),
    "address": (Address, ("address",)),
    "organisation": (Organisation, ("organisation",)),
    "lease": (LeaseFiling, ("lease", "lease_filing")),
    "residence": (Residence, ("residence",)),
}

# The records whose entries a record's trail shows with its own: (object_type, model, the
# column pointing at the record). The lease services log tenants and pledges under their
# own ids, and a tenant's removal does not repeat the filing, so they are found by id.
RELATED_ENTRIES: dict[str, tuple[tuple[str, type, Any], ...]] = {
    "lease": (
        ("lease_tenant", LeaseTenant, LeaseTenant.lease_filing_id),
        ("rental_pledge", RentalPledge, RentalPledge.lease_filing_id),
        ("security_guarantee", SecurityGuarantee, SecurityGuarantee.lease_filing_id),
    ),
    "dwelling": (("residence", Residence, Residence.dwelling_id),),
}

# Who a related record is about, to name it on its entries' lines.
SUBJECT_PEOPLE: dict[str, Any] = {
    "lease_tenant": LeaseTenant.person_id,
    "residence": Residence.person_id,
    "rental_pledge": RentalPledge.signer_person_id,
    "security_guarantee": SecurityGuarantee.signer_person_id,
}

# Fields of ``changes`` that hold the id of another record, and the kind of that record.
REFERENCE_FIELDS: dict[str, str] = {
    "road_id": "road",
    "address_id": "address",
    "dwelling_id": "dwelling",
    "person_id": "person",
    "landlord_person_id": "person",
    "owner_person_id": "person",
    "signer_person_id": "person",
    "owner_organisation_id": "organisation",
    "lease_filing_id": "lease",
}


def _check_record_scope(session: Session, actor: UserAccount, model, record_id: int) -> None:
    """NotFound unless the record exists in the actor's scope (a residence: its dwelling)."""
    if model is Residence:
        found = session.scalar(
            select(Residence.id)
            .join(Dwelling, Dwelling.id == Residence.dwelling_id)
            .where(Residence.id == record_id, dwelling_filter(actor))
        )
        if found is None:
            raise NotFound()
        return
    get_in_scope(session, actor, model, record_id)


# The kinds of entry an officer filters a trail by, and the actions of each.
TRAIL_KINDS: dict[str, frozenset[str]] = {
    "changes": frozenset({Action.CREATE, Action.UPDATE, Action.DELETE}),
    "views": frozenset({Action.VIEW, Action.NAME_MISMATCH}),
    "reveals": frozenset({Action.REVEAL, Action.REVEAL_REFUSED}),
}
TRAIL_PAGE_SIZE = 50


@dataclass(frozen=True)
class TrailFilter:
    """Which of a record's entries to show: a kind, a user, a date range, a page."""

    kind: str | None = None  # a key of TRAIL_KINDS; None: every kind
    username: str | None = None
    date_from: date | None = None  # local days, both included
    date_to: date | None = None
    page: int = 1
    per_page: int = TRAIL_PAGE_SIZE

    def conditions(self) -> list:
        conditions = []
        if self.kind in TRAIL_KINDS:
            conditions.append(AuditEntry.action.in_(sorted(TRAIL_KINDS[self.kind])))
        if self.username:
            conditions.append(AuditEntry.username == self.username)
        zone = deployment_zone()
        if self.date_from is not None:
            conditions.append(AuditEntry.occurred_at >= start_of_day(self.date_from, zone))
        if self.date_to is not None:
            conditions.append(AuditEntry.occurred_at < end_of_day(self.date_to, zone))
        return conditions


@dataclass
class AuditTrail:
    object_type: str
    object_id: int
    title: str | None  # what the record is called now; None if it no longer exists
    entries: list[AuditEntry]  # the page of entries the filter asked for
    total: int = 0  # entries matching the filter, on every page
    page: int = 1
    per_page: int = TRAIL_PAGE_SIZE
    usernames: list[str] = field(default_factory=list)  # who wrote any entry of the record
    # The object_type names of the record's own entries; others are of related records.
    own_types: tuple[str, ...] = ()
    # What the ids in the entries' changes are called now, by kind (see REFERENCE_FIELDS)
    # and id; ids out of the actor's scope or of deleted records are missing.
    names: dict[str, dict[int, str]] = field(default_factory=dict)
    # The person a related record is about, by (object_type, object_id).
    subjects: dict[tuple[str, str], int] = field(default_factory=dict)

    def name_of(self, kind: str, record_id: Any) -> str | None:
        return self.names.get(kind, {}).get(record_id)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def subject_of(self, entry: AuditEntry) -> int | None:
        return self.subjects.get((entry.object_type, entry.object_id))


def _record_title(session: Session, model, record_id: int) -> str | None:
    """A person's name, a dwelling's or address's text, an organisation's or filing's name."""
    if model is Person:
        return session.scalar(select(Person.name).where(Person.id == record_id))
    if model is Address:
        return session.scalar(select(Address.full_text).where(Address.id == record_id))
    if model is Dwelling:
        return session.scalar(
            select(Address.full_text)
            .join(Dwelling, Dwelling.address_id == Address.id)
            .where(Dwelling.id == record_id)
        )
    if model is Organisation:
        return session.scalar(select(Organisation.name).where(Organisation.id == record_id))
    if model is LeaseFiling:
        return session.scalar(select(LeaseFiling.filing_number).where(LeaseFiling.id == record_id))
    if model is Residence:
        return session.scalar(
            select(Person.name + " · " + Address.full_text)
            .select_from(Residence)
            .join(Person, Person.id == Residence.person_id)
            .join(Dwelling, Dwelling.id == Residence.dwelling_id)
            .join(Address, Address.id == Dwelling.address_id)
            .where(Residence.id == record_id)
        )
    return None


def _trail_ids(object_type: str, names: tuple[str, ...], record_id: int):
    """The ids of the record's entries and its related records' entries.

    Each part is a lookup on the (object_type, object_id) index: a related record's entries
    are joined through its id, never found by scanning the entries' changes.
    """
    parts = [
        select(AuditEntry.id).where(
            AuditEntry.object_type.in_(names), AuditEntry.object_id == str(record_id)
        )
    ]
    for related_type, model, parent in RELATED_ENTRIES.get(object_type, ()):
        parts.append(
            select(AuditEntry.id)
            .join(model, AuditEntry.object_id == cast(model.id, String))
            .where(AuditEntry.object_type == related_type, parent == record_id)
        )
    return union_all(*parts)


def _trail_entries(
    session: Session, ids, wanted: TrailFilter
) -> tuple[list[AuditEntry], int, list[str]]:
    """One page of the entries among ``ids`` that match, newest first; the number that
    match; and every user who wrote one of ``ids`` (for the user filter)."""
    ids = ids.subquery("trail_ids")
    matching = select(AuditEntry).where(AuditEntry.id.in_(select(ids)), *wanted.conditions())
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    entries = list(
        session.scalars(
            matching.order_by(AuditEntry.id.desc())
            .limit(wanted.per_page)
            .offset((max(1, wanted.page) - 1) * wanted.per_page)
        )
    )
    usernames = list(
        session.scalars(
            select(AuditEntry.username)
            .where(AuditEntry.id.in_(select(ids)), AuditEntry.username.is_not(None))
            .distinct()
            .order_by(AuditEntry.username)
        )
    )
    return entries, total, usernames


def _subjects(
    session: Session, entries: list[AuditEntry], own_types: tuple[str, ...]
) -> dict[tuple[str, str], int]:
    """The person each related record is about: one query per kind of related record."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        related = entry.object_type not in own_types and entry.object_type in SUBJECT_PEOPLE
        if related and entry.object_id.isdigit():
            wanted.setdefault(entry.object_type, set()).add(int(entry.object_id))
    subjects: dict[tuple[str, str], int] = {}
    for object_type, ids in wanted.items():
        column = SUBJECT_PEOPLE[object_type]
        model = column.class_
        for record_id, person_id in session.execute(
            select(model.id, column).where(model.id.in_(ids))
        ):
            subjects[(object_type, str(record_id))] = person_id
    return subjects


def _referenced_ids(entries: list[AuditEntry]) -> dict[str, set[int]]:
    """The ids each entry's changes point at, by kind of record."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        for name, change in (entry.changes or {}).items():
            kind = REFERENCE_FIELDS.get(name)
            if kind is None:
                continue
            values = change if isinstance(change, list) else [change]
            for value in values:
                if isinstance(value, int) and not isinstance(value, bool):
                    wanted.setdefault(kind, set()).add(value)
    return wanted


def _name_query(actor: UserAccount, kind: str, ids: set[int]) -> Select | None:
    """(id, name) of the records of one kind among ``ids`` that the actor may see."""
    if kind == "road":
        return select(Road.id, Road.name).where(Road.id.in_(ids))
    if kind == "address":
        return select(Address.id, Address.full_text).where(
            Address.id.in_(ids), address_filter(actor)
        )
    if kind == "dwelling":
        a = aliased(Address, name="a")
        return (
            select(Dwelling.id, a.full_text)
            .join(a, a.id == Dwelling.address_id)
            .where(Dwelling.id.in_(ids), dwelling_filter(actor))
        )
    if kind == "person":
        return select(Person.id, Person.name).where(Person.id.in_(ids), person_filter(actor))
    if kind == "organisation":
        return select(Organisation.id, Organisation.name).where(
            Organisation.id.in_(ids), organisation_filter(actor)
        )
    if kind == "lease":
        return select(LeaseFiling.id, LeaseFiling.filing_number).where(
            LeaseFiling.id.in_(ids), lease_filter(actor)
        )
    return None


def _names(
    session: Session, actor: UserAccount, wanted: dict[str, set[int]]
) -> dict[str, dict[int, str]]:
    """What the referenced records are called now: one query per kind of record."""
    names: dict[str, dict[int, str]] = {}
    for kind, ids in wanted.items():
        query = _name_query(actor, kind, ids)
        if query is not None and ids:
            names[kind] = {record_id: name for record_id, name in session.execute(query)}
    return names


def audit_trail(
    session: Session,
    actor: UserAccount,
    object_type: str,
    object_id: str,
    shown: TrailFilter | None = None,
) -> AuditTrail:
    """The audit entries of one record, newest first, for officers (in scope) and admins.

    A lease filing's trail also holds its tenants' and pledges' entries, a dwelling's its
    residences'. The people, dwellings, roads … that entries refer to by id are named (in
    the actor's scope), a few queries for the whole page.

    Officers must have the record in their scope; admins may also read the trail of a
    record that has since been deleted. Reading a person's trail is itself audited as a
    view of that person. Document numbers are stored masked, so they stay masked here.
    """
    _require_desk(actor)
    if object_type not in AUDITED_RECORDS or not object_id.isdigit():
        raise NotFound()
    model, names = AUDITED_RECORDS[object_type]
    record_id = int(object_id)
    if actor.role != Role.ADMIN:
        _check_record_scope(session, actor, model, record_id)
    title = _record_title(session, model, record_id)
    shown = shown or TrailFilter()
    ids = _trail_ids(object_type, names, record_id)
    if title is None and not session.scalar(select(ids.exists())):
        raise NotFound()  # never existed (a deleted record keeps its entries)
    entries, total, usernames = _trail_entries(session, ids, shown)
    subjects = _subjects(session, entries, names)
    wanted = _referenced_ids(entries)
    if subjects:
        wanted.setdefault("person", set()).update(subjects.values())
    trail = AuditTrail(
        object_type,
        record_id,
        title,
        entries,
        total=total,
        page=max(1, shown.page),
        per_page=shown.per_page,
        usernames=usernames,
        own_types=names,
        names=_names(session, actor, wanted),
        subjects=subjects,
    )
    _log_people_named(session, actor, trail)
    return trail


def _log_people_named(session: Session, actor: UserAccount, trail: AuditTrail) -> None:
    """A trail page names people, in its title and in its entries: a view of each, logged."""
    named = set(trail.names.get("person", {}))
    if trail.title is not None and trail.object_type == "person":
        record(session, actor, Action.VIEW, "person", trail.object_id)
        named.discard(trail.object_id)
    if trail.title is not None and trail.object_type == "residence":
        named.add(session.get(Residence, trail.object_id).person_id)
    record_list_views(session, actor, [Person(id=i) for i in sorted(named)], "trail")
