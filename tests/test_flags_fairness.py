"""Fairness: who the people are must not change a single flag.

The schema holds the facts that no rule may use as the ID number's region digits (where a
card was issued) and sex digit, and as the residence kind (registered / transient). On the
demo district this test permutes them at random (tests/fairness.py: the check character
recomputed, every number re-encrypted and re-indexed) and checks that the flags come out
exactly the same. A mutation check proves the test can fail: a deliberately biased rule
added here, on each of those facts in turn, makes the flags differ.
"""

from __future__ import annotations

import random

import pytest
from fairness import (
    BIASED_RULES,
    SEED,
    flag_outputs,
    load_person_facts,
    permute_identities,
    permuted_number,
)
from helpers import DEMO_TODAY

from registry.flags.rules import RULES
from registry.validators import validate_resident_id


def test_a_permuted_number_is_a_valid_resident_id_with_the_same_birth_date():
    rng = random.Random(SEED)
    number = "42010619600101123X"
    seen = {permuted_number(number, rng) for _ in range(200)}
    assert all(validate_resident_id(new, today=DEMO_TODAY) == new for new in seen)
    assert {new[6:16] for new in seen} == {number[6:16]}
    assert len({new[:6] for new in seen}) > 3 and len({new[16] for new in seen}) > 5


def test_permuting_region_and_sex_digits_and_residence_kind_changes_no_flag(demo_session, cipher):
    before = flag_outputs(demo_session, DEMO_TODAY)
    assert len(before) > 100  # the demo raises many flags of several rules
    assert len({row[0] for row in before}) >= 5
    changed = permute_identities(demo_session, cipher, random.Random(SEED))
    assert changed > 1000
    assert flag_outputs(demo_session, DEMO_TODAY) == before


@pytest.mark.parametrize("fact", sorted(BIASED_RULES))
def test_a_rule_biased_on_a_forbidden_fact_makes_the_check_fail(demo_session, cipher, fact):
    rules = (*RULES, BIASED_RULES[fact])
    load_person_facts(demo_session, cipher)
    before = flag_outputs(demo_session, DEMO_TODAY, rules)
    permute_identities(demo_session, cipher, random.Random(SEED))
    load_person_facts(demo_session, cipher)
    assert flag_outputs(demo_session, DEMO_TODAY, rules) != before
