"""Occupants: move a person in, move them out, correct a residence; the history stays.

A residence is never deleted: moving out closes it with a date. Every change is
version-checked and audited; document numbers reach the log only masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from registry.accounts.models import Role, UserAccount
from registry.audit.services import Action, changed, record
from registry.constraints import checked, refuse
from registry.dwelling.models import Dwelling
from registry.dwelling.status import residence_is_current
from registry.edits import check_version
from registry.errors import DomainError, InvalidInput, NotFound
from registry.flags.hooks import rechecks_flags
from registry.lease.models import LeaseFiling
from registry.person.identity import IdentityCipher
from registry.person.models import ONE_HOME, Person, Relationship, Residence, ResidenceKind
from registry.person.services import (
    PersonInput,
    clean_person,
    correct_person,
    correctable_in_scope,
    find_by_document,
    find_visible_by_document,
    resolve_person,
)
from registry.scope import dwelling_filter, get_in_scope, person_filter, visible_dwelling_ids
from registry.validators import (
    DocumentType,
    FieldError,
    QueryKind,
    SearchQuery,
    ValidationErrors,
    parse_date,
    validate_document,
)


@dataclass(frozen=True)
class MoveInInput:
    """A person moving in: their document (always), details (when they are new), the stay."""

    document_type: Any
    document_number: Any
    moved_in: Any
    kind: Any
    relationship: Any
    name: Any = None
    phone: Any = None
    birth_date: Any = None


@dataclass(frozen=True)
class ResidenceInput:
    moved_in: Any
    moved_out: Any
    kind: Any
    relationship: Any


# -- validation ----------------------------------------------------------------------------


def _date(value: Any, field: str, today: date, required: bool = True) -> date | None:
    if not required and (value is None or not str(value).strip()):
        return None
    day = parse_date(value, field)
    if day > today:
        raise FieldError(field, _l("The date is in the future"))
    if day.year < 1900:
        raise FieldError(field, _l("The date is before 1900"))
    return day


def _enum(enum_class, value: Any, field: str, errors: ValidationErrors):
    try:
        return enum_class(str(value or ""))
    except ValueError:
        errors.add(field, _l("Choose one of the listed values"))
        return None


def _stay(data, errors: ValidationErrors, today: date, with_out: bool):
    """moved_in, moved_out, kind and relationship, with their errors collected."""
    moved_in = moved_out = None
    with errors.collect():
        moved_in = _date(data.moved_in, "moved_in", today)
    if with_out:
        with errors.collect():
            moved_out = _date(data.moved_out, "moved_out", today, required=False)
            if moved_in and moved_out and moved_out < moved_in:
                raise FieldError("moved_out", _l("The end date is before the start date"))
    kind = _enum(ResidenceKind, data.kind, "kind", errors)
    relationship = _enum(Relationship, data.relationship, "relationship", errors)
    return moved_in, moved_out, kind, relationship


# -- reading -------------------------------------------------------------------------------


def residence_in_scope(session: Session, actor: UserAccount, residence_id: int) -> Residence:
    """A residence in a dwelling the actor may see; NotFound otherwise."""
    residence = session.scalar(
        select(Residence)
        .options(joinedload(Residence.person))
        .where(Residence.id == residence_id, Residence.dwelling_id.in_(visible_dwelling_ids(actor)))
    )
    if residence is None:
        raise NotFound()
    return residence


def residences_of_dwelling(session: Session, actor: UserAccount, dwelling_id: int, today: date):
    """(current, former) residences of a dwelling in scope, each with its person loaded."""
    get_in_scope(session, actor, Dwelling, dwelling_id)
    rows = list(
        session.scalars(
            select(Residence)
            .options(joinedload(Residence.person))
            .where(Residence.dwelling_id == dwelling_id)
            .order_by(Residence.moved_in.desc(), Residence.id.desc())
        )
    )
    current = [
        r for r in rows if r.moved_in <= today and (r.moved_out is None or r.moved_out > today)
    ]
    former = [r for r in rows if r not in current]
    return current, former


def residences_of_person(session: Session, actor: UserAccount, person_id: int) -> list[Residence]:
    """The person's residences in dwellings the actor may see, newest first."""
    return list(
        session.scalars(
            select(Residence)
            .options(joinedload(Residence.dwelling).joinedload(Dwelling.address))
            .where(
                Residence.person_id == person_id,
                Residence.dwelling_id.in_(visible_dwelling_ids(actor)),
            )
            .order_by(Residence.moved_in.desc(), Residence.id.desc())
        )
    )


