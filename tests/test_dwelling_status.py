"""Status at a glance, computed in SQL, checked against the demo district's facts."""

from helpers import DEMO_TODAY
from sqlalchemy import select, text

from registry.dwelling.models import Dwelling
from registry.dwelling.status import current_rule, dwelling_status, legal_capacity


def _statuses(session):
    query = dwelling_status(select(Dwelling.id, Dwelling.occupancy), Dwelling, DEMO_TODAY)
    return {row.id: row for row in session.execute(query)}


def test_status_columns_agree_with_plain_sql(demo_session):
    statuses = _statuses(demo_session)
    current = dict(
        demo_session.execute(
            text("""
        SELECT dwelling_id, max(id) FROM lease_filing
        WHERE status = 'filed' AND starts_on <= :d AND ends_on >= :d GROUP BY dwelling_id
    """),
            {"d": DEMO_TODAY},
        ).all()
    )
    occupants = dict(
        demo_session.execute(
            text("""
        SELECT dwelling_id, count(*) FROM residence
        WHERE moved_in <= :d AND (moved_out IS NULL OR moved_out > :d) GROUP BY dwelling_id
    """),
            {"d": DEMO_TODAY},
        ).all()
    )
    for dwelling_id, row in statuses.items():
        assert (row.current_filing_id is not None) == (dwelling_id in current)
        assert row.occupants_now == occupants.get(dwelling_id, 0)
    with_filing = [r for r in statuses.values() if r.current_filing_id]
    assert any(not (r.rental_pledge and r.security_guarantee) for r in with_filing)
    assert any(r.rental_pledge and r.security_guarantee for r in with_filing)


def test_pledge_flags_follow_the_current_filing_of_that_dwelling(demo_session):
    row = next(r for r in _statuses(demo_session).values() if r.current_filing_id)
    pledges = demo_session.execute(
        text("SELECT EXISTS (SELECT 1 FROM rental_pledge WHERE lease_filing_id = :f)"),
        {"f": row.current_filing_id},
    ).scalar_one()
    assert row.rental_pledge == pledges


def test_legal_capacity_takes_the_stricter_of_area_and_rooms(demo_session):
    rule = current_rule(demo_session, DEMO_TODAY)
    assert legal_capacity(60, 1, rule) == 2  # 12 by area, 2 by rooms
    assert legal_capacity(12, 3, rule) == 2  # 2 by area, 6 by rooms
    assert legal_capacity(50, 2, None) is None
