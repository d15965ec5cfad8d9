"""A lease's term: parsing, the rules on its length, and overlaps between filings."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import LazyString, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from registry.lease.models import LeaseFiling, LeaseStatus
from registry.validators import ValidationErrors, parse_date

MAX_TERM_YEARS = 20  # Civil Code art. 705: a lease term may not exceed twenty years


def shown_date(day: date) -> LazyString:
    """A date for a message, formatted in the reader's locale when the message is shown."""
    return LazyString(format_date, day)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def clean_term(errors: ValidationErrors, starts_raw: Any, ends_raw: Any):
    start = end = None
    with errors.collect():
        start = parse_date(starts_raw, "starts_on")
    with errors.collect():
        end = parse_date(ends_raw, "ends_on")
    if start is not None and end is not None:
        if end <= start:
            errors.add("ends_on", _l("The end date must be after the start date"))
        elif end > add_years(start, MAX_TERM_YEARS):
            errors.add("ends_on", _l("A lease term may not exceed 20 years"))
    return start, end


def is_in_force(filing: LeaseFiling, today: date) -> bool:
    return filing.status == LeaseStatus.FILED and filing.ends_on >= today


def overlapping_filing(
    session: Session, dwelling_id: int, start: date, end: date, exclude_id: int | None = None
) -> LeaseFiling | None:
    """Another filing of the dwelling whose term meets [start, end].

    A filing ended early covers its start up to the day it ended, so a new lease may begin
    that very day.
    """
    query = select(LeaseFiling).where(
        LeaseFiling.dwelling_id == dwelling_id,
        LeaseFiling.starts_on <= end,
        or_(
            and_(LeaseFiling.status == LeaseStatus.FILED, LeaseFiling.ends_on >= start),
            and_(LeaseFiling.status == LeaseStatus.ENDED_EARLY, LeaseFiling.ended_on > start),
        ),
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
        end=shown_date(other.ended_on or other.ends_on),
    )