def residence_values(residence: Residence) -> dict[str, Any]:
    """The residence as its form fields hold it, for the conflict page and the log."""
    return {
        "moved_in": residence.moved_in,
        "moved_out": residence.moved_out,
        "kind": str(residence.kind),
        "relationship": str(residence.relationship_to_dwelling),
    }


# -- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeElsewhere:
    """A stay elsewhere that a move-in ends on its move-in date.

    ``address`` and ``dwelling_id`` are given only when the actor may see that dwelling:
    otherwise the page says just that a residence elsewhere ends.
    """

    residence_id: int
    dwelling_id: int | None
    address: str | None


@dataclass(frozen=True)
class MoveConfirmation:
    """A move-in the worker confirmed: this person, ending exactly these stays elsewhere.

    Only trusted code builds one: the web page from a token it signed for this worker and
    dwelling after :func:`move_in` resolved the person by document and name.
    """

    person_id: int
    ending: tuple[int, ...]


class MoveNeedsConfirmation(DomainError):
    """The person lives elsewhere: moving them in ends that stay, so the worker confirms.

    ``details``: ``person`` (the resolved Person), ``homes`` (HomeElsewhere list) and
    ``moved_in`` (the day the stays would end).
    """

    status = 409
    code = "confirm_move"
    default_message = _l("This person lives somewhere else: confirm the move.")


SIMULTANEOUS_MOVE = _l(
    "Someone recorded a move of this person at the same time: check and try again"
)

refuse(
    ONE_HOME,
    "moved_in",
    _l(
        "This person is recorded living somewhere else during this time: "
        "a person lives in one dwelling at a time"
    ),
)


@rechecks_flags
def move_in(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling_id: int,
    data: MoveInInput,
    today: date,
    confirmed: MoveConfirmation | None = None,
) -> Residence:
    """A person (found by document and name, or registered) starts living in a dwelling.

    Someone who lives elsewhere moves: their stay there ends on the move-in date, in the
    same transaction, once the worker has confirmed it (until then MoveNeedsConfirmation
    tells what would end). ``confirmed`` skips the look-up by document for a person the
    worker already confirmed. The database refuses two homes at once (``ONE_HOME``).
    """
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    errors = ValidationErrors()
    moved_in, _out, kind, relationship = _stay(data, errors, today, with_out=False)
    if confirmed is None:
        person = _person_moving_in(session, actor, cipher, data, errors, today)
    else:
        person = session.get(Person, confirmed.person_id)
        if errors.errors:
            raise InvalidInput(fields=errors.errors)
    ending = _stays_to_end(session, actor, person, dwelling.id, moved_in, today)
    if ending and tuple(sorted(h.residence_id for h in ending)) != (
        tuple(sorted(confirmed.ending)) if confirmed else None
    ):
        raise MoveNeedsConfirmation(person=person, homes=ending, moved_in=moved_in)
    residence = Residence(
        person_id=person.id,
        dwelling_id=dwelling.id,
        moved_in=moved_in,
        kind=kind,
        relationship_to_dwelling=relationship,
    )
    try:
        with checked(session):
            ended = _end_stays(session, [h.residence_id for h in ending], moved_in)
            session.add(residence)
    except StaleDataError:
        # Another worker ended the same stay at the same moment.
        raise InvalidInput(fields={"moved_in": [SIMULTANEOUS_MOVE]}) from None
    _log_move_in(session, actor, residence)
    seen = {h.residence_id for h in ending if h.dwelling_id is not None}
    for stay, moved_out_before in ended:
        checked_on = today if stay.id in seen else None
        _mark_ended_by(session, actor, stay, moved_out_before, residence, checked_on)
    return residence


