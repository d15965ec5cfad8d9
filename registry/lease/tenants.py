"""Tenants on a filing: added from a document or from the dwelling's residents, removed
by closing ``removed_on`` so the history stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.audit.services import Action, record
from registry.dwelling.status import residence_is_current
from registry.errors import InvalidInput, NotFound
from registry.flags.hooks import rechecks_flags
from registry.lease.changes import (
    FILING_ROLES,
    check_filing_version,
    filing_for_change,
    require_editable,
    require_role,
    touch,
)
from registry.lease.models import LeaseFiling, LeaseTenant
from registry.lease.people import ShownPerson, clean_person_into
from registry.person.identity import IdentityCipher
from registry.person.models import Residence
from registry.person.services import PersonInput, resolve_person
from registry.scope import get_in_scope
from registry.validators import ValidationErrors


@dataclass(frozen=True)
class ShownTenancy:
    id: int
    tenant: ShownPerson
    added_on: date
    removed_on: date | None


def add_tenancy(
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


@rechecks_flags
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
    filing = filing_for_change(session, actor, filing_id, seen_version)
    require_editable(filing, today)
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
        entered = person or PersonInput("", "", "")
        matched = clean_person_into(errors, session, actor, cipher, entered, "", today)
        if matched is not None:
            _clean, existing = matched
            if existing is not None and existing.id in current:
                errors.add("document_number", _l("This person is already a tenant on this lease"))
        if errors.errors:
            raise InvalidInput(fields=errors.errors)
        person_id = resolve_person(session, actor, cipher, entered, today).id
    if person_id in current:
        raise InvalidInput(fields={"form": [_l("This person is already a tenant on this lease")]})
    tenancy = add_tenancy(session, actor, filing, person_id, max(today, filing.starts_on))
    touch(filing)
    session.flush()
    return tenancy


@rechecks_flags
def remove_tenant(
    session: Session,
    actor: UserAccount,
    filing_id: int,
    tenancy_id: int,
    seen_version: Any,
    today: date,
) -> LeaseTenant:
    """Close a tenancy (``removed_on``); the row stays as history."""
    require_role(actor, FILING_ROLES)
    filing = get_in_scope(session, actor, LeaseFiling, filing_id)
    tenancy = session.scalar(
        select(LeaseTenant).where(
            LeaseTenant.id == tenancy_id, LeaseTenant.lease_filing_id == filing.id
        )
    )
    if tenancy is None:
        raise NotFound()
    check_filing_version(session, filing, seen_version)
    require_editable(filing, today)
    if tenancy.removed_on is not None:
        raise InvalidInput(fields={"form": [_l("This tenant was already removed")]})
    day = max(today, tenancy.added_on)
    tenancy.removed_on = day
    touch(filing)
    session.flush()
    record(session, actor, Action.UPDATE, "lease_tenant", tenancy.id, {"removed_on": [None, day]})
    return tenancy
