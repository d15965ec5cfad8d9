"""Running the rules: one SQL statement raises, updates and resolves every flag at once.

The statement evaluates every rule that is switched on (registry/flags/rules.py) over the
whole district, or over the few addresses a change touched, and then, in the same
statement (data-modifying CTEs, one snapshot):

- raises a flag where a rule holds, no flag of the rule is live at the place, and the
  newest flag there was not closed by a person on the same fact key (no nagging);
- updates the facts of an open or in-review flag whose rule still holds on other facts;
- resolves an open or in-review flag of a fact rule whose facts no longer hold, or whose
  rule was switched off, recorded as decided by the system with the facts before and after;
- writes a ``flag_event`` for each of these steps.

Concurrent runs cannot raise two live flags for one rule and place: the partial unique
index ``uq_flag_one_live_per_rule_and_place`` decides, and the loser's insert does nothing.
A full run also takes an advisory lock, so two nightly runs queue instead of racing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session, aliased

from registry.address.models import Address
from registry.dwelling.models import Dwelling
from registry.flags.models import (
    LIVE_STATES,
    SELF_RESOLVING_STATES,
    Flag,
    FlagEvent,
    FlagEventKind,
    FlagState,
)
from registry.flags.rules import (
    RULES,
    RUN_ADDRESSES,
    Basis,
    Rule,
    RuleConfig,
    RunContext,
    dwelling_facts_select,
)
from registry.flags.rules import rules_in_force as _rules_in_force

# Arbitrary constant naming the lock that serialises full rule runs.
FULL_RUN_LOCK = 7_310_452_014


@dataclass(frozen=True)
class RunResult:
    """What one run changed."""

    raised: int = 0
    updated: int = 0
    resolved: int = 0
    withdrawn: int = 0  # resolved because the rule was switched off

    def __add__(self, other: RunResult) -> RunResult:
        return RunResult(
            self.raised + other.raised,
            self.updated + other.updated,
            self.resolved + other.resolved,
            self.withdrawn + other.withdrawn,
        )


def evaluated_select(ctx: RunContext, configs: dict[str, RuleConfig]):
    """Every running rule's rows (rule, address_id, dwelling_id, holds, fact_key, facts,
    rule_version_id) as one UNION ALL; the dwelling facts are computed once (a CTE)."""
    running = [config for config in configs.values() if config.runs]
    if any(config.rule.uses_dwelling_facts for config in running):
        ctx.dwelling_facts = (
            dwelling_facts_select(ctx).cte("dwelling_facts").prefix_with("MATERIALIZED")
        )
    branches = []
    for config in running:
        rows = config.rule.evaluate(ctx, config).subquery(f"rule_{config.rule.code}")
        branches.append(
            select(
                cast(literal(str(config.rule.code)), Flag.rule.type).label("rule"),
                rows.c.address_id,
                rows.c.dwelling_id,
                rows.c.holds,
                rows.c.fact_key,
                rows.c.facts,
                cast(literal(config.version_id), Integer).label("rule_version_id"),
            )
        )
    if not branches:
        branches.append(
            select(
                cast(null(), String).label("rule"),
                cast(null(), Integer).label("address_id"),
                cast(null(), Integer).label("dwelling_id"),
                false().label("holds"),
                cast(null(), String).label("fact_key"),
                cast(null(), JSONB).label("facts"),
                cast(null(), Integer).label("rule_version_id"),
            ).where(false())
        )
    return union_all(*branches) if len(branches) > 1 else branches[0]


def _rule_codes(configs: dict[str, RuleConfig], *, running: bool) -> list[str]:
    """The fact rules that run (or that are switched off): those whose flags resolve."""
    return [
        code
        for code, config in configs.items()
        if config.rule.basis == Basis.FACTS and config.runs == running
    ]


def run_statement(ctx: RunContext, configs: dict[str, RuleConfig]):
    """The one statement of a run; it returns (raised, updated, resolved, withdrawn)."""
    evaluated = evaluated_select(ctx, configs).cte("evaluated").prefix_with("MATERIALIZED")
    live = (
        select(Flag.id, Flag.rule, Flag.address_id, Flag.state, Flag.fact_key, Flag.facts)
        .where(Flag.state.in_(LIVE_STATES), ctx.only(Flag.address_id))
        .cte("live")
    )
    at_live = and_(evaluated.c.rule == live.c.rule, evaluated.c.address_id == live.c.address_id)

    # Raise: where the rule holds, nothing of it is live, and no person closed its newest
    # flag here on the same fact key.
    closed, newer = aliased(Flag), aliased(Flag)
    closed_by_person = (
        select(closed.id)
        .where(
            closed.rule == evaluated.c.rule,
            closed.address_id == evaluated.c.address_id,
            closed.fact_key == evaluated.c.fact_key,
            closed.state.in_((FlagState.DISMISSED, FlagState.RESOLVED)),
            closed.decided_by_id.is_not(None),
            ~exists().where(
                newer.rule == closed.rule,
                newer.address_id == closed.address_id,
                newer.id > closed.id,
            ),
        )
        .exists()
    )
    to_raise = select(
        evaluated.c.rule,
        evaluated.c.address_id,
        evaluated.c.dwelling_id,
        evaluated.c.fact_key,
        evaluated.c.facts,
        evaluated.c.rule_version_id,
        literal(ctx.today).label("raised_on"),
    ).where(evaluated.c.holds, ~select(live.c.id).where(at_live).exists(), ~closed_by_person)
    raised = (
        insert(Flag)
        .from_select(
            ["rule", "address_id", "dwelling_id", "fact_key", "facts", "rule_version_id"]
            + ["raised_on"],
            to_raise,
        )
        .on_conflict_do_nothing()
        .returning(Flag.id, Flag.facts)
        .cte("raised")
    )

    # Update: an open or in-review flag whose rule holds on other facts keeps its place in
    # the queue and shows the new facts.
    updated = (
        update(Flag)
        .where(
            Flag.id == live.c.id,
            at_live,
            evaluated.c.holds,
            Flag.state.in_(SELF_RESOLVING_STATES),
            live.c.fact_key != evaluated.c.fact_key,
        )
        .values(
            fact_key=evaluated.c.fact_key,
            facts=evaluated.c.facts,
            version=Flag.version + 1,
            updated_at=func.now(),
        )
        .returning(
            Flag.id,
            live.c.state.label("was"),
            live.c.facts.label("before"),
            evaluated.c.facts.label("after"),
        )
        .cte("updated")
    )

    # Resolve: a fact rule's open or in-review flag whose facts no longer hold, or whose
    # rule is switched off. Report rules' flags and confirmed flags wait for a person.
    running, switched_off = _rule_codes(configs, running=True), _rule_codes(configs, running=False)
    holds_still = select(evaluated.c.rule).where(at_live, evaluated.c.holds).exists()
    facts_now = select(evaluated.c.facts).where(at_live).limit(1).scalar_subquery()
    off = live.c.rule.in_(switched_off) if switched_off else false()
    resolved = (
        update(Flag)
        .where(
            Flag.id == live.c.id,
            Flag.state.in_(SELF_RESOLVING_STATES),
            or_(and_(live.c.rule.in_(running), ~holds_still) if running else false(), off),
        )
        .values(
            state=FlagState.RESOLVED,
            decided_at=func.now(),
            decided_by_id=None,
            decision_reason=None,
            version=Flag.version + 1,
            updated_at=func.now(),
        )
        .returning(
            Flag.id,
            live.c.state.label("was"),
            live.c.facts.label("before"),
            case((off, null()), else_=facts_now).label("after"),
            off.label("off"),
        )
        .cte("resolved")
    )

    events = (
        insert(FlagEvent)
        .from_select(
            ["flag_id", "kind", "from_state", "to_state", "facts_before", "facts_after"]
            + ["occurred_on"],
            union_all(
                select(
                    raised.c.id,
                    literal(FlagEventKind.RAISED.value),
                    cast(null(), String),
                    literal(FlagState.OPEN.value),
                    cast(null(), JSONB),
                    raised.c.facts,
                    literal(ctx.today),
                ),
                select(
                    updated.c.id,
                    literal(FlagEventKind.FACTS_UPDATED.value),
                    updated.c.was,
                    updated.c.was,
                    updated.c.before,
                    updated.c.after,
                    literal(ctx.today),
                ),
                select(
                    resolved.c.id,
                    case(
                        (resolved.c.off, FlagEventKind.RULE_OFF.value),
                        else_=FlagEventKind.NO_LONGER_HOLDS.value,
                    ),
                    resolved.c.was,
                    literal(FlagState.RESOLVED.value),
                    resolved.c.before,
                    resolved.c.after,
                    literal(ctx.today),
                ),
            ),
        )
        .returning(FlagEvent.id)
        .cte("events")
    )

    def count(cte, *where):
        return select(func.count()).select_from(cte).where(*where).scalar_subquery()

    return select(
        count(raised),
        count(updated),
        count(resolved, ~resolved.c.off),
        count(resolved, resolved.c.off),
        count(events),
    )


def _expire_flags(session: Session) -> None:
    """Flags loaded in the session may have been changed by the statement: reload them."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Flag):
            session.expire(instance)


