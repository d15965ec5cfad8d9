"""The people on a lease: how its pages show them and how its forms enter them.

Every person a page shows is an audited view (PIPL); a document already on record under
another name is refused rather than silently attached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.audit.services import Action, record
from registry.errors import InvalidInput
from registry.person.identity import IdentityCipher
from registry.person.models import Person
from registry.person.services import PersonInput, masked_document, match_person
from registry.validators import ValidationErrors


@dataclass(frozen=True)
class ShownPerson:
    person_id: int
    name: str
    document: str  # masked
    document_type: Any


def shown_person(cipher: IdentityCipher, person: Person) -> ShownPerson:
    return ShownPerson(
        person.id, person.name, masked_document(cipher, person), person.document_type
    )


def audit_person_views(session: Session, actor: UserAccount, people: Sequence[ShownPerson]) -> None:
    """Every person a page shows is a view of that person's record (PIPL)."""
    for person_id in dict.fromkeys(p.person_id for p in people):
        record(session, actor, Action.VIEW, "person", person_id)


def is_blank(person: PersonInput) -> bool:
    return not any(
        (str(getattr(person, name) or "").strip())
        for name in ("name", "document_number", "phone", "birth_date")
    )


def clean_person_into(
    errors: ValidationErrors,
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    data: PersonInput,
    prefix: str,
    today: date,
):
    """Check one person against the records into ``errors`` under ``prefix``.

    (clean details, the holder of the document or None), or None when refused. A document
    on record under another name is refused (``match_person``): attaching that record
    silently would put the wrong person on the lease.
    """
    try:
        return match_person(session, actor, cipher, data, today, prefix)
    except InvalidInput as error:
        for name, messages in error.details.get("fields", {}).items():
            for message in messages:
                errors.add(name, message)
        return None