def _person_moving_in(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    data: MoveInInput,
    errors: ValidationErrors,
    today: date,
) -> Person:
    """The person by document and name, reporting their errors with the stay's."""
    details = PersonInput(
        data.name or "",
        str(data.document_type or ""),
        data.document_number or "",
        data.phone or None,
        data.birth_date or None,
    )
    if errors.errors:
        try:
            clean_person(details, today)  # only to report its errors with the others
        except InvalidInput as error:
            for field, messages in error.details["fields"].items():
                for message in messages:
                    errors.add(field, message)
        raise InvalidInput(fields=errors.errors)
    return resolve_person(session, actor, cipher, details, today)


def _stays_to_end(
    session: Session,
    actor: UserAccount,
    person: Person,
    dwelling_id: int,
    moved_in: date,
    today: date,
) -> list[HomeElsewhere]:
    """The person's stays that a move-in on ``moved_in`` would overlap, ended on that day.

    Refused instead: a stay in this very dwelling (they live here already), and a stay
    that starts after ``moved_in`` (it cannot end before it began).
    """
    overlapping = list(
        session.execute(
            select(Residence, dwelling_filter(actor).label("visible"))
            .join(Dwelling, Dwelling.id == Residence.dwelling_id)
            .options(joinedload(Residence.dwelling).joinedload(Dwelling.address))
            .where(
                Residence.person_id == person.id,
                or_(Residence.moved_out.is_(None), Residence.moved_out > moved_in),
            )
            .order_by(Residence.moved_in, Residence.id)
        )
    )
    homes = []
    for stay, visible in overlapping:
        if stay.dwelling_id == dwelling_id and residence_is_current_on(stay, today):
            raise InvalidInput(fields={"document_number": [_l("This person already lives here")]})
        if stay.moved_in > moved_in or stay.dwelling_id == dwelling_id:
            raise InvalidInput(
                fields={
                    "moved_in": [
                        _l(
                            "This person is recorded living somewhere else after this date: "
                            "check the move-in date"
                        )
                    ]
                }
            )
        if visible:
            homes.append(HomeElsewhere(stay.id, stay.dwelling_id, stay.dwelling.address.full_text))
        else:
            homes.append(HomeElsewhere(stay.id, None, None))
    return homes


def residence_is_current_on(stay: Residence, day: date) -> bool:
    """The Python twin of ``residence_is_current`` for one loaded stay."""
    return stay.moved_in <= day and (stay.moved_out is None or stay.moved_out > day)


def _end_stays(
    session: Session, residence_ids: list[int], day: date
) -> list[tuple[Residence, date | None]]:
    """End these stays on ``day`` (the next home's move-in) and flush, before the insert
    that the one-home constraint would otherwise refuse; (stay, former moved_out) each."""
    stays = list(session.scalars(select(Residence).where(Residence.id.in_(residence_ids))))
    ended = [(stay, stay.moved_out) for stay in stays]
    for stay in stays:
        stay.moved_out = day
    session.flush()
    return ended


def _log_move_in(session: Session, actor: UserAccount, residence: Residence) -> None:
    record(
        session,
        actor,
        Action.CREATE,
        "residence",
        residence.id,
        {
            "person_id": [None, residence.person_id],
            "dwelling_id": [None, residence.dwelling_id],
            "moved_in": [None, residence.moved_in],
            "kind": [None, str(residence.kind)],
            "relationship": [None, str(residence.relationship_to_dwelling)],
        },
    )