_STATEMENTS: dict[tuple, Any] = {}
_STATEMENTS_KEPT = 32


def _statement_for(today: date, configs: dict[str, RuleConfig], whole_district: bool):
    """The run's statement, built once per day, settings and kind of run.

    Building it takes a good part of a rerun's time; after a change to a dwelling the
    same statement (for today's settings) runs again with other addresses bound.
    """
    key = (
        today,
        whole_district,
        tuple(
            (
                id(config.rule),
                config.enabled,
                config.priority,
                config.version_id,
                tuple(sorted(config.values.items())),
            )
            for config in configs.values()
        ),
    )
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) >= _STATEMENTS_KEPT:
            _STATEMENTS.clear()
        ctx = RunContext(today, configs, whole_district)
        statement = _STATEMENTS[key] = run_statement(ctx, configs)
    return statement


def run_rules(
    session: Session,
    today: date,
    *,
    address_ids: Sequence[int] | None = None,
    rules: Sequence[Rule] = RULES,
) -> RunResult:
    """Run every rule that is switched on, over the district or over ``address_ids``.

    ``rules`` is the catalogue to run (tests add a rule of their own).
    """
    if address_ids is not None and not address_ids:
        return RunResult()
    session.flush()
    whole_district = address_ids is None
    if whole_district:
        session.execute(select(func.pg_advisory_xact_lock(FULL_RUN_LOCK)))
    configs = _rules_in_force(session, today, rules)
    statement = _statement_for(today, configs, whole_district)
    parameters = {} if whole_district else {RUN_ADDRESSES: sorted(set(address_ids))}
    raised, updated, resolved, withdrawn, _events = session.execute(statement, parameters).one()
    _expire_flags(session)
    return RunResult(raised, updated, resolved, withdrawn)


def addresses_of(session: Session, dwelling_ids: Iterable[int]) -> list[int]:
    """The addresses of these dwellings (a flag's place)."""
    ids = sorted({i for i in dwelling_ids if i is not None})
    if not ids:
        return []
    return list(session.scalars(select(Dwelling.address_id).where(Dwelling.id.in_(ids))))


def building_addresses(session: Session, address_ids: Iterable[int]) -> list[int]:
    """These addresses and every address of their buildings (for whole-building rules)."""
    ids = sorted(set(address_ids))
    if not ids:
        return []
    building = func.coalesce(Address.parent_id, Address.id)
    buildings = select(building).where(Address.id.in_(ids))
    return list(
        session.scalars(select(Address.id).where(or_(Address.id.in_(ids), building.in_(buildings))))
    )
