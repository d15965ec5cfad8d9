"""People: resolve by document and name, view (audited), reveal an ID number, correct.

Every view and change of a person is written to the audit log, and no document number
ever reaches the log in clear: changes record the masked form.

Whoever types a document number can attach its holder to a dwelling or a lease, whatever
the user's scope: people move, and the worker at the door must be able to record them.
:func:`resolve_person` is that one door, and it asks for the holder's name as well;
correcting the person afterwards needs more (``person_correctable_filter``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.audit.models import AuditEntry
from registry.audit.services import Action, record
from registry.db import own_transaction
from registry.edits import check_version
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.person.identity import IdentityCipher, mask_document_number
from registry.person.models import Person
from registry.scope import get_in_scope, person_correctable_filter, person_filter
from registry.validators import (
    DocumentType,
    ValidationErrors,
    resident_id_birth_date,
    validate_birth_date,
    validate_document,
    validate_name,
    validate_phone,
)

REVEAL_ROLES = (Role.POLICE_OFFICER, Role.ADMIN)
BIRTH_DATE_IN_NUMBER = (DocumentType.RESIDENT_ID, DocumentType.HMT_RESIDENCE_PERMIT)
MIN_REASON_LENGTH = 4

# A refused name tells the user that the name was wrong, so guessing is limited per user.
NAME_MISMATCH_LIMIT = 5
NAME_MISMATCH_WINDOW = timedelta(hours=1)
NAME_MISMATCH_MESSAGE = _l(
    "This document is on record under another name: check the name and the number"
)


@dataclass(frozen=True)
class PersonInput:
    """What a form, the importer or the API hands over to create or correct a person."""

    name: str
    document_type: str
    document_number: str
    phone: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True)
class CleanPerson:
    name: str
    document_type: DocumentType
    document_number: str
    phone: str | None
    birth_date: date | None


def clean_person(data: PersonInput, today: date) -> CleanPerson:
    """Validate every field at once, so a form can show all its errors together."""
    errors = ValidationErrors()
    name = number = phone = born = None
    kind = DocumentType.RESIDENT_ID
    with errors.collect():
        name = validate_name(data.name)
    try:
        kind = DocumentType(data.document_type)
    except ValueError:
        errors.add("document_type", _l("Unknown document type"))
    with errors.collect():
        number = validate_document(kind, data.document_number, today=today)
    if data.phone:
        with errors.collect():
            phone = validate_phone(data.phone)
    if data.birth_date:
        with errors.collect():
            born = validate_birth_date(data.birth_date, today=today)
    elif number and kind in BIRTH_DATE_IN_NUMBER:
        # The resident ID (and the permits built like it) carries the birth date: no form
        # needs to ask for it again.
        born = resident_id_birth_date(number, today=today)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return CleanPerson(name, kind, number, phone, born)


def find_by_document(
    session: Session, cipher: IdentityCipher, document_type: str, number: str
) -> Person | None:
    """Exact look-up through the blind index; the number itself is never queried."""
    index = cipher.blind_index(str(document_type), number)
    return session.scalar(
        select(Person).where(Person.document_type == document_type, Person.document_index == index)
    )


def find_visible_by_document(
    session: Session, actor: UserAccount, cipher: IdentityCipher, document_type: str, number: str
) -> Person | None:
    """The person with this document, only if the actor's scope covers them."""
    index = cipher.blind_index(str(document_type), number)
    return session.scalar(
        select(Person).where(
            Person.document_type == document_type,
            Person.document_index == index,
            person_filter(actor),
        )
    )


def same_name(recorded: str, typed: str) -> bool:
    """Whether two spellings name the same person: equal after NFC, whitespace collapsed."""

    def canonical(name: str) -> str:
        return " ".join(unicodedata.normalize("NFC", name or "").split())

    return canonical(recorded) == canonical(typed)


def _mismatches_lately(session: Session, actor: UserAccount) -> int:
    """The user's refused names within the window, from the audit log.

    Run on the connection, not through the ORM: reading the log through the session
    would first write the request's queued entries and hold the chain lock from then on.
    """
    query = (
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.user_id == actor.id,
            AuditEntry.action == Action.NAME_MISMATCH,
            AuditEntry.occurred_at > func.now() - NAME_MISMATCH_WINDOW,
        )
    )
    return session.connection().scalar(query)


