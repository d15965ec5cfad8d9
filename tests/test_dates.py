"""One date format everywhere: what a lease accepts, a capacity rule and a move-in accept too."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import DEMO_TODAY, account

from registry.admin.services import RuleInput, add_capacity_rule
from registry.errors import InvalidInput
from registry.lease.term import clean_term
from registry.validators import ValidationErrors

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def full_width(day: date) -> str:
    """The date as a Chinese IME may type it: ２０２７－０１－０１."""
    return day.isoformat().translate(FULL_WIDTH)


def test_a_full_width_date_is_a_date_for_a_lease_and_a_capacity_rule(demo_session):
    day = DEMO_TODAY + timedelta(days=37)
    errors = ValidationErrors()
    start, end = clean_term(errors, full_width(day), f"{day.year + 1}年{day.month}月{day.day}日")
    assert not errors.errors and start == day and end.year == day.year + 1

    admin = account(demo_session, "admin")
    rule = add_capacity_rule(
        demo_session, admin, RuleInput("8", "3", full_width(day), "全角日期"), DEMO_TODAY
    )
    assert rule.valid_from.date() == day


@pytest.mark.parametrize("typed", ["2027-02-30", "2027W01", "明天"])
def test_a_capacity_rule_refuses_what_a_lease_refuses(demo_session, typed):
    errors = ValidationErrors()
    clean_term(errors, typed, "2028-01-01")
    assert errors.errors["starts_on"]
    with pytest.raises(InvalidInput) as caught:
        add_capacity_rule(
            demo_session, account(demo_session, "admin"), RuleInput("8", "3", typed), DEMO_TODAY
        )
    assert caught.value.details["fields"]["valid_from"]