def _mark_ended_by(
    session: Session,
    actor: UserAccount,
    stay: Residence,
    moved_out_before: date | None,
    move_in: Residence,
    checked_on: date | None,
) -> None:
    """Name the move-in that ended ``stay``; audited. Unchecked (``checked_on`` None) it
    appears in the needs-attention list of the stay's own grid worker."""
    stay.ended_by_residence_id = move_in.id
    stay.end_checked_on = checked_on
    session.flush()
    record(
        session,
        actor,
        Action.UPDATE,
        "residence",
        stay.id,
        {
            "moved_out": [moved_out_before, stay.moved_out],
            "ended_by_residence_id": [None, move_in.id],
            "end_checked_on": [None, checked_on],
        },
    )


@rechecks_flags
def move_out(
    session: Session,
    actor: UserAccount,
    residence_id: int,
    moved_out: Any,
    seen_version: Any,
    today: date,
) -> Residence:
    """Close a residence on the day the person left; the row stays as history."""
    residence = residence_in_scope(session, actor, residence_id)
    check_version(residence, seen_version, residence_values(residence))
    if residence.moved_out is not None:
        raise InvalidInput(fields={"moved_out": [_l("This person has already moved out")]})
    try:
        day = _date(moved_out, "moved_out", today)
        if day < residence.moved_in:
            raise FieldError("moved_out", _l("The end date is before the start date"))
    except FieldError as error:
        raise InvalidInput(fields={error.field: [error.message]}) from None
    residence.moved_out = day
    session.flush()
    record(session, actor, Action.UPDATE, "residence", residence.id, {"moved_out": [None, day]})
    return residence


@rechecks_flags
def check_move_away(
    session: Session, actor: UserAccount, residence_id: int, today: date
) -> Residence:
    """The dwelling's worker has checked a stay that a move-in elsewhere ended; audited.

    Until then the dwelling is in their needs-attention list. Checking twice is harmless.
    """
    residence = residence_in_scope(session, actor, residence_id)
    if residence.ended_by_residence_id is None or residence.end_checked_on is not None:
        return residence
    residence.end_checked_on = today
    session.flush()
    record(
        session, actor, Action.UPDATE, "residence", residence.id, {"end_checked_on": [None, today]}
    )
    return residence


@rechecks_flags
def correct_residence(
    session: Session,
    actor: UserAccount,
    residence_id: int,
    data: ResidenceInput,
    seen_version: Any,
    today: date,
) -> Residence:
    """Correct the dates, the kind (registered/transient) or the relationship of a stay."""
    residence = residence_in_scope(session, actor, residence_id)
    before = residence_values(residence)
    check_version(residence, seen_version, before)
    errors = ValidationErrors()
    moved_in, moved_out, kind, relationship = _stay(data, errors, today, with_out=True)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    after = {
        "moved_in": moved_in,
        "moved_out": moved_out,
        "kind": str(kind),
        "relationship": str(relationship),
    }
    changes = changed(before, after)
    if not changes:
        return residence
    with checked(session):  # the new dates may overlap a stay elsewhere (ONE_HOME)
        residence.moved_in = moved_in
        residence.moved_out = moved_out
        residence.kind = kind
        residence.relationship_to_dwelling = relationship
    record(session, actor, Action.UPDATE, "residence", residence.id, changes)
    return residence


def correct_occupant(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    person_id: int,
    data: PersonInput,
    seen_version: Any,
    today: date,
) -> Person:
    """Correct a person's details; a blank document number keeps the stored one.

    The worker never sees the stored number in clear, so the form cannot show it: leaving
    the field empty means "unchanged", and the stored number is passed through unseen.
    Only people whose every current tie is in the worker's scope can be corrected.
    """
    person = correctable_in_scope(session, actor, person_id, today)
    number = "".join(str(data.document_number or "").split())
    if not number and person.document_ciphertext is not None:
        number = cipher.decrypt(bytes(person.document_ciphertext))
        document_type = str(person.document_type)
        if data.document_type and str(data.document_type) != document_type:
            raise InvalidInput(
                fields={"document_number": [_l("Enter the number of the new document")]}
            )
        data = PersonInput(data.name, document_type, number, data.phone, data.birth_date)
    elif number and data.document_type in set(DocumentType):
        try:
            normalised = validate_document(data.document_type, number, today=today)
        except FieldError:
            normalised = None  # correct_person reports it with the other fields
        other = normalised and find_by_document(session, cipher, data.document_type, normalised)
        if other and other.id != person.id:
            raise InvalidInput(
                fields={"document_number": [_l("Another person is registered with this document")]}
            )
    return correct_person(session, actor, cipher, person_id, data, seen_version, today)


