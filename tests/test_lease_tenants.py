"""Tenants on a filing, taken from the dwelling's residents or entered by document."""

from __future__ import annotations

import pytest
from helpers import DEMO_TODAY, account, audit_entries
from sqlalchemy import func, select

from registry.errors import InvalidInput, NotFound
from registry.lease import filings, overview, tenants
from registry.lease.models import (
    LeaseTenant,
)
from registry.person.models import Person
from registry.person.services import PersonInput


def test_resident_tenant_is_added_from_the_dwelling(demo_session, cipher):
    manager = account(demo_session, "manager1")
    row = next(
        r
        for r in overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
        if r.tenants_not_on_lease
    )
    shown = filings.view_filing(demo_session, manager, cipher, row.current_filing_id, DEMO_TODAY)
    resident = shown.residents_not_on_lease[0]
    filing = shown.filing
    tenants.add_tenant(
        demo_session,
        manager,
        cipher,
        filing.id,
        filing.version,
        DEMO_TODAY,
        resident_person_id=resident.person_id,
    )
    assert (
        demo_session.scalar(
            select(func.count()).where(
                LeaseTenant.lease_filing_id == filing.id,
                LeaseTenant.person_id == resident.person_id,
            )
        )
        == 1
    )
    with pytest.raises(NotFound):  # someone who does not live there
        tenants.add_tenant(
            demo_session,
            manager,
            cipher,
            filing.id,
            filing.version,
            DEMO_TODAY,
            resident_person_id=shown.landlord.person_id + 10**7,
        )


def test_a_tenant_entered_by_document_must_carry_the_holders_name(demo_session, cipher):
    """The lease's tenant goes through resolve_person: wrong names refused and audited."""
    manager = account(demo_session, "manager1")
    row = next(
        r
        for r in overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
        if r.current_filing_id
    )
    filing = filings.view_filing(
        demo_session, manager, cipher, row.current_filing_id, DEMO_TODAY
    ).filing
    stranger = demo_session.scalar(
        select(Person)
        .where(
            Person.document_type == "resident_id",
            Person.id.not_in(
                select(LeaseTenant.person_id).where(LeaseTenant.lease_filing_id == filing.id)
            ),
        )
        .order_by(Person.id.desc())
    )
    number = cipher.decrypt(bytes(stranger.document_ciphertext))

    def add(name):
        return tenants.add_tenant(
            demo_session,
            manager,
            cipher,
            filing.id,
            filing.version,
            DEMO_TODAY,
            person=PersonInput(name, "resident_id", number),
        )

    with pytest.raises(InvalidInput) as refused:
        add("随便编的")
    assert list(refused.value.details["fields"]) == ["name"]
    assert stranger.name not in str(refused.value.details["fields"]["name"][0])
    assert [e.action for e in audit_entries(demo_session, "person", stranger.id)] == [
        "name_mismatch"
    ]
    tenancy = add(f"  {stranger.name}  ")  # the same name, spaced as typed
    assert tenancy.person_id == stranger.id
