"""Tenants on a filing, taken from the dwelling's residents."""

from __future__ import annotations

import pytest
from helpers import DEMO_TODAY, account
from sqlalchemy import func, select

from registry.errors import NotFound
from registry.lease import filings, overview, tenants
from registry.lease.models import (
    LeaseTenant,
)


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
