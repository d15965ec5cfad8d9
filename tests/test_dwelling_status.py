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


def test_worst_status_of_a_building_puts_the_worst_problem_first(session):
    """Over capacity, then no current filing, a missing pledge, occupancy, then in order."""
    from sqlalchemy import column, select, values

    from registry.dwelling.status import Worst, worst_status

    names = (
        "dwellings",
        "over_capacity",
        "rented_without_filing",
        "pledges_missing",
        "occupancy_to_check",
    )
    rows = [
        (3, 1, 1, 1, 1),
        (3, 0, 1, 1, 1),
        (3, 0, 0, 1, 1),
        (3, 0, 0, 0, 1),
        (3, 0, 0, 0, 0),
        (0, 0, 0, 0, 0),
    ]
    counts = values(*(column(name) for name in names), name="counts").data(rows)
    found = session.scalars(select(worst_status(counts.c))).all()
    assert found == [
        Worst.OVER_CAPACITY,
        Worst.UNFILED,
        Worst.PLEDGE_MISSING,
        Worst.OCCUPANCY,
        Worst.IN_ORDER,
        Worst.NO_DWELLINGS,
    ]
