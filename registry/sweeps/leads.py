"""Where the sweeps meet the flags: the one module that reads and writes them.

Everything the sweeps need from flags goes through here, so that the flags' own services
do the work (no second copy of a rule, its priority or its words):

- :func:`live_leads`: the places of a focus area with an open or in-review flag, with the
  highest priority among their flags (the rule's configured priority), the oldest flag's
  time and what to check;
- :func:`live_flag_addresses`: the addresses never drawn as "compliant" for the sample:
  any live flag (confirmed ones too) on the place or on its whole building;
- :func:`report_finding`: a visit's finding ("unregistered occupants", "signs of group
  renting") is recorded as the flags' visit report, whose visit rules raise the flag
  (``record_finding_at``: the sweeps have checked the stop themselves);
- :func:`recheck`: "record corrected" runs the dwelling's rules again;
- :func:`check_words`: a check's label and instruction, for the tablet and the printout.

A flag's place is its address: a dwelling's, or a building's (door-level address, no
dwelling) for a whole-building flag, which is then one stop.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.address.models import Address
from registry.dwelling.models import Dwelling
from registry.flags.hooks import recheck_dwellings
from registry.flags.models import LIVE_STATES, NOTE_LENGTH, Flag
from registry.flags.reports import VisitInput, record_finding_at
from registry.flags.rules import rule_named
from registry.flags.run import building_addresses, run_rules
from registry.flags.services import live_leads as flag_leads
from registry.grid.models import focus_area_cell


def in_focus_area(focus_area_id: int, address_cell) -> Any:
    """The address's grid cell is one of the focus area's cells."""
    return address_cell.in_(
        select(focus_area_cell.c.grid_cell_id).where(
            focus_area_cell.c.focus_area_id == focus_area_id
        )
    )


def live_leads(session: Session, focus_area_id: int, today: date) -> Select:
    """The area's places with an open or in-review flag, as the flags' services rank them
    (registry/flags/services.py ``live_leads``): address_id, dwelling_id (NULL for a whole
    building), priority (1 first), raised_at (the oldest flag's) and checks (a JSON array
    of ``{"rule": code, "flag_id": id}``, most urgent first)."""
    area = select(Address.id).where(in_focus_area(focus_area_id, Address.grid_cell_id))
    return flag_leads(session, today, area)


def live_flag_addresses(focus_area_id: int) -> Select:
    """Addresses of the area whose place or whole building has any live flag (confirmed
    ones too): never sampled as "compliant"."""
    live = select(Flag.address_id).where(Flag.state.in_(LIVE_STATES))
    whole_buildings = live.where(Flag.dwelling_id.is_(None))
    return select(Address.id).where(
        in_focus_area(focus_area_id, Address.grid_cell_id),
        or_(
            Address.id.in_(live),
            func.coalesce(Address.parent_id, Address.id).in_(whole_buildings),
        ),
    )


def check_words(check: dict[str, Any]) -> tuple[Any, Any]:
    """A check's label and what to do, in the user's language (the rule's own words)."""
    rule = rule_named(str(check.get("rule")))
    if rule is None:
        return str(check.get("rule")), ""
    return rule.label, rule.what_to_check


def report_finding(
    session: Session,
    actor: UserAccount,
    dwelling_id: int,
    finding: str,
    people: int | None,
    note: str,
    today: date,
) -> None:
    """Record a visit's finding as the flags' visit report: its visit rule raises the flag
    in this transaction. The sweeps have checked the stop (a team member's may lie outside
    their usual scope); the sweep visit keeps the whole note, the report what fits."""
    data = VisitInput(
        finding=finding,
        people="" if people is None else str(people),
        observed_on=today,
        note=(note or "")[:NOTE_LENGTH],
    )
    dwelling = session.get(Dwelling, dwelling_id)
    record_finding_at(session, actor, dwelling, data, today)


def recheck(session: Session, dwelling_ids: list[int], today: date) -> None:
    """Run the dwellings' rules again in this transaction (after a corrected record)."""
    recheck_dwellings(session, dwelling_ids, today)


def recheck_building(session: Session, address_id: int, today: date) -> None:
    """Run the rules again for a whole building's addresses (a building stop corrected)."""
    run_rules(session, today, address_ids=building_addresses(session, [address_id]))
