"""One date format everywhere: what a lease accepts, rule settings and a move-in accept too."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import DEMO_TODAY, account

from registry.errors import InvalidInput
from registry.flags.models import RuleCode
from registry.flags.settings import RuleSettingsInput, newest_version, save_rule_version
from registry.lease.term import clean_term
from registry.validators import ValidationErrors

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def capacity_settings(session, valid_from: str):
    """Save new capacity thresholds from ``valid_from`` (as typed) on."""
    return save_rule_version(
        session,
        account(session, "admin"),
        RuleCode.OVER_CAPACITY,
        RuleSettingsInput(
            enabled="y",
            priority="1",
            values={"min_floor_area_per_person": "8", "max_people_per_room": "3", "band": "3"},
            valid_from=valid_from,
            note="全角日期",
        ),
        newest_version(session, RuleCode.OVER_CAPACITY).id,
        DEMO_TODAY,
    ).version


def full_width(day: date) -> str:
    """The date as a Chinese IME may type it: ２０２７－０１－０１."""
    return day.isoformat().translate(FULL_WIDTH)


def test_a_full_width_date_is_a_date_for_a_lease_and_rule_settings(demo_session):
    day = DEMO_TODAY + timedelta(days=37)
    errors = ValidationErrors()
    start, end = clean_term(errors, full_width(day), f"{day.year + 1}年{day.month}月{day.day}日")
    assert not errors.errors and start == day and end.year == day.year + 1

    version = capacity_settings(demo_session, full_width(day))
    assert version.valid_from.date() == day


@pytest.mark.parametrize("typed", ["2027-02-30", "2027W01", "明天"])
def test_rule_settings_refuse_what_a_lease_refuses(demo_session, typed):
    errors = ValidationErrors()
    clean_term(errors, typed, "2028-01-01")
    assert errors.errors["starts_on"]
    with pytest.raises(InvalidInput) as caught:
        capacity_settings(demo_session, typed)
    assert caught.value.details["fields"]["valid_from"]