def _refuse_when_guessing(session: Session, actor: UserAccount, field: str) -> None:
    """Refuse any look-up by document once the user has had too many names refused."""
    if _mismatches_lately(session, actor) >= NAME_MISMATCH_LIMIT:
        raise InvalidInput(
            fields={
                field: [
                    _l(
                        "Too many names did not match their documents in the last hour. "
                        "Try again later, or read the name from the document itself."
                    )
                ]
            }
        )


def resolve_person(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    data: PersonInput,
    today: date,
    field_prefix: str = "",
) -> Person:
    """The person a form means by a document and a name: the holder, or someone new.

    The one way to attach a person by document (move-in, dwelling owner, landlord,
    tenant, import). The holder is found whatever the actor's scope, but only with their
    name as recorded (see :func:`match_person`). Someone new is registered (audited as
    created). Errors come back under ``field_prefix`` + the field's name.
    """
    clean, holder = match_person(session, actor, cipher, data, today, field_prefix)
    return holder if holder is not None else _register(session, actor, cipher, clean)


def match_person(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    data: PersonInput,
    today: date,
    field_prefix: str = "",
) -> tuple[CleanPerson, Person | None]:
    """The typed details, clean, and the holder of the document (None: someone new).

    Writes nothing but the audit entry of a refusal, so a form can check every person it
    holds before anything is saved. A name that differs from the holder's (compared after
    NFC, whitespace collapsed) is refused without saying the right one; the refusal is
    audited and counted, and too many refusals stop look-ups by document for a while.
    """
    try:
        clean = clean_person(data, today)
        _refuse_when_guessing(session, actor, "name")
    except InvalidInput as error:
        fields = error.details.get("fields", {})
        raise InvalidInput(
            fields={f"{field_prefix}{name}": messages for name, messages in fields.items()}
        ) from None
    existing = find_by_document(session, cipher, clean.document_type, clean.document_number)
    anonymised = existing is not None and existing.anonymised_at is not None
    if existing is not None and not anonymised and not same_name(existing.name, clean.name):
        # Audited as a read, so the entry outlives the refused request's rollback: the
        # entries are also what the limit counts.
        record(session, actor, Action.NAME_MISMATCH, "person", existing.id)
        raise InvalidInput(fields={f"{field_prefix}name": [NAME_MISMATCH_MESSAGE]})
    return clean, existing


def _register(
    session: Session, actor: UserAccount, cipher: IdentityCipher, clean: CleanPerson
) -> Person:
    """A new person from clean details, audited as created (the number only masked)."""
    person = Person(
        name=clean.name,
        document_type=clean.document_type,
        document_ciphertext=cipher.encrypt(clean.document_number),
        document_index=cipher.blind_index(clean.document_type, clean.document_number),
        phone=clean.phone,
        birth_date=clean.birth_date,
    )
    session.add(person)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        "person",
        person.id,
        {
            "name": [None, clean.name],
            "document": [None, mask_document_number(clean.document_number)],
            "phone": [None, clean.phone],
            "birth_date": [None, clean.birth_date],
        },
    )
    return person


def masked_document(cipher: IdentityCipher, person: Person) -> str:
    if person.document_ciphertext is None:
        return ""
    return mask_document_number(cipher.decrypt(bytes(person.document_ciphertext)))


def view_person(session: Session, actor: UserAccount, person_id: int) -> Person:
    """A person in scope, with the view written to the audit log."""
    person = get_in_scope(session, actor, Person, person_id)
    record(session, actor, Action.VIEW, "person", person.id)
    return person


