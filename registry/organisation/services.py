"""Organisations 实有单位: create and correct, inside the actor's scope, audited.

An organisation is identified by its Unified Social Credit Code; it sits at a standard
address that the actor can see, named by the address's code.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.address.models import Address
from registry.audit.services import Action, changed, record
from registry.edits import load_for_correction
from registry.errors import InvalidInput
from registry.organisation.models import Organisation, OrganisationKind
from registry.scope import address_filter, organisation_filter
from registry.validators import ValidationErrors, validate_credit_code, validate_name

NAME_MAX_LENGTH = 100
MAX_EMPLOYEES = 1_000_000


@dataclass(frozen=True)
class OrganisationInput:
    credit_code: Any
    name: Any
    kind: Any
    address_code: Any
    legal_representative: Any
    employee_count: Any = None


@dataclass(frozen=True)
class CleanOrganisation:
    credit_code: str
    name: str
    kind: OrganisationKind
    address_code: str
    legal_representative: str
    employee_count: int


def _organisation_name(value: Any) -> str:
    text = " ".join(unicodedata.normalize("NFC", str(value or "")).split())
    if not text:
        raise InvalidInput(fields={"name": [_l("This field is required")]})
    if len(text) > NAME_MAX_LENGTH:
        raise InvalidInput(
            fields={"name": [_l("At most %(maximum)s characters", maximum=NAME_MAX_LENGTH)]}
        )
    return text


def _employee_count(value: Any) -> int:
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    if not text:
        return 0
    if not text.isdigit():
        raise InvalidInput(fields={"employee_count": [_l("Enter a whole number, 0 or more")]})
    count = int(text)
    if count > MAX_EMPLOYEES:
        raise InvalidInput(
            fields={"employee_count": [_l("Must be at most %(maximum)s", maximum=MAX_EMPLOYEES)]}
        )
    return count


def clean_organisation(data: OrganisationInput) -> CleanOrganisation:
    """Every field checked at once, so the form shows all its errors together."""
    errors = ValidationErrors()
    values: dict[str, Any] = {}
    with errors.collect():
        values["credit_code"] = validate_credit_code(data.credit_code)
    for field, check in (("name", _organisation_name), ("employee_count", _employee_count)):
        try:
            values[field] = check(getattr(data, field))
        except InvalidInput as error:
            for message in error.details["fields"][field]:
                errors.add(field, message)
    try:
        values["kind"] = OrganisationKind(str(data.kind or ""))
    except ValueError:
        errors.add("kind", _l("Choose one of the listed values"))
    code = "".join(unicodedata.normalize("NFKC", str(data.address_code or "")).split())
    if not code:
        errors.add("address_code", _l("This field is required"))
    values["address_code"] = code
    with errors.collect():
        values["legal_representative"] = validate_name(
            data.legal_representative, field="legal_representative"
        )
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return CleanOrganisation(**values)


def organisation_values(organisation: Organisation) -> dict[str, Any]:
    """The organisation as its form fields hold it, for the conflict page and the log."""
    return {
        "credit_code": organisation.credit_code,
        "name": organisation.name,
        "kind": str(organisation.kind),
        "address_code": organisation.address.code if organisation.address else None,
        "legal_representative": organisation.legal_representative,
        "employee_count": organisation.employee_count,
    }


def _address_by_code(session: Session, actor: UserAccount, code: str) -> Address:
    address = session.scalar(select(Address).where(Address.code == code, address_filter(actor)))
    if address is None:
        raise InvalidInput(fields={"address_code": [_l("No address with this code in your area")]})
    return address


def _credit_code_taken(session: Session, code: str, other_than: int | None = None) -> bool:
    query = select(Organisation.id).where(Organisation.credit_code == code)
    if other_than is not None:
        query = query.where(Organisation.id != other_than)
    return session.scalar(query) is not None


def _taken_error() -> InvalidInput:
    return InvalidInput(
        fields={"credit_code": [_l("An organisation with this credit code is already registered")]}
    )


def _flush_unique(session: Session) -> None:
    savepoint = session.begin_nested()
    try:
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise _taken_error() from None
    savepoint.commit()


def create_organisation(
    session: Session, actor: UserAccount, data: OrganisationInput
) -> Organisation:
    """A new organisation at an address in scope; audited."""
    clean = clean_organisation(data)
    address = _address_by_code(session, actor, clean.address_code)
    if _credit_code_taken(session, clean.credit_code):
        raise _taken_error()
    organisation = Organisation(
        credit_code=clean.credit_code,
        name=clean.name,
        kind=clean.kind,
        address_id=address.id,
        legal_representative=clean.legal_representative,
        employee_count=clean.employee_count,
    )
    session.add(organisation)
    _flush_unique(session)
    record(
        session,
        actor,
        Action.CREATE,
        "organisation",
        organisation.id,
        {field: [None, value] for field, value in organisation_values(organisation).items()},
    )
    return organisation


def correct_organisation(
    session: Session,
    actor: UserAccount,
    organisation_id: int,
    data: OrganisationInput,
    seen_version: Any,
) -> Organisation:
    """Correct an organisation; a stale version is refused; before and after are logged."""
    organisation, before = load_for_correction(
        session, actor, Organisation, organisation_id, organisation_values, seen_version
    )
    clean = clean_organisation(data)
    address = _address_by_code(session, actor, clean.address_code)
    if _credit_code_taken(session, clean.credit_code, other_than=organisation.id):
        raise _taken_error()
    after = {
        "credit_code": clean.credit_code,
        "name": clean.name,
        "kind": str(clean.kind),
        "address_code": address.code,
        "legal_representative": clean.legal_representative,
        "employee_count": clean.employee_count,
    }
    changes = changed(before, after)
    if not changes:
        return organisation
    organisation.credit_code = clean.credit_code
    organisation.name = clean.name
    organisation.kind = clean.kind
    organisation.address_id = address.id
    organisation.address = address
    organisation.legal_representative = clean.legal_representative
    organisation.employee_count = clean.employee_count
    _flush_unique(session)
    record(session, actor, Action.UPDATE, "organisation", organisation.id, changes)
    return organisation


def search_organisations(
    session: Session, actor: UserAccount, query: str, limit: int = 30
) -> tuple[list[Organisation], bool]:
    """Organisations in scope by exact credit code or part of the name."""
    text = " ".join(unicodedata.normalize("NFKC", query or "").split())
    if not text:
        return [], False
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    matches = or_(
        Organisation.credit_code == text.upper(),
        Organisation.name.ilike(f"%{escaped}%", escape="\\"),
    )
    rows = list(
        session.scalars(
            select(Organisation)
            .where(matches, organisation_filter(actor))
            .order_by(Organisation.name, Organisation.id)
            .limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


def organisations_at(session: Session, actor: UserAccount, address_id: int) -> list[Organisation]:
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.address_id == address_id, organisation_filter(actor))
            .order_by(Organisation.name)
        )
    )
