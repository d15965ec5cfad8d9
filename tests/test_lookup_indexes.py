"""Look-ups meet their indexes: the query's expression is the index's, so the planner can
use it. Checked with sequential scans switched off (the small demo is small enough for the
planner to prefer them), which would fall back to a scan if the index could not serve.
The timings at district scale are in `registry bench search`, not here.
"""

from __future__ import annotations

import pytest
from helpers import DEMO_TODAY, account
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from registry.dashboard.services import find_people
from registry.dwelling.status import residence_is_current
from registry.errors import InvalidInput
from registry.person.lookup import name_matches, phone_contains
from registry.person.models import Person, Residence


def _plan(session, query) -> str:
    session.execute(text("SET LOCAL enable_seqscan = off"))
    sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")))


@pytest.mark.parametrize(
    ("condition", "index"),
    [
        (name_matches("王伟"), "ix_person_name_bigrams"),
        (name_matches("王伟明"), "ix_person_name_trgm"),
        (Person.phone == "13800000000", "ix_person_phone"),
        (phone_contains("0000"), "ix_person_phone_trgm"),
    ],
)
def test_person_look_ups_use_their_index(demo_session, condition, index):
    assert index in _plan(demo_session, select(Person.id).where(condition))


def test_living_there_today_is_read_from_the_current_residence_index(demo_session):
    # Without the plain index on dwelling_id (dropped in the test's transaction only), the
    # planner has the current-residence index, or nothing, to find a dwelling's people.
    demo_session.execute(text("DROP INDEX ix_residence_dwelling_id"))
    query = select(func.count()).where(Residence.dwelling_id == 1, residence_is_current(DEMO_TODAY))
    plan = _plan(demo_session, query)
    assert "using ix_residence_current" in plan
    assert "COALESCE(moved_out" in plan.split("Index Cond:")[1]  # searched, not filtered


def test_two_characters_are_found_anywhere_in_a_name(demo_session, cipher):
    officer = account(demo_session, "officer1")
    name = demo_session.scalar(
        select(Person.name).where(func.char_length(Person.name) == 3).order_by(Person.id).limit(1)
    )
    found = find_people(demo_session, officer, cipher, name[1:], DEMO_TODAY)
    assert found and all(name[1:] in hit.name for hit in found)
    assert name in {hit.name for hit in found} or len(found) == 50
    with pytest.raises(InvalidInput):
        find_people(demo_session, officer, cipher, name[0], DEMO_TODAY)