def reveal_document(
    session: Session, actor: UserAccount, cipher: IdentityCipher, person_id: int, reason: str
) -> str:
    """The full ID number, for officers and admins who give a reason; audited.

    A refused reveal is audited too (see :func:`_log_refused_reveal`); a person without a
    number has nothing to reveal (NotFound, not a refusal).
    """
    reason = (reason or "").strip()
    try:
        if actor.role not in REVEAL_ROLES:
            raise Forbidden()
        person = get_in_scope(session, actor, Person, person_id)
        if len(reason) < MIN_REASON_LENGTH:
            raise InvalidInput(fields={"reason": [_l("Say why you need the full number")]})
    except (Forbidden, InvalidInput, NotFound) as refusal:
        _log_refused_reveal(session, actor, person_id, reason, refusal)
        raise
    if person.document_ciphertext is None:
        raise NotFound()
    record(session, actor, Action.REVEAL, "person", person.id, reason=reason)
    return cipher.decrypt(bytes(person.document_ciphertext))


# Why a reveal was refused, as the audit entry says it.
REVEAL_REFUSALS = ((Forbidden, "role"), (InvalidInput, "reason"), (NotFound, "scope"))


def _log_refused_reveal(
    session: Session, actor: UserAccount, person_id: int, reason: str, refusal: Exception
) -> None:
    """Audit a refused reveal in a transaction of its own: the refusal rolls the request
    back, the entry stays. An id that belongs to nobody is not logged, so the entry can
    never attach to a person created later under that id."""
    if isinstance(refusal, NotFound) and session.get(Person, person_id) is None:
        return
    with own_transaction(session) as own:
        record(
            own,
            actor,
            Action.REVEAL_REFUSED,
            "person",
            person_id,
            {"refused": next(why for kind, why in REVEAL_REFUSALS if isinstance(refusal, kind))},
            reason=reason or None,
        )


def may_correct(session: Session, actor: UserAccount, person_id: int, today: date) -> bool:
    """Whether every current tie of the person lies inside the actor's scope."""
    return (
        session.scalar(
            select(Person.id).where(Person.id == person_id, person_correctable_filter(actor, today))
        )
        is not None
    )


def correctable_in_scope(
    session: Session, actor: UserAccount, person_id: int, today: date
) -> Person:
    """A person the actor may correct; NotFound outside the scope, Forbidden when the
    person also lives, owns or rents somewhere the actor cannot see."""
    person = get_in_scope(session, actor, Person, person_id)
    if not may_correct(session, actor, person_id, today):
        raise Forbidden(
            _l(
                "This person also lives, owns or rents somewhere outside your scope: "
                "their details are corrected there."
            )
        )
    return person


def correct_person(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    person_id: int,
    data: PersonInput,
    seen_version: int,
    today: date,
) -> Person:
    """Correct a person's details; refuses a stale version; logs before and after (masked)."""
    person = correctable_in_scope(session, actor, person_id, today)
    clean = clean_person(data, today)
    old_number = (
        cipher.decrypt(bytes(person.document_ciphertext))
        if (person.document_ciphertext is not None)
        else None
    )
    check_version(
        person,
        seen_version,
        {
            "name": person.name,
            "document_type": str(person.document_type),
            "document_number": mask_document_number(old_number or ""),
            "phone": person.phone,
            "birth_date": person.birth_date,
        },
    )
    changes = {}
    for field, old, new in (
        ("name", person.name, clean.name),
        ("phone", person.phone, clean.phone),
        ("birth_date", person.birth_date, clean.birth_date),
    ):
        if old != new:
            changes[field] = [old, new]
            setattr(person, field, new)
    if old_number != clean.document_number or person.document_type != clean.document_type:
        holder = find_by_document(session, cipher, clean.document_type, clean.document_number)
        if holder is not None and holder.id != person.id:
            raise InvalidInput(
                fields={
                    "document_number": [
                        _l("Another person is registered with this document number")
                    ]
                }
            )
        changes["document"] = [
            mask_document_number(old_number or ""),
            mask_document_number(clean.document_number),
        ]
        person.document_type = clean.document_type
        person.document_ciphertext = cipher.encrypt(clean.document_number)
        person.document_index = cipher.blind_index(clean.document_type, clean.document_number)
    if changes:
        session.flush()
        record(session, actor, Action.UPDATE, "person", person.id, changes)
    return person
