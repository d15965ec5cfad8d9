"""Filing a lease on its own: rent and term rules, people on the lease, filing numbers, roles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from helpers import DEMO_TODAY, account, rented_unfiled_dwelling, resident_id_number
from lease_helpers import fields_of, landlord_signs, lease
from sqlalchemy import func, select, text

from registry.errors import Forbidden, InvalidInput
from registry.lease import filings
from registry.lease.models import (
    LeaseFiling,
)
from registry.person.models import Person
from registry.person.services import PersonInput
from registry.validators import FieldError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2500", Decimal("2500.00")),
        ("１，２００．５", Decimal("1200.50")),
        ("0", Decimal("0.00")),
        ("¥3,000", Decimal("3000.00")),
        (Decimal("12.3"), Decimal("12.30")),
    ],
)
def test_rent_is_normalised(raw, expected):
    assert filings.validate_rent(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "required"),
        ("abc", "Enter a number"),
        ("-1", "cannot be negative"),
        ("12.345", "two decimal places"),
        ("1e12", "at most"),
        ("NaN", "Enter a number"),
    ],
)
def test_bad_rent_is_refused(raw, message):
    with pytest.raises(FieldError) as caught:
        filings.validate_rent(raw)
    assert message in str(caught.value.message)


# -- on the demo district ------------------------------------------------------------------


def test_a_known_document_under_another_name_is_refused(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    someone = demo_session.scalars(
        select(Person).where(Person.document_type == "resident_id").limit(1)
    ).one()
    number = cipher.decrypt(bytes(someone.document_ciphertext))
    wrong = PersonInput("不是这个人", "resident_id", number)
    with pytest.raises(InvalidInput) as caught:
        filings.file_lease(demo_session, manager, cipher, dwelling_id, lease([wrong]), DEMO_TODAY)
    assert "tenants-0-name" in fields_of(caught)
    people = demo_session.scalar(select(func.count()).select_from(Person))
    right = PersonInput(someone.name, "resident_id", number)
    filing = filings.file_lease(
        demo_session, manager, cipher, dwelling_id, lease([right]), DEMO_TODAY
    )
    assert [t.person_id for t in filing.tenancies] == [someone.id]
    assert demo_session.scalar(select(func.count()).select_from(Person)) == people


def test_term_rules(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "111"))
    for overrides, field, message in (
        ({"ends_on": "2047-11-02"}, "ends_on", "20 years"),
        ({"ends_on": "2026-11-01"}, "ends_on", "after the start"),
        ({"starts_on": "2026-02-30"}, "starts_on", "Not a valid date"),
        ({"starts_on": ""}, "starts_on", "required"),
        ({"landlord_choice": "previous"}, "landlord_choice", "Choose the landlord"),
    ):
        with pytest.raises(InvalidInput) as caught:
            filings.file_lease(
                demo_session, manager, cipher, dwelling_id, lease([tenant], **overrides), DEMO_TODAY
            )
        assert message in str(fields_of(caught)[field][0]), overrides
    filing = filings.file_lease(
        demo_session,
        manager,
        cipher,
        dwelling_id,
        lease([tenant], ends_on="2046-10-31"),
        DEMO_TODAY,
    )
    assert filing.ends_on == date(2046, 10, 31)


def test_filing_numbers_are_unique_and_follow_the_district(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "112"))
    first = filings.file_lease(
        demo_session, manager, cipher, dwelling_id, lease([tenant]), DEMO_TODAY
    )
    second = filings.file_lease(
        demo_session,
        manager,
        cipher,
        dwelling_id,
        lease([tenant], starts_on="2027-11-01", ends_on="2028-10-31"),
        DEMO_TODAY,
    )
    assert first.filing_number != second.filing_number
    assert first.filing_number.startswith("420199-")
    assert (
        demo_session.scalar(
            select(func.count()).where(LeaseFiling.filing_number == first.filing_number)
        )
        == 1
    )


def test_managers_and_grid_workers_file_and_sign_officers_and_admins_do_neither(
    demo_session, cipher
):
    """Grid workers file on the landlord's behalf, but only in their own cells."""
    from registry.errors import NotFound

    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "113"))
    for username in ("officer1", "admin"):
        with pytest.raises(Forbidden):
            filings.file_lease(
                demo_session,
                account(demo_session, username),
                cipher,
                1,
                lease([tenant]),
                DEMO_TODAY,
            )
    outside = demo_session.scalar(
        text(
            "SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id"
            " WHERE a.grid_cell_id <> 1 ORDER BY d.id LIMIT 1"
        )
    )
    with pytest.raises(NotFound):
        filings.file_lease(
            demo_session,
            account(demo_session, "grid0001"),
            cipher,
            outside,
            lease([tenant]),
            DEMO_TODAY,
        )
    filing_id = demo_session.scalar(select(LeaseFiling.id).limit(1))
    for username in ("officer1", "admin"):
        with pytest.raises(Forbidden):
            landlord_signs(demo_session, account(demo_session, username), cipher, filing_id)


def test_a_cancelled_filing_is_never_current_nor_expired_and_keeps_its_pledges(
    demo_session, cipher
):
    """The current-filing status and the expired flag ignore a cancelled filing; the pledge
    signed on it stays as its history."""
    from datetime import timedelta

    from registry.dwelling.models import Dwelling
    from registry.dwelling.status import current_filing_id, dwelling_status
    from registry.lease.models import LeaseStatus, RentalPledge

    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "113"))
    start = DEMO_TODAY + timedelta(days=5)
    filing = filings.file_lease(
        demo_session,
        manager,
        cipher,
        dwelling_id,
        lease([tenant], starts_on=start.isoformat(), ends_on="2027-12-31"),
        DEMO_TODAY,
    )
    landlord_signs(demo_session, manager, cipher, filing.id)
    filings.cancel_filing(
        demo_session, manager, filing.id, "租客未入住", filing.version, DEMO_TODAY
    )
    assert filing.status == LeaseStatus.CANCELLED

    def status_on(day):
        query = dwelling_status(
            select(Dwelling.id).where(Dwelling.id == dwelling_id), Dwelling, day
        )
        return demo_session.execute(query).one()

    inside, after = start + timedelta(days=30), date(2028, 2, 1)
    assert status_on(inside).current_filing_id is None
    assert status_on(after).has_expired_filing is False
    assert (
        demo_session.scalar(
            select(current_filing_id(Dwelling.id, inside)).where(Dwelling.id == dwelling_id)
        )
        is None
    )
    pledges_kept = demo_session.scalar(
        select(func.count()).where(RentalPledge.lease_filing_id == filing.id)
    )
    assert pledges_kept == 1


def test_only_a_filing_not_begun_can_be_cancelled_and_only_with_a_reason(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "114"))
    begun = filings.file_lease(
        demo_session, manager, cipher, dwelling_id, lease([tenant]), DEMO_TODAY
    )
    with pytest.raises(InvalidInput) as caught:
        filings.cancel_filing(demo_session, manager, begun.id, "x", begun.version, DEMO_TODAY)
    assert "has not begun" in str(fields_of(caught)["reason"][0])
    with pytest.raises(InvalidInput) as caught:
        filings.cancel_filing(demo_session, manager, begun.id, "", begun.version, date(2026, 10, 1))
    assert "Say why" in str(fields_of(caught)["reason"][0])
