"""Flags as people see and decide them: lists, a flag's page, decisions with reasons.

Officers (and administrators) review and decide; grid workers see the live flags of their
cells ("needs attention") and fix the records, which resolves fact flags by itself.
Property managers and landlords see no flags. Every read is limited to the flags whose
place (address) is in the user's scope, and one outside it is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased, joinedload

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address, Road
from registry.audit.services import Action, record
from registry.dwelling.models import Dwelling
from registry.edits import check_version
from registry.errors import InvalidInput, NotFound
from registry.flags.models import (
    LIVE_STATES,
    PRIORITY_LOWEST,
    SELF_RESOLVING_STATES,
    TRANSITIONS,
    Flag,
    FlagEvent,
    FlagEventKind,
    FlagState,
)
from registry.flags.rules import RuleConfig, priority_table, rules_in_force
from registry.flags.run import building_addresses, run_rules
from registry.grid.models import GridCell
from registry.scope import address_filter, grid_cell_filter

REASON_LENGTH = 2000
DECIDING_ROLES = (Role.POLICE_OFFICER, Role.ADMIN)
VIEWING_ROLES = (Role.POLICE_OFFICER, Role.ADMIN, Role.GRID_WORKER)


class StateFilter:
    """The state choices of the officers' list (besides each single state)."""

    TO_DECIDE = "to_decide"  # open or in review: the default
    LIVE = "live"  # open, in review or confirmed
    ALL = "all"


STATE_GROUPS: dict[str, tuple[FlagState, ...]] = {
    StateFilter.TO_DECIDE: SELF_RESOLVING_STATES,
    StateFilter.LIVE: LIVE_STATES,
    **{str(state): (state,) for state in FlagState},
}
STATE_CHOICES = (
    StateFilter.TO_DECIDE,
    StateFilter.LIVE,
    *(str(state) for state in FlagState),
    StateFilter.ALL,
)
AGE_CHOICES = (0, 7, 30, 90)  # "raised at least N days ago"


@dataclass(frozen=True)
class FlagFilters:
    """The officers' list filters, already checked (see :func:`clean_filters`)."""

    cell_id: int | None = None
    building_id: int | None = None  # a building (door-level address): its flags and its rooms'
    rule: str | None = None
    state: str = StateFilter.TO_DECIDE
    min_age_days: int = 0


@dataclass(frozen=True)
class FlagRow:
    """One flag in a list, with its place and its rule's settings."""

    flag: Flag
    address: Address
    config: RuleConfig | None
    age_days: int


@dataclass
class Place:
    """A dwelling (or a whole building) with its live flags, for the worker's list."""

    address: Address
    dwelling_id: int | None
    flags: list[FlagRow] = field(default_factory=list)


def require_role(actor: UserAccount, roles) -> None:
    if actor.role not in roles:
        raise NotFound()


def _scoped(actor: UserAccount, query: Select) -> Select:
    """``query`` (over Flag) joined to the flag's address and limited to the actor's scope."""
    return (
        query.select_from(Flag)
        .join(Address, Address.id == Flag.address_id)
        .where(address_filter(actor))
    )


def clean_filters(args: dict[str, Any], configs: dict[str, RuleConfig]) -> FlagFilters:
    """The list's filters from the query string; unknown values fall back to the default."""
    cell = str(args.get("cell") or "")
    building = str(args.get("building") or "")
    rule = str(args.get("rule") or "")
    state = str(args.get("state") or StateFilter.TO_DECIDE)
    try:
        age = int(str(args.get("age") or 0))
    except ValueError:
        age = 0
    return FlagFilters(
        cell_id=int(cell) if cell.isdigit() and len(cell) < 10 else None,
        building_id=int(building) if building.isdigit() and len(building) < 10 else None,
        rule=rule if rule in configs else None,
        state=state if state in STATE_GROUPS or state == StateFilter.ALL else StateFilter.TO_DECIDE,
        min_age_days=age if age in AGE_CHOICES else 0,
    )


