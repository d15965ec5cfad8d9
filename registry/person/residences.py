"""Occupants: move a person in, move them out, correct a residence; the history stays.

A residence is never deleted: moving out closes it with a date. Every change is
version-checked and audited; document numbers reach the log only masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, union
from sqlalchemy.orm import Session, joinedload

from registry.accounts.models import Role, UserAccount
from registry.audit.services import Action, changed, record
from registry.dwelling.models import Dwelling
from registry.dwelling.status import residence_is_current
from registry.edits import check_version
from registry.errors import InvalidInput, NotFound
from registry.lease.models import LeaseFiling
from registry.person.identity import IdentityCipher
from registry.person.models import Person, Relationship, Residence, ResidenceKind
from registry.person.services import (
    PersonInput,
    clean_person,
    correct_person,
    create_or_find_person,
    find_by_document,
    find_visible_by_document,
)
from registry.scope import get_in_scope, person_filter, visible_dwelling_ids
from registry.validators import (
    DocumentType,
    FieldError,
    QueryKind,
    SearchQuery,
    ValidationErrors,
    parse_date,
    validate_birth_date,
    validate_document,
    validate_name,
    validate_phone,
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


def move_in(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    dwelling_id: int,
    data: MoveInInput,
    today: date,
) -> Residence:
    """A person (found by document, or registered) starts living in a dwelling in scope."""
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    errors = ValidationErrors()
    number = None
    kind_of_document = None
    try:
        kind_of_document = DocumentType(str(data.document_type or ""))
    except ValueError:
        errors.add("document_type", _l("Unknown document type"))
    if kind_of_document is not None:
        with errors.collect():
            number = validate_document(kind_of_document, data.document_number, today=today)
    moved_in, _out, kind, relationship = _stay(data, errors, today, with_out=False)
    person = None
    if number is None:
        # Whether the person is new is unknown yet; still check what was typed.
        for field, check in (
            ("name", validate_name),
            ("phone", validate_phone),
            ("birth_date", partial(validate_birth_date, today=today)),
        ):
            if getattr(data, field):
                with errors.collect():
                    check(getattr(data, field))
    else:
        person = find_by_document(session, cipher, kind_of_document, number)
        if person is None:
            # Someone new: their details are needed, and checked with the rest.
            # clean_person takes the birth date from the number when none was typed.
            details = PersonInput(
                data.name or "", kind_of_document, number, data.phone, data.birth_date or None
            )
            try:
                if errors.errors:
                    clean_person(details, today)  # only to report its errors with the others
                else:
                    person = create_or_find_person(session, actor, cipher, details, today)
            except InvalidInput as error:
                for field, messages in error.details["fields"].items():
                    for message in messages:
                        errors.add(field, message)
        elif _lives_here(session, person.id, dwelling.id, today):
            errors.add("document_number", _l("This person already lives here"))
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    residence = Residence(
        person_id=person.id,
        dwelling_id=dwelling.id,
        moved_in=moved_in,
        kind=kind,
        relationship_to_dwelling=relationship,
    )
    session.add(residence)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        "residence",
        residence.id,
        {
            "person_id": [None, person.id],
            "dwelling_id": [None, dwelling.id],
            "moved_in": [None, moved_in],
            "kind": [None, str(kind)],
            "relationship": [None, str(relationship)],
        },
    )
    return residence


def _lives_here(session: Session, person_id: int, dwelling_id: int, today: date) -> bool:
    return (
        session.scalar(
            select(Residence.id).where(
                Residence.person_id == person_id,
                Residence.dwelling_id == dwelling_id,
                residence_is_current(today),
            )
        )
        is not None
    )


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
    residence.moved_in = moved_in
    residence.moved_out = moved_out
    residence.kind = kind
    residence.relationship_to_dwelling = relationship
    session.flush()
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
    """
    person = get_in_scope(session, actor, Person, person_id)
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
