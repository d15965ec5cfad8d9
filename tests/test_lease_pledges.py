"""The two pledges: the text in force, who may sign when, the stored signature."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import DEMO_TODAY, account
from lease_helpers import fields_of, landlord_signs
from sqlalchemy import func, select, text

from registry.errors import InvalidInput, NotFound
from registry.lease import pledges
from registry.lease.models import (
    PledgeDocument,
    PledgeKind,
    RentalPledge,
)


def test_the_text_in_force_is_signed_and_a_double_signature_refused(demo_session, cipher):
    worker = account(demo_session, "grid0001")
    filing_id = demo_session.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN dwelling d ON d.id = l.dwelling_id
        JOIN address a ON a.id = d.address_id
        JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
        JOIN user_account u ON u.id = w.user_id
        WHERE u.username = 'grid0001' AND l.status = 'filed' AND l.ends_on >= :d
        ORDER BY l.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    )
    newer = PledgeDocument(
        kind=PledgeKind.RENTAL_PLEDGE,
        version="2026.2",
        title="新承诺书",
        body="新文本",
        effective_from=DEMO_TODAY,
    )
    later = PledgeDocument(
        kind=PledgeKind.RENTAL_PLEDGE,
        version="2027.1",
        title="将来",
        body="将来文本",
        effective_from=DEMO_TODAY + timedelta(days=1),
    )
    demo_session.add_all([newer, later])
    demo_session.flush()
    context = pledges.signing_context(
        demo_session, worker, cipher, filing_id, "rental_pledge", DEMO_TODAY
    )
    assert context.document.id == newer.id and context.can_sign
    pledge = landlord_signs(demo_session, worker, cipher, filing_id)
    assert pledge.pledge_document_id == newer.id
    with pytest.raises(InvalidInput) as caught:
        landlord_signs(demo_session, worker, cipher, filing_id)
    assert "already signed" in str(fields_of(caught)["signer"][0])
    assert (
        demo_session.scalar(
            select(func.count()).where(
                RentalPledge.lease_filing_id == filing_id,
                RentalPledge.pledge_document_id == newer.id,
            )
        )
        == 1
    )


def test_an_expired_or_ended_filing_takes_no_signature(demo_session, cipher):
    manager = account(demo_session, "manager1")
    expired = demo_session.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        JOIN user_account u ON u.id = m.user_id
        WHERE u.username = 'manager1' AND l.ends_on < :d ORDER BY l.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    )
    context = pledges.signing_context(
        demo_session, manager, cipher, expired, "rental_pledge", DEMO_TODAY
    )
    assert context.problem is not None
    with pytest.raises(InvalidInput) as caught:
        landlord_signs(demo_session, manager, cipher, expired)
    assert "form" in fields_of(caught)


def test_demo_signatures_without_an_image_are_not_found(demo_session):
    manager = account(demo_session, "manager1")
    pledge_id = demo_session.scalar(
        text("""
        SELECT p.id FROM rental_pledge p JOIN lease_filing l ON l.id = p.lease_filing_id
        JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        WHERE m.user_id = :u ORDER BY p.id LIMIT 1"""),
        {"u": manager.id},
    )
    with pytest.raises(NotFound):
        pledges.signature_image(demo_session, manager, "rental_pledge", pledge_id)
    with pytest.raises(NotFound):
        pledges.signature_image(demo_session, manager, "no_such_kind", pledge_id)
