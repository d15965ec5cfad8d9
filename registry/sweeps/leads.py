"""Where the sweeps meet the flags: the one module that reads and writes them.

Everything the sweeps need from flags goes through here, so that the flags' own services
do the work (no second copy of a rule):

- :func:`live_leads`: the places of a focus area with an open or in-review flag, with the
  highest priority among their flags, the oldest flag's age and what to check;
- :func:`report_finding`: a visit's finding ("unregistered occupants", "signs of group
  renting") raises its visit rule's flag;
- :func:`recheck`: "record corrected" runs the dwelling's rules again;
- :func:`check_words`: a check's label and instruction, for the tablet and the printout.

Until the flags lane's models land on main, :func:`live_leads` stands in with one fact
from the dwelling status (rented with no current filing) and the two writers do nothing;
switching to the real flags changes only this module.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.address.models import Address
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import current_filing_id
from registry.grid.models import focus_area_cell

STAND_IN_RULE = "rented_unfiled"
# The map's words for the same fact (no message of the stand-in's own to translate).
_STAND_IN_WORDS = {STAND_IN_RULE: (_l("Rented without a current filing"), "")}


def in_focus_area(focus_area_id: int, address_cell) -> Any:
    """The address's grid cell is one of the focus area's cells."""
    return address_cell.in_(
        select(focus_area_cell.c.grid_cell_id).where(
            focus_area_cell.c.focus_area_id == focus_area_id
        )
    )


def live_leads(focus_area_id: int, today: date) -> Select:
    """One row per place with a live lead: address_id, dwelling_id (NULL for a whole
    building), priority (1 first), raised_at (the oldest lead's) and checks (a JSON array
    of ``{"rule": code}``)."""
    return select(
        Dwelling.address_id.label("address_id"),
        Dwelling.id.label("dwelling_id"),
        literal(3).label("priority"),
        Dwelling.updated_at.label("raised_at"),
        cast(func.jsonb_build_array(func.jsonb_build_object("rule", STAND_IN_RULE)), JSONB).label(
            "checks"
        ),
    ).where(
        and_(
            Dwelling.occupancy == Occupancy.RENTED,
            current_filing_id(Dwelling.id, today).is_(None),
        ),
        Dwelling.address_id.in_(
            select(Address.id).where(in_focus_area(focus_area_id, Address.grid_cell_id))
        ),
    )


def live_flag_addresses(focus_area_id: int, today: date) -> Select:
    """Addresses of the area with any live flag (confirmed ones too): never sampled as
    "compliant"."""
    leads = live_leads(focus_area_id, today).subquery()
    return select(leads.c.address_id)


def check_words(check: dict[str, Any]) -> tuple[Any, Any]:
    """A check's label and what to do, in the user's language."""
    return _STAND_IN_WORDS.get(str(check.get("rule")), (str(check.get("rule")), ""))


def report_finding(
    session: Session,
    actor: UserAccount,
    dwelling_id: int,
    finding: str,
    people: int | None,
    note: str,
    today: date,
) -> None:
    """Hand a visit's finding to the flags' visit rules (they raise the flag)."""


def recheck(session: Session, dwelling_ids: list[int], today: date) -> None:
    """Run the dwellings' rules again in this transaction (after a corrected record)."""
