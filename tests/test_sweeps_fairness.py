"""Fairness of the weekly sweeps: who the people are must not change a single sweep list.

With tests/fairness.py (the flags' machinery, not copied here): plan every focus area's
sweep for next week with a fixed seed, permute the ID numbers' region and sex digits and
the residence kinds, run the flags again and plan again: every list (which places, why,
their rank, which day, the walking order and the rules to check) must come out the same. The
mutation check adds a rule biased on each forbidden fact in turn and must see a change.

The walking order comes from a time-limited search, whose result may vary with the load of
the machine, not with the data; the test routes by nearest neighbour and exact search only
(deterministic), so any difference can only come from what was planned.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from fairness import BIASED_RULES, SEED, load_person_facts, permute_identities, rerun_flags
from helpers import DEMO_TODAY
from sqlalchemy import select, text

from geo import route
from registry.flags.rules import RULES
from registry.grid.models import FocusArea
from registry.sweeps.planning import PlanRequest, plan_sweep

NEXT_WEEK = date(2026, 11, 30)  # 2026-W49; the demo's day is in W48
PLAN_SEED = 424242

STOPS = """
    SELECT w.focus_area_id, d.number, s.position, s.rank, s.address_id, s.dwelling_id,
           s.reason, s.checks
      FROM sweep_stop s JOIN sweep_day d ON d.id = s.day_id JOIN sweep w ON w.id = s.sweep_id
     WHERE w.week_start = :week
     ORDER BY 1, 2, 3"""


@pytest.fixture(autouse=True)
def deterministic_routes(monkeypatch):
    """No time-limited search: days longer than the exact search go nearest neighbour."""
    monkeypatch.setattr(route, "_or_tools", lambda matrix, time_limit_ms: None)


def sweep_lists(session, rules=RULES) -> list[tuple]:
    """Run the flags from scratch, plan every focus area's week, return every stop."""
    rerun_flags(session, DEMO_TODAY, rules)
    for area_id in session.scalars(select(FocusArea.id).order_by(FocusArea.id)):
        plan_sweep(session, None, PlanRequest(area_id, NEXT_WEEK, seed=PLAN_SEED), DEMO_TODAY)
    rows = session.execute(text(STOPS), {"week": NEXT_WEEK})
    # A check names its flag, whose id is new after the rerun: compare the rules checked.
    return [(*row[:-1], sorted(c["rule"] for c in row[-1])) for row in rows]


def test_permuting_region_and_sex_digits_and_residence_kind_changes_no_sweep_list(
    demo_session, cipher
):
    before = sweep_lists(demo_session)
    assert len(before) > 20
    assert {row[6] for row in before} == {"flag", "sample"}
    assert permute_identities(demo_session, cipher, random.Random(SEED)) > 1000
    assert sweep_lists(demo_session) == before


@pytest.mark.parametrize("fact", sorted(BIASED_RULES))
def test_a_rule_biased_on_a_forbidden_fact_changes_the_sweep_lists(demo_session, cipher, fact):
    rules = (*RULES, BIASED_RULES[fact])
    load_person_facts(demo_session, cipher)
    before = sweep_lists(demo_session, rules)
    permute_identities(demo_session, cipher, random.Random(SEED))
    load_person_facts(demo_session, cipher)
    assert sweep_lists(demo_session, rules) != before


def test_a_sample_biased_on_the_residence_kind_changes_the_sweep_lists(
    demo_session, cipher, monkeypatch
):
    """The sweeps' own choice: a sample that skips dwellings with a transient resident."""
    from registry.dwelling.models import Dwelling
    from registry.person.models import Residence, ResidenceKind
    from registry.sweeps import leads

    fair = leads.live_flag_addresses

    def biased(focus_area_id: int):
        transient = (
            select(Dwelling.address_id)
            .join(Residence, Residence.dwelling_id == Dwelling.id)
            .where(Residence.kind == ResidenceKind.TRANSIENT)
        )
        return fair(focus_area_id).union(transient)

    monkeypatch.setattr(leads, "live_flag_addresses", biased)
    before = sweep_lists(demo_session)
    permute_identities(demo_session, cipher, random.Random(SEED))
    assert sweep_lists(demo_session) != before
