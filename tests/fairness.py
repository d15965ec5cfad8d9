"""Fairness machinery: permute the facts no rule may use, and rules that do use them.

DOMAIN.md forbids any rule, score, sort or choice of whom to visit from using place of
origin (the ID number's region digits), sex (the ID number's sex digit) or the residence
kind (registered / transient). The schema holds exactly those facts, so a fairness test:

1. computes its outputs on the demo district (the flags, a week's sweep lists, …);
2. calls :func:`permute_identities`: every resident ID number gets another real region code
   and another sex digit, with its check character recomputed (python-stdnum), re-encrypted
   and re-indexed; every residence gets a random kind;
3. computes the outputs again (run the rules again first) and asserts they are identical.

A test that cannot fail is a defect, so each fairness test also runs a mutation check: the
same steps with one of :data:`BIASED_RULES` added to the catalogue (after
:func:`load_person_facts`, which a biased rule reads) must change the outputs.

Used by tests/test_flags_fairness.py; the weekly sweeps check their lists the same way.
"""

from __future__ import annotations

import json
import random

from sqlalchemy import bindparam, column, delete, func, literal, select, table, text, true
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


# -- the flags as comparable data -----------------------------------------------------------


def rerun_flags(session: Session, today, rules=RULES) -> None:
    """Forget every flag and run ``rules`` from scratch, so no history steers the result."""
    session.execute(delete(FlagEvent))
    session.execute(delete(Flag))
    run_rules(session, today, rules=tuple(rules))


def flag_outputs(session: Session, today, rules=RULES) -> set[tuple]:
    """Run the rules from scratch and return every flag (rule, place, state, facts)."""
    rerun_flags(session, today, rules)
    rows = session.execute(
        select(Flag.rule, Flag.address_id, Flag.dwelling_id, Flag.state, Flag.fact_key, Flag.facts)
    ).all()
    return {(*row[:5], json.dumps(row[5], sort_keys=True)) for row in rows}


# -- the permutation -------------------------------------------------------------------------


def _resident_ids(session: Session, cipher: IdentityCipher) -> list[tuple[int, str]]:
    """(person id, plain resident ID number) of everyone who has one."""
    rows = session.execute(
        select(Person.id, Person.document_ciphertext).where(
            Person.document_type == DocumentType.RESIDENT_ID,
            Person.document_ciphertext.is_not(None),
        )
    ).all()
    return [(person_id, cipher.decrypt(bytes(blob))) for person_id, blob in rows]


def permuted_number(number: str, rng: random.Random) -> str:
    """``number`` with a random real region code and sex digit, and a valid check character."""
    body = rng.choice(REGIONS) + number[6:16] + str(rng.randrange(10))
    return body + ric.calc_check_digit(body + "0")


def permute_identities(session: Session, cipher: IdentityCipher, rng: random.Random) -> int:
    """Give every resident ID another region and sex digit (re-encrypted, re-indexed) and
    every residence a random kind; return how many numbers changed.

    A new number that another person holds (or held before this call) is skipped, so the
    unique look-up index never sees a duplicate, whatever order the rows are updated in.
    """
    taken = set(
        session.scalars(select(Person.document_index).where(Person.document_index.is_not(None)))
    )
    updates = []
    for person_id, number in _resident_ids(session, cipher):
        new = permuted_number(number, rng)
        index = cipher.blind_index(DocumentType.RESIDENT_ID, new)
        if new == number or index in taken:
            continue
        taken.add(index)
        updates.append({"pid": person_id, "blob": cipher.encrypt(new), "idx": index})
    if updates:
        session.connection().execute(
            Person.__table__.update()
            .where(Person.__table__.c.id == bindparam("pid"))
            .values(document_ciphertext=bindparam("blob"), document_index=bindparam("idx")),
            updates,
        )
    # One statement; the salt makes the kinds follow ``rng``, so a seed reproduces them.
    session.execute(
        text(
            "UPDATE residence SET kind = CASE WHEN get_byte(decode(md5(id::text || :salt),"
            " 'hex'), 0) % 2 = 0 THEN :a ELSE :b END"
        ),
        {
            "salt": str(rng.random()),
            "a": ResidenceKind.REGISTERED.value,
            "b": ResidenceKind.TRANSIENT.value,
        },
    )
    session.expire_all()
    return len(updates)


# -- deliberately biased rules, for the mutation check ---------------------------------------

person_fact = table("person_fact", column("person_id"), column("region"), column("sex"))


def load_person_facts(session: Session, cipher: IdentityCipher) -> None:
    """What a biased rule reads: each person's region and sex digits (a temp table).

    Load it again after :func:`permute_identities`, as a rule reading the ID numbers would.
    """
    session.execute(
        text("CREATE TEMP TABLE IF NOT EXISTS person_fact (person_id int, region text, sex int)")
    )
    session.execute(text("TRUNCATE person_fact"))
    rows = [
        {"p": person_id, "r": number[:6], "s": int(number[16]) % 2}
        for person_id, number in _resident_ids(session, cipher)
    ]
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


# Priority 1 (highest), so a biased rule also moves its dwellings up any list by priority.
BIASED_RULES: dict[str, Rule] = {
    "region digits": _biased("biased_region", person_fact.c.region.like("42%")),
    "sex digit": _biased("biased_sex", person_fact.c.sex == 0),
    "residence kind": _biased("biased_kind", Residence.kind == ResidenceKind.TRANSIENT),
}
