"""ISO weeks (``2026-W48``): a sweep's week runs from its Monday to its Sunday."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from registry.validators import FieldError

_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


def parse_week(value: Any, field: str = "week") -> date:
    """The Monday of an ISO week written ``2026-W48`` (``2026W48`` and ``2026-w48`` too)."""
    match = _WEEK.match(str(value or ""))
    if not match:
        raise FieldError(field, _l("Write the week as year-W-number, e.g. 2026-W48"))
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise FieldError(field, _l("That year has no such week")) from None


def week_label(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def week_end(monday: date) -> date:
    return monday + timedelta(days=6)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
