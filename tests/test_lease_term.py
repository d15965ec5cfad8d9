"""One definition of a lease's term, everywhere: both days included, ended early or not.

The model's hybrids (SQL and Python), ``filing_is_current``, the overlap check, "in force",
the form's and the renewal's defaults and the demo all agree on it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import DEMO_TODAY, account, rented_unfiled_dwelling, resident_id_number
from lease_helpers import fields_of, lease, shown_in
from sqlalchemy import select

from registry.dwelling.status import filing_is_current
from registry.errors import InvalidInput
from registry.lease import filings
from registry.lease.models import LeaseFiling, LeaseStatus
from registry.lease.term import MAX_TERM_YEARS, clean_term, is_in_force, last_day_of_term
from registry.person.services import PersonInput
from registry.validators import ValidationErrors


@pytest.mark.parametrize(
    ("first", "years", "last"),
    [
        (date(2026, 11, 25), 1, date(2027, 11, 24)),
        (date(2026, 3, 1), 1, date(2027, 2, 28)),
        (date(2027, 3, 1), 1, date(2028, 2, 29)),
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 28)),
        (date(2026, 1, 1), 2, date(2027, 12, 31)),
    ],
)
def test_a_year_runs_to_the_day_before_the_same_date(first, years, last):
    assert last_day_of_term(first, years) == last


def test_the_longest_term_is_twenty_years_with_both_days_counted():
    start = date(2026, 11, 1)
    longest = last_day_of_term(start, MAX_TERM_YEARS)
    for end, refused in ((longest, False), (longest + timedelta(days=1), True)):
        errors = ValidationErrors()
        clean_term(errors, start, end)
        assert ("ends_on" in errors.errors) is refused, end


def _filing(**values) -> LeaseFiling:
    values.setdefault("status", LeaseStatus.FILED)
    return LeaseFiling(**values)


def test_a_term_covers_its_first_and_last_day_and_an_early_end_is_its_last_day():
    full = _filing(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    assert full.last_day == date(2026, 12, 31)
    assert [full.covers(d) for d in (date(2025, 12, 31), date(2026, 1, 1))] == [False, True]
    assert [full.covers(d) for d in (date(2026, 12, 31), date(2027, 1, 1))] == [True, False]
    ended = _filing(
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        ended_on=date(2026, 6, 30),
        status=LeaseStatus.ENDED_EARLY,
    )
    assert ended.last_day == date(2026, 6, 30)
    assert ended.covers(date(2026, 6, 30)) and not ended.covers(date(2026, 7, 1))
    assert ended.meets(date(2026, 6, 30), date(2026, 7, 30))
    assert not ended.meets(date(2026, 7, 1), date(2026, 7, 30))
    assert is_in_force(ended, date(2026, 6, 30)) and not is_in_force(ended, date(2026, 7, 1))
    cancelled = _filing(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), status="cancelled")
    assert not cancelled.covers(date(2026, 6, 1))


def test_filing_is_current_in_sql_agrees_with_the_python_twin(demo_session):
    """Over every demo filing and the days around its ends, one ended early among them."""
    filing = demo_session.scalars(
        select(LeaseFiling).where(filing_is_current(DEMO_TODAY)).order_by(LeaseFiling.id).limit(1)
    ).one()
    filing.status, filing.ended_on = LeaseStatus.ENDED_EARLY, filing.starts_on + timedelta(days=3)
    demo_session.flush()
    every = demo_session.scalars(select(LeaseFiling)).all()
    days = {DEMO_TODAY}
    days |= {f.starts_on + timedelta(days=shift) for f in every[:50] for shift in (-1, 0)}
    days |= {f.last_day + timedelta(days=shift) for f in every[:50] for shift in (0, 1)}
    for day in sorted(days):
        in_sql = set(
            demo_session.scalars(select(LeaseFiling.id).where(filing_is_current(day))).all()
        )
        assert in_sql == {f.id for f in every if f.covers(day)}, day


def _new_tenant(suffix: str) -> PersonInput:
    return PersonInput("期限", "resident_id", resident_id_number("19900101", suffix))


def test_a_new_lease_starts_the_day_after_an_early_end_not_on_it(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    first = filings.file_lease(
        demo_session,
        manager,
        cipher,
        dwelling_id,
        lease([_new_tenant("131")], starts_on="2026-01-01", ends_on="2026-12-31"),
        DEMO_TODAY,
    )
    filings.end_lease_early(
        demo_session, manager, first.id, "2026-06-30", first.version, DEMO_TODAY
    )
    with pytest.raises(InvalidInput) as caught:
        filings.file_lease(
            demo_session,
            manager,
            cipher,
            dwelling_id,
            lease([_new_tenant("132")], starts_on="2026-06-30", ends_on="2027-06-29"),
            DEMO_TODAY,
        )
    assert first.filing_number in shown_in("en", fields_of(caught)["starts_on"][0])
    second = filings.file_lease(
        demo_session,
        manager,
        cipher,
        dwelling_id,
        lease([_new_tenant("132")], starts_on="2026-07-01", ends_on="2027-06-30"),
        DEMO_TODAY,
    )
    assert second.starts_on == first.last_day + timedelta(days=1)


def test_a_renewal_follows_the_last_day_and_lasts_as_long_as_a_new_filing(demo_session):
    filing = demo_session.scalars(
        select(LeaseFiling).where(filing_is_current(DEMO_TODAY)).order_by(LeaseFiling.id).limit(1)
    ).one()
    defaults = filings.renewal_defaults(filing)
    assert defaults["starts_on"] == filing.last_day + timedelta(days=1)
    assert defaults["ends_on"] == last_day_of_term(defaults["starts_on"])
    filing.status, filing.ended_on = LeaseStatus.ENDED_EARLY, filing.starts_on + timedelta(days=3)
    assert filings.renewal_defaults(filing)["starts_on"] == filing.ended_on + timedelta(days=1)


def test_demo_terms_are_whole_years_by_the_same_rule(demo_session):
    terms = demo_session.execute(select(LeaseFiling.starts_on, LeaseFiling.ends_on)).all()
    assert terms
    for starts_on, ends_on in terms:
        assert ends_on in (last_day_of_term(starts_on, 1), last_day_of_term(starts_on, 2))