def list_flags(
    session: Session,
    actor: UserAccount,
    filters: FlagFilters,
    today: date,
    page: int,
    per_page: int,
) -> tuple[list[FlagRow], int]:
    """One page of the flags in scope, highest priority first, then the oldest."""
    require_role(actor, DECIDING_ROLES)
    configs = rules_in_force(session, today)
    where = []
    if filters.cell_id is not None:
        where.append(Address.grid_cell_id == filters.cell_id)
    if filters.building_id is not None:
        where.append(
            or_(Address.id == filters.building_id, Address.parent_id == filters.building_id)
        )
    if filters.rule is not None:
        where.append(Flag.rule == filters.rule)
    if filters.state != StateFilter.ALL:
        where.append(Flag.state.in_(STATE_GROUPS[filters.state]))
    if filters.min_age_days:
        where.append(Flag.raised_on <= today - timedelta(days=filters.min_age_days))
    base = _scoped(actor, select(Flag.id)).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    priority = priority_table(configs)
    query = (
        _scoped(actor, select(Flag, Address))
        .where(*where)
        .outerjoin(priority, priority.c.rule == Flag.rule)
        .options(joinedload(Address.road))
        .order_by(priority.c.priority.nulls_last(), Flag.raised_at, Flag.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    rows = [
        FlagRow(flag, address, configs.get(flag.rule), (today - flag.raised_on).days)
        for flag, address in session.execute(query)
    ]
    return rows, total


def cells_for_filter(session: Session, actor: UserAccount) -> list[GridCell]:
    """The grid cells an officer may filter the list by."""
    return list(
        session.scalars(select(GridCell).where(grid_cell_filter(actor)).order_by(GridCell.code))
    )


def get_flag(session: Session, actor: UserAccount, flag_id: int) -> Flag:
    """A flag whose place is in the actor's scope; NotFound otherwise."""
    require_role(actor, VIEWING_ROLES)
    flag = session.scalar(_scoped(actor, select(Flag)).where(Flag.id == flag_id))
    if flag is None:
        raise NotFound()
    return flag


def flag_history(session: Session, flag: Flag) -> list[FlagEvent]:
    return list(
        session.scalars(
            select(FlagEvent)
            .where(FlagEvent.flag_id == flag.id)
            .options(joinedload(FlagEvent.actor))
            .order_by(FlagEvent.id)
        )
    )


def flag_values(flag: Flag) -> dict[str, Any]:
    """The flag's decision as the decision form holds it (for the conflict page)."""
    return {"state": str(flag.state), "reason": flag.decision_reason or ""}


def decide_flag(
    session: Session,
    actor: UserAccount,
    flag_id: int,
    to_state: Any,
    reason: Any,
    seen_version: Any,
    today: date,
) -> Flag:
    """Move a flag one step on (see the diagram in registry/flags/models.py), with a reason.

    A version seen before another decision (a colleague's, or the system resolving it) is
    a conflict, never an overwrite. Resolving a confirmed case runs the rules of its
    building again: the recent-case rule may now flag it or its neighbours.
    """
    require_role(actor, DECIDING_ROLES)
    flag = get_flag(session, actor, flag_id)
    check_version(flag, seen_version, flag_values(flag))
    errors: dict[str, list] = {}
    try:
        target = FlagState(str(to_state or ""))
    except ValueError:
        target = None
    if target is None or target not in TRANSITIONS[flag.state]:
        errors["state"] = [_l("This step is not possible for this flag now")]
    text = str(reason or "").strip()
    if not text:
        errors["reason"] = [_l("Give the reason for this decision")]
    elif len(text) > REASON_LENGTH:
        errors["reason"] = [_l("At most %(maximum)s characters", maximum=REASON_LENGTH)]
    if errors:
        raise InvalidInput(fields=errors)
    before = flag.state
    flag.state = target
    flag.decided_by_id = actor.id
    flag.decided_at = func.now()
    flag.decision_reason = text
    session.add(
        FlagEvent(
            flag_id=flag.id,
            kind=FlagEventKind.DECIDED,
            from_state=before,
            to_state=target,
            actor_id=actor.id,
            reason=text,
            occurred_on=today,
        )
    )
    session.flush()
    record(session, actor, Action.UPDATE, "flag", flag.id, {"state": [before, target]}, reason=text)
    if target == FlagState.RESOLVED:
        run_rules(session, today, address_ids=building_addresses(session, [flag.address_id]))
    session.refresh(flag)
    return flag


# -- where flags are seen ------------------------------------------------------------------


def _building_of(address: Address) -> int:
    return address.parent_id or address.id


def flags_at(
    session: Session, actor: UserAccount, address: Address, today: date, *, live_only: bool = True
) -> list[FlagRow]:
    """The flags shown on a dwelling's (or a building's) page: its own, and those of its
    building's whole-building flags. ``address`` must be in scope already."""
    require_role(actor, VIEWING_ROLES)
    configs = rules_in_force(session, today)
    building = _building_of(address)
    place = or_(
        Flag.address_id == address.id,
        and_(Flag.address_id == building, Flag.dwelling_id.is_(None)),
    )
    query = _scoped(actor, select(Flag, Address)).where(place).order_by(Flag.raised_at.desc())
    if live_only:
        query = query.where(Flag.state.in_(LIVE_STATES))
    return [
        FlagRow(flag, row_address, configs.get(flag.rule), (today - flag.raised_on).days)
        for flag, row_address in session.execute(query)
    ]


def needing_attention(
    session: Session,
    actor: UserAccount,
    cell_id: int,
    today: date,
    page: int,
    per_page: int,
) -> tuple[list[Place], int]:
    """The grid worker's "needs attention": the places of a cell with live flags, the
    highest priority first, then the oldest flag; each with its live flags."""
    require_role(actor, VIEWING_ROLES)
    configs = rules_in_force(session, today)
    priority = priority_table(configs)
    live = _scoped(actor, select(Flag.address_id)).where(
        Flag.state.in_(LIVE_STATES), Address.grid_cell_id == cell_id
    )
    places = (
        live.outerjoin(priority, priority.c.rule == Flag.rule)
        .group_by(Flag.address_id)
        .add_columns(
            func.min(priority.c.priority).label("top"), func.min(Flag.raised_at).label("first")
        )
        .subquery("places")
    )
    total = session.scalar(select(func.count()).select_from(places)) or 0
    page_of = (
        select(places.c.address_id)
        .order_by(places.c.top.nulls_last(), places.c.first, places.c.address_id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    ids = list(session.scalars(page_of))
    if not ids:
        return [], total
    here = aliased(Address)
    rows = session.execute(
        select(Flag, here, Dwelling.id)
        .join(here, here.id == Flag.address_id)
        .outerjoin(Dwelling, Dwelling.address_id == here.id)
        .join(Road, Road.id == here.road_id)
        .where(Flag.address_id.in_(ids), Flag.state.in_(LIVE_STATES))
        .order_by(Flag.raised_at)
    ).all()
    by_place: dict[int, Place] = {}
    for flag, address, dwelling_id in rows:
        place = by_place.setdefault(address.id, Place(address, dwelling_id))
        place.flags.append(
            FlagRow(flag, address, configs.get(flag.rule), (today - flag.raised_on).days)
        )
    for place in by_place.values():
        place.flags.sort(key=lambda row: (row.config.priority if row.config else 99,))
    return [by_place[i] for i in ids if i in by_place], total


def live_flag_count(session: Session, actor: UserAccount, cell_ids: list[int]) -> dict[int, int]:
    """Per grid cell: how many places have a live flag (the "needs attention" count)."""
    if not cell_ids or actor.role not in VIEWING_ROLES:
        return {}
    rows = session.execute(
        _scoped(actor, select(Address.grid_cell_id, func.count(Flag.address_id.distinct())))
        .where(Flag.state.in_(LIVE_STATES), Address.grid_cell_id.in_(cell_ids))
        .group_by(Address.grid_cell_id)
    )
    return {cell: count for cell, count in rows}


def live_flags_by_cell(
    session: Session, actor: UserAccount, cell_ids: list[int] | None = None
) -> dict[int, int]:
    """Per grid cell in scope: how many live flags (open, in review or confirmed) stand on
    its places, counted now from the flags themselves: the map's "open flags" measure.

    Unlike :func:`live_flag_count` (places needing attention), every flag counts, so a
    dwelling with two leads weighs twice.
    """
    if actor.role not in VIEWING_ROLES or cell_ids == []:
        return {}
    query = _scoped(actor, select(Address.grid_cell_id, func.count(Flag.id))).where(
        Flag.state.in_(LIVE_STATES), Address.grid_cell_id.is_not(None)
    )
    if cell_ids is not None:
        query = query.where(Address.grid_cell_id.in_(cell_ids))
    return dict(session.execute(query.group_by(Address.grid_cell_id)).all())


def live_leads(session: Session, today: date, addresses: Select) -> Select:
    """The places among ``addresses`` (a select of address ids) with an open or in-review
    flag, as the weekly sweeps plan them: one row per place with

    - ``address_id``, and ``dwelling_id`` (NULL when only the whole building is flagged);
    - ``priority``: the most urgent of its flags' rules as configured today (1 first);
    - ``raised_at``: when its oldest such flag was raised;
    - ``checks``: a JSON array of ``{"rule": code, "flag_id": id}``, most urgent first.

    Confirmed flags are not leads any more (a person has decided); no scope applies: the
    caller chooses the addresses (a focus area's) and shows the result to whom it may.
    """
    priority = priority_table(rules_in_force(session, today))
    rank = func.coalesce(priority.c.priority, PRIORITY_LOWEST)
    return (
        select(
            Flag.address_id,
            func.max(Flag.dwelling_id).label("dwelling_id"),
            func.min(rank).label("priority"),
            func.min(Flag.raised_at).label("raised_at"),
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_object("rule", Flag.rule, "flag_id", Flag.id),
                    rank,
                    Flag.raised_at,
                    Flag.id,
                )
            ).label("checks"),
        )
        .outerjoin(priority, priority.c.rule == Flag.rule)
        .where(Flag.state.in_(SELF_RESOLVING_STATES), Flag.address_id.in_(addresses))
        .group_by(Flag.address_id)
    )
