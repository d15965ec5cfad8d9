"""A flag as a person reads it: its place in words with a link, its facts with labels and
links to the records they name. Plain text only: templates escape every value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.flags.models import Flag, FlagEvent, VisitReport
from registry.flags.reports import tips_of
from registry.labels import FINDING_LABELS, OCCUPANCY_LABELS, TIP_KIND_LABELS


@dataclass(frozen=True)
class PlaceShown:
    """Where a flag (or tip) stands: the address in words, and the page to open, if any."""

    text: str
    url: str | None
    whole_building: bool


@dataclass(frozen=True)
class FactRow:
    label: str
    value: str
    url: str | None = None


FACT_LABELS = {
    "occupancy": _l("Occupancy on record"),
    "occupants": _l("Living there now"),
    "occupants_before": _l("Living there at the window's start"),
    "since": _l("Window starts"),
    "capacity": _l("Legal capacity"),
    "floor_area": _l("Floor area (m²)"),
    "rooms": _l("Rooms"),
    "min_floor_area_per_person": _l("Minimum floor area per person (m²)"),
    "max_people_per_room": _l("Maximum people per room"),
    "filing_id": _l("Current filing"),
    "filing_starts_on": _l("Filing starts"),
    "last_filing_id": _l("Last filing"),
    "last_filing_ended_on": _l("Last filing ended"),
    "rental_pledge": _l("Rental pledge signed"),
    "security_guarantee": _l("Security guarantee signed"),
    "tenants_living_there": _l("Tenants living there"),
    "owner_living_there": _l("Owner or family living there"),
    "tip_ids": _l("Tips and complaints"),
    "last_received_on": _l("Last received"),
    "visit_report_ids": _l("Visit findings"),
    "people": _l("People found on the visit"),
    "last_observed_on": _l("Last seen"),
    "case_flag_ids": _l("Confirmed cases"),
    "last_confirmed_on": _l("Last confirmed"),
    "residence_ids": _l("Stays ended from elsewhere"),
    "moved_out": _l("Moved out"),
}
DATE_FACTS = {
    "since",
    "filing_starts_on",
    "last_filing_ended_on",
    "last_received_on",
    "last_observed_on",
    "moved_out",
    "last_confirmed_on",
}
FILING_FACTS = {"filing_id", "last_filing_id"}
ABSENT = {"filing_id": _l("No"), "last_filing_id": _l("None")}


def address_text(address: Address) -> str:
    """Road, door number, building, entrance and room, as the grid pages write them."""
    parts = [address.road.name, _("No. %(value)s", value=address.door_number)]
    if address.building:
        parts.append(_("Building %(value)s", value=address.building))
    if address.entrance:
        parts.append(_("Entrance %(value)s", value=address.entrance))
    if address.room:
        parts.append(_("Room %(value)s", value=address.room))
    elif address.floor is not None:
        parts.append(_("Floor %(value)s", value=address.floor))
    return " ".join(parts)


def place_of_address(actor: UserAccount, address: Address, dwelling_id: int | None) -> PlaceShown:
    """The place's words, and the page of the actor's own pages that shows it."""
    url = None
    if actor.role == Role.GRID_WORKER:
        url = (
            url_for("gridwork.dwelling", dwelling_id=dwelling_id)
            if dwelling_id
            else url_for("gridwork.address", address_id=address.id)
        )
    elif dwelling_id:
        url = url_for("dashboard.dwelling", dwelling_id=dwelling_id)
    text = address_text(address)
    if dwelling_id is None:
        text = _("%(address)s (whole building)", address=text)
    return PlaceShown(text, url, dwelling_id is None)


def place_of(session: Session, actor: UserAccount, flag: Flag) -> PlaceShown:
    return place_of_address(actor, flag.address, flag.dwelling_id)


def _value(name: str, value: Any) -> str:
    if value is None:
        # A fact that is absent says so in words: 备案有效 否, not a dash to puzzle over.
        return str(ABSENT.get(name, "—"))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "occupancy":
        return str(OCCUPANCY_LABELS.get(value, value))
    if name in DATE_FACTS:
        return format_date(date.fromisoformat(str(value)))
    return str(value)


def _tip_rows(session: Session, actor: UserAccount, ids: list[int]) -> list[FactRow]:
    return [
        FactRow(
            str(FACT_LABELS["tip_ids"]),
            f"{format_date(tip.received_on)} · {TIP_KIND_LABELS[tip.kind]}: {tip.text[:80]}",
            url_for("flags.tip", tip_id=tip.id),
        )
        for tip in tips_of(session, actor, ids)
    ]


def _visit_rows(session: Session, ids: list[int]) -> list[FactRow]:
    visits = session.scalars(select(VisitReport).where(VisitReport.id.in_(ids)))
    rows = []
    for visit in sorted(visits, key=lambda v: v.observed_on, reverse=True):
        found = str(FINDING_LABELS[visit.finding])
        if visit.people:
            found += " · " + _("%(count)s people", count=visit.people)
        if visit.note:
            found += " · " + visit.note
        rows.append(
            FactRow(
                str(FACT_LABELS["visit_report_ids"]), f"{format_date(visit.observed_on)}: {found}"
            )
        )
    return rows


def fact_rows(session: Session, actor: UserAccount, flag: Flag) -> list[FactRow]:
    """The flag's facts in the order its rule wrote them, with links to the records."""
    rows = []
    for name, value in (flag.facts or {}).items():
        if name == "tip_ids":
            rows += _tip_rows(session, actor, list(value or []))
        elif name == "visit_report_ids":
            rows += _visit_rows(session, list(value or []))
        elif name == "case_flag_ids":
            rows += [
                FactRow(str(FACT_LABELS[name]), f"#{i}", url_for("flags.flag", flag_id=i))
                for i in value or []
            ]
        elif name == "residence_ids":
            rows.append(FactRow(str(FACT_LABELS[name]), str(len(value or []))))
        else:
            url = None
            if name in FILING_FACTS and value:
                url = url_for("leases.filing", filing_id=value)
            label = FACT_LABELS.get(name, name)
            rows.append(FactRow(str(label), _value(name, value), url))
    return rows


def changed_facts(event: FlagEvent) -> list[FactRow]:
    """What changed between the facts before and after a step the system took."""
    before, after = event.facts_before or {}, event.facts_after or {}
    if not after:
        return []
    rows = []
    for name in after:
        if name in before and before[name] != after[name] and not name.endswith("_ids"):
            label = str(FACT_LABELS.get(name, name))
            change = f"{_value(name, before[name])} → {_value(name, after[name])}"
            rows.append(FactRow(label, change))
    return rows