# -- search --------------------------------------------------------------------------------


CANDIDATE_LIMIT = 20_000


def _candidates(session: Session, actor: UserAccount) -> tuple:
    """A driving set for the planner: the ids of the people linked to the actor's dwellings.

    person_filter alone is an OR of three subqueries that PostgreSQL tests row by row over
    the whole person table; with the few hundred ids of a grid worker's cells in hand it
    reads just those rows. It never widens the scope: person_filter still applies.
    """
    if actor.role == Role.ADMIN:
        return ()
    dwellings = visible_dwelling_ids(actor)
    people = union(
        select(Residence.person_id).where(Residence.dwelling_id.in_(dwellings)),
        select(Dwelling.owner_person_id).where(Dwelling.id.in_(dwellings)),
        select(LeaseFiling.landlord_person_id).where(LeaseFiling.dwelling_id.in_(dwellings)),
    ).subquery()
    ids = [i for i in session.scalars(select(people.c[0]).limit(CANDIDATE_LIMIT + 1)) if i]
    if len(ids) > CANDIDATE_LIMIT:
        return ()  # a wide scope: let the planner do its best with the filter alone
    return (Person.id.in_(ids),)


def search_people(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    query: SearchQuery,
    limit: int = 30,
) -> tuple[list[Person], bool]:
    """People in scope by document number (blind index), phone number, or part of a name.

    What is searched follows what the query was recognised as (registry/validators.py): a
    document number goes only to the blind index, never decrypted and scanned and never
    written into SQL; a phone number matches phones only; other text matches names.
    """
    found: dict[int, Person] = {}
    for document_type, number in query.documents:
        person = find_visible_by_document(session, actor, cipher, document_type, number)
        if person is not None:
            found[person.id] = person
    if query.kind is QueryKind.PHONE:
        for person in session.scalars(
            select(Person)
            .where(Person.phone == query.phone, person_filter(actor), *_candidates(session, actor))
            .limit(limit + 1)
        ):
            found.setdefault(person.id, person)
    elif query.kind is QueryKind.TEXT:
        escaped = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        for person in session.scalars(
            select(Person)
            .where(
                Person.name.ilike(f"%{escaped}%", escape="\\"),
                person_filter(actor),
                *_candidates(session, actor),
            )
            .order_by(func.length(Person.name), Person.name, Person.id)
            .limit(limit + 1)
        ):
            found.setdefault(person.id, person)
    people = list(found.values())
    return people[:limit], len(people) > limit


def current_homes(
    session: Session, actor: UserAccount, person_ids: list[int], today: date
) -> dict[int, list[Dwelling]]:
    """Where each person lives now, among the dwellings the actor may see."""
    if not person_ids:
        return {}
    homes: dict[int, list[Dwelling]] = {}
    rows = session.execute(
        select(Residence.person_id, Dwelling)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .options(joinedload(Dwelling.address))
        .where(
            Residence.person_id.in_(person_ids),
            residence_is_current(today),
            Residence.dwelling_id.in_(visible_dwelling_ids(actor)),
        )
    )
    for person_id, dwelling in rows:
        homes.setdefault(person_id, []).append(dwelling)
    return homes


def record_list_views(session: Session, actor: UserAccount, people, context: str) -> None:
    """A list that shows people (name, masked document) is a view of each of them: log it."""
    for person in people:
        record(session, actor, Action.VIEW, "person", person.id, {"context": context})
