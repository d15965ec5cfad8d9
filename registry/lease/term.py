"""A lease's term: parsing, the rules on its length, its default length, overlaps.

The term itself is defined once, on the model (registry/lease/models.py): both days
included, ``[starts_on, ends_on]``, or ``[starts_on, ended_on]`` when ended early; the
exclusion constraint, ``filing_is_current`` and the checks here all use that definition.
A year's lease runs from a day to the day before the same date a year later.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import LazyString, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.constraints import refuse
from registry.lease.models import ONE_TERM_AT_A_TIME, LeaseFiling
from registry.validators import ValidationErrors, parse_date

MAX_TERM_YEARS = 20  # Civil Code art. 705: a lease term may not exceed twenty years

# Two filings of one dwelling whose terms share a day: what the database refuses when two
# requests pass the check below together. The check names the other filing; this cannot.
refuse(
    ONE_TERM_AT_A_TIME,
    "starts_on",
    _l("The term overlaps another filing of this dwelling: end that one early or renew it"),
)


def shown_date(day: date) -> LazyString:
    """A date for a message, formatted in the reader's locale when the message is shown."""
    return LazyString(format_date, day)


def last_day_of_term(first_day: date, years: int = 1) -> date:
    """The last day of a term of ``years`` years from ``first_day``: the day before the
    same date ``years`` later (2026-03-01 to 2027-02-28), since both days are included.

    A term from 29 February runs to 28 February: the anniversary is taken as 1 March.
    """
    try:
        anniversary = first_day.replace(year=first_day.year + years)
    except ValueError:  # 29 February, and the year it lands in has none
        anniversary = date(first_day.year + years, 3, 1)
    return anniversary - timedelta(days=1)


def clean_term(errors: ValidationErrors, starts_raw: Any, ends_raw: Any):
    start = end = None
    with errors.collect():
        start = parse_date(starts_raw, "starts_on")
    with errors.collect():
        end = parse_date(ends_raw, "ends_on")
    if start is not None and end is not None:
        if end <= start:
            errors.add("ends_on", _l("The end date must be after the start date"))
        elif end > last_day_of_term(start, MAX_TERM_YEARS):
            errors.add("ends_on", _l("A lease term may not exceed 20 years"))
    return start, end


def is_in_force(filing: LeaseFiling, today: date) -> bool:
    """Current, or filed for a term that has not begun yet: its last day is not past."""
    return filing.holds_term and filing.last_day >= today


def overlapping_filing(
    session: Session, dwelling_id: int, start: date, end: date, exclude_id: int | None = None
) -> LeaseFiling | None:
    """Another filing of the dwelling whose term shares a day with [start, end].

    A filing ended early holds its days up to and including the day it ended, so a new
    lease may begin the day after.
    """
    query = select(LeaseFiling).where(
        LeaseFiling.dwelling_id == dwelling_id, LeaseFiling.meets(start, end)
    )
    if exclude_id is not None:
        query = query.where(LeaseFiling.id != exclude_id)
    return session.scalars(query.order_by(LeaseFiling.starts_on).limit(1)).first()


def overlap_message(other: LeaseFiling):
    return _l(
        "The term overlaps filing %(number)s (%(start)s to %(end)s): end that one early or "
        "renew it",
        number=other.filing_number,
        start=shown_date(other.starts_on),
        end=shown_date(other.last_day),
    )
