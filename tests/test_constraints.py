"""The race harness and the constraint-to-message translation, on a table of their own."""

from __future__ import annotations

import pytest
from flask_babel import lazy_gettext as _l
from race import race
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from registry.constraints import checked, refuse
from registry.errors import InvalidInput


def _make_table(factory, unique: bool) -> None:
    constraint = ", CONSTRAINT uq_race_probe_x UNIQUE (x)" if unique else ""
    with factory() as session:
        session.execute(text(f"CREATE TABLE race_probe (x integer{constraint})"))
        session.commit()


def _insert_once(session) -> None:
    """Check, then insert: the pattern that a constraint, not the check, must guard."""
    taken = session.scalar(text("SELECT count(*) FROM race_probe WHERE x = 1"))
    if not taken:
        session.execute(text("INSERT INTO race_probe VALUES (1)"))


def _rows(factory) -> int:
    with factory() as session:
        return session.scalar(text("SELECT count(*) FROM race_probe"))


def test_without_a_constraint_both_racers_pass_the_check_and_both_rows_land(race_sessions):
    _make_table(race_sessions, unique=False)
    first, second = race(race_sessions, _insert_once)
    assert first.succeeded and second.succeeded
    assert _rows(race_sessions) == 2


def test_with_a_constraint_the_second_racer_waits_and_is_refused(race_sessions):
    _make_table(race_sessions, unique=True)
    first, second = race(race_sessions, _insert_once)
    assert first.succeeded
    assert isinstance(second.error, IntegrityError)
    assert _rows(race_sessions) == 1


def test_checked_turns_a_registered_violation_into_its_field_message(race_sessions):
    _make_table(race_sessions, unique=True)
    refuse("uq_race_probe_x", "x", _l("Already there"))
    with race_sessions() as session:
        session.execute(text("INSERT INTO race_probe VALUES (1)"))
        with pytest.raises(InvalidInput) as refused, checked(session):
            session.execute(text("INSERT INTO race_probe VALUES (1)"))
        assert list(refused.value.details["fields"]) == ["x"]
        assert str(refused.value.details["fields"]["x"][0]) == "Already there"
        # The savepoint kept the transaction usable: the first row is still there.
        assert session.scalar(text("SELECT count(*) FROM race_probe")) == 1
