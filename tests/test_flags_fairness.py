"""Fairness: who the people are must not change a single flag.

The schema holds the facts that no rule may use as the ID number's region digits (where a
card was issued) and sex digit, and as the residence kind (registered / transient). On the
demo district this test permutes them at random (recomputing the check character,
re-encrypting and re-indexing every number) and checks that the flags come out exactly the
same. A mutation check proves the test can fail: a deliberately biased rule added here, on
each of those facts in turn, makes the outputs differ.

The outputs compared are listed in ``OUTPUTS``: the weekly sweeps add their plans there, so
the same permutation checks them too.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest
from helpers import DEMO_TODAY
from sqlalchemy import column, delete, func, literal, select, table, text, true
from sqlalchemy.orm import Session
from stdnum.cn import ric

from registry.dwelling.models import Dwelling
from registry.dwelling.status import residence_is_current
from registry.flags.models import Flag, FlagEvent
from registry.flags.rules import RULES, Basis, Rule, RuleConfig, RunContext
from registry.flags.run import run_rules
from registry.person.identity import IdentityCipher
from registry.person.models import Person, Residence, ResidenceKind
from registry.validators import DocumentType

SEED = 20261125
# Real region codes of several provinces: a permuted number stays a valid resident ID.
REGIONS = ("110101", "310104", "420106", "440106", "510104", "610113", "650102", "230102")


# -- what is compared ----------------------------------------------------------------------


def flag_outputs(session: Session, rules) -> set:
    """Run the rules from scratch and return every flag as comparable data."""
    session.execute(delete(FlagEvent))
    session.execute(delete(Flag))
    run_rules(session, DEMO_TODAY, rules=rules)
    rows = session.execute(
        select(Flag.rule, Flag.address_id, Flag.dwelling_id, Flag.state, Flag.fact_key, Flag.facts)
    ).all()
    return {(*row[:5], json.dumps(row[5], sort_keys=True)) for row in rows}


# The weekly sweeps add their plan here (same signature: session, rules -> comparable data).
OUTPUTS: list[Callable[[Session, tuple], object]] = [flag_outputs]


def outputs(session: Session, rules=RULES) -> list:
    return [output(session, tuple(rules)) for output in OUTPUTS]


# -- the permutation -----------------------------------------------------------------------


def permute_identities(session: Session, cipher: IdentityCipher, rng: random.Random) -> int:
    """Give every resident ID another region and sex digit (valid check character,
    re-encrypted, re-indexed) and every residence a random kind; how many numbers changed."""
    people = session.execute(
        select(Person.id, Person.document_ciphertext).where(
            Person.document_type == DocumentType.RESIDENT_ID,
            Person.document_ciphertext.is_not(None),
        )
    ).all()
    changed = 0
    for person_id, blob in people:
        number = cipher.decrypt(bytes(blob))
        body = rng.choice(REGIONS) + number[6:16] + str(rng.randrange(10))
        new = body + ric.calc_check_digit(body + "0")
        if new == number:
            continue
        index = cipher.blind_index(DocumentType.RESIDENT_ID, new)
        taken = session.scalar(select(Person.id).where(Person.document_index == index))
        if taken is not None:
            continue  # another person holds that number: keep this one as it was
        session.execute(
            Person.__table__.update()
            .where(Person.id == person_id)
            .values(document_ciphertext=cipher.encrypt(new), document_index=index)
        )
        changed += 1
    session.execute(
        text("UPDATE residence SET kind = CASE WHEN random() < 0.5 THEN :a ELSE :b END"),
        {"a": ResidenceKind.REGISTERED.value, "b": ResidenceKind.TRANSIENT.value},
    )
    return changed


# -- deliberately biased rules, for the mutation check -------------------------------------

person_fact = table("person_fact", column("person_id"), column("region"), column("sex"))


def load_person_facts(session: Session, cipher: IdentityCipher) -> None:
    """What a biased rule would read: each person's region and sex digits (a temp table)."""
    session.execute(
        text("CREATE TEMP TABLE IF NOT EXISTS person_fact (person_id int, region text, sex int)")
    )
    session.execute(text("TRUNCATE person_fact"))
    rows = []
    for person_id, blob in session.execute(
        select(Person.id, Person.document_ciphertext).where(
            Person.document_type == DocumentType.RESIDENT_ID,
            Person.document_ciphertext.is_not(None),
        )
    ):
        number = cipher.decrypt(bytes(blob))
        rows.append({"p": person_id, "r": number[:6], "s": int(number[16]) % 2})
    session.execute(text("INSERT INTO person_fact VALUES (:p, :r, :s)"), rows)


def _biased(code: str, condition) -> Rule:
    """A rule flagging dwellings where someone living there today meets ``condition``."""

    def evaluate(ctx: RunContext, config: RuleConfig):
        return (
            select(
                Dwelling.address_id,
                Dwelling.id.label("dwelling_id"),
                true().label("holds"),
                literal("biased").label("fact_key"),
                func.jsonb_build_object("why", "biased").label("facts"),
            )
            .join(Residence, Residence.dwelling_id == Dwelling.id)
            .join(person_fact, person_fact.c.person_id == Residence.person_id, isouter=True)
            .where(residence_is_current(ctx.today), condition)
            .group_by(Dwelling.address_id, Dwelling.id)
        )

    return Rule(code, code, code, Basis.FACTS, 1, evaluate, uses_dwelling_facts=False)


BIASED_RULES = {
    "region digits": _biased("biased_region", person_fact.c.region.like("42%")),
    "sex digit": _biased("biased_sex", person_fact.c.sex == 0),
    "residence kind": _biased("biased_kind", Residence.kind == ResidenceKind.TRANSIENT),
}


# -- the tests -----------------------------------------------------------------------------


def test_permuting_region_and_sex_digits_and_residence_kind_changes_no_flag(demo_session, cipher):
    before = outputs(demo_session)
    assert len(before[0]) > 100  # the demo raises many flags of several rules
    changed = permute_identities(demo_session, cipher, random.Random(SEED))
    assert changed > 1000
    assert outputs(demo_session) == before


@pytest.mark.parametrize("fact", sorted(BIASED_RULES))
def test_a_rule_biased_on_a_forbidden_fact_makes_the_check_fail(demo_session, cipher, fact):
    rules = (*RULES, BIASED_RULES[fact])
    load_person_facts(demo_session, cipher)
    before = outputs(demo_session, rules)
    permute_identities(demo_session, cipher, random.Random(SEED))
    load_person_facts(demo_session, cipher)
    assert outputs(demo_session, rules) != before
