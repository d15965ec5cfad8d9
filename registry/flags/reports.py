"""What people report about a place: tips and complaints, and what a visit found.

Both are recorded by grid workers and police officers, inside their scope, and raise the
flag of their rule in the same transaction (the report rules of registry/flags/rules.py).
A tip names a dwelling or a whole building (a door-level address); the tipster's name and
phone are optional and shown to police officers only, each showing audited.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.audit.services import Action, record
from registry.dwelling.models import Dwelling
from registry.errors import InvalidInput, NotFound
from registry.flags.models import (
    LIVE_STATES,
    NOTE_LENGTH,
    TIP_TEXT_LENGTH,
    Flag,
    FlagState,
    RuleCode,
    Tip,
    TipKind,
    TipSource,
    VisitFinding,
    VisitReport,
)
from registry.flags.rules import LOOK_BACK_DAYS, RULES_BY_CODE
from registry.flags.run import RunResult, run_rules
from registry.scope import address_filter, get_in_scope
from registry.validators import ValidationErrors, parse_date, validate_name, validate_phone

REPORTING_ROLES = (Role.GRID_WORKER, Role.POLICE_OFFICER)
TIP_READERS = (Role.GRID_WORKER, Role.POLICE_OFFICER, Role.ADMIN)
TIPSTER_READERS = (Role.POLICE_OFFICER,)
MAX_PEOPLE_SEEN = 500
# The longest look-back a report rule may be given (registry/flags/rules.py).
OLDEST_REPORT_DAYS = max(
    RULES_BY_CODE[code].setting(LOOK_BACK_DAYS).maximum
    for code in (RuleCode.TIP, RuleCode.VISIT_UNREGISTERED, RuleCode.VISIT_GROUP_RENTING)
)


class TipFlag(enum.StrEnum):
    """What recording a tip did to the tip flag of its place."""

    RAISED = "raised"  # a new flag
    ADDED = "added"  # the flag already open (or in review) there now lists the tip too
    DECIDED = "decided"  # the flag there is confirmed: an officer is already on it
    NONE = "none"  # no flag: older than the look-back, or the rule is switched off


def _require(actor: UserAccount, roles) -> None:
    if actor.role not in roles:
        raise NotFound()


def _clean_text(value: Any, limit: int, field: str, errors: ValidationErrors, required: bool):
    """Free text as typed (line breaks kept), without control characters."""
    text = str(value or "").replace("\r\n", "\n").strip()
    if required and not text:
        errors.add(field, _l("This field is required"))
    elif len(text) > limit:
        errors.add(field, _l("At most %(maximum)s characters", maximum=limit))
    elif any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        errors.add(field, _l("Contains control characters"))
    return text


def _day(value: Any, field: str, today: date, errors: ValidationErrors) -> date | None:
    """A report's date: not in the future, and not older than any look-back reaches (a
    report that old can never raise a flag: 1900-01-01 is a slip of the keyboard)."""
    with errors.collect():
        day = parse_date(value, field)
        if day > today:
            errors.add(field, _l("The date cannot be in the future"))
            return None
        earliest = today - timedelta(days=OLDEST_REPORT_DAYS)
        if day < earliest:
            errors.add(
                field, _l("The earliest date accepted is %(date)s", date=earliest.isoformat())
            )
            return None
        return day
    return None


# -- tips and complaints -------------------------------------------------------------------


@dataclass(frozen=True)
class TipInput:
    kind: Any
    source: Any
    text: Any
    received_on: Any
    tipster_name: Any = ""
    tipster_phone: Any = ""


@dataclass(frozen=True)
class TipPlace:
    """Where a tip points: a dwelling, or a whole building (its door-level address)."""

    address: Address
    dwelling: Dwelling | None


def tip_place(session: Session, actor: UserAccount, address_id: int) -> TipPlace:
    """The place a tip about ``address_id`` is recorded on, in the actor's scope.

    An address with a dwelling is that dwelling; a door-level address without one is the
    whole building; a room-level address without a dwelling names nothing to visit.
    """
    _require(actor, REPORTING_ROLES)
    address = get_in_scope(session, actor, Address, address_id)
    dwelling = session.scalar(select(Dwelling).where(Dwelling.address_id == address.id))
    if dwelling is None and address.parent_id is not None:
        raise NotFound()
    return TipPlace(address, dwelling)


def _live_tip_flag(session: Session, address_id: int) -> Flag | None:
    return session.scalar(
        select(Flag).where(
            Flag.rule == RuleCode.TIP, Flag.address_id == address_id, Flag.state.in_(LIVE_STATES)
        )
    )


def _tip_flag_outcome(session: Session, tip: Tip, before: int | None) -> TipFlag:
    flag = _live_tip_flag(session, tip.address_id)
    if flag is None:
        return TipFlag.NONE
    if flag.state == FlagState.CONFIRMED:
        return TipFlag.DECIDED
    if tip.id not in (flag.facts or {}).get("tip_ids", []):
        return TipFlag.NONE  # older than the look-back: the open flag does not list it
    return TipFlag.ADDED if flag.id == before else TipFlag.RAISED


def record_tip(
    session: Session, actor: UserAccount, address_id: int, data: TipInput, today: date
) -> tuple[Tip, TipFlag]:
    """Record a tip or complaint and raise (or update) the tip flag of its place; say
    which, so that the user is told what happened to the flag."""
    place = tip_place(session, actor, address_id)
    errors = ValidationErrors()
    kind = source = None
    try:
        kind = TipKind(str(data.kind or ""))
    except ValueError:
        errors.add("kind", _l("Choose one of the listed values"))
    try:
        source = TipSource(str(data.source or ""))
    except ValueError:
        errors.add("source", _l("Choose one of the listed values"))
    text = _clean_text(data.text, TIP_TEXT_LENGTH, "text", errors, required=True)
    received_on = _day(data.received_on, "received_on", today, errors)
    name = phone = None
    if str(data.tipster_name or "").strip():
        with errors.collect():
            name = validate_name(data.tipster_name, field="tipster_name")
    if str(data.tipster_phone or "").strip():
        with errors.collect():
            phone = validate_phone(data.tipster_phone, field="tipster_phone")
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    tip = Tip(
        address_id=place.address.id,
        dwelling_id=place.dwelling.id if place.dwelling else None,
        kind=kind,
        source=source,
        text=text,
        tipster_name=name,
        tipster_phone=phone,
        received_on=received_on,
        recorded_by_id=actor.id,
    )
    before = _live_tip_flag(session, place.address.id)
    session.add(tip)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        "tip",
        tip.id,
        {
            "address_id": [None, tip.address_id],
            "dwelling_id": [None, tip.dwelling_id],
            "kind": [None, str(kind)],
            "source": [None, str(source)],
            "text": [None, text],
            "received_on": [None, received_on],
            "tipster_given": [None, bool(name or phone)],
        },
    )
    run_rules(session, today, address_ids=[tip.address_id])
    return tip, _tip_flag_outcome(session, tip, before.id if before else None)


def get_tip(session: Session, actor: UserAccount, tip_id: int) -> Tip:
    """A tip whose address is in the actor's scope; NotFound otherwise."""
    _require(actor, TIP_READERS)
    tip = session.scalar(
        select(Tip)
        .join(Address, Address.id == Tip.address_id)
        .where(Tip.id == tip_id, address_filter(actor))
    )
    if tip is None:
        raise NotFound()
    return tip


def tips_of(session: Session, actor: UserAccount, tip_ids: list[int]) -> list[Tip]:
    """The tips among ``tip_ids`` that the actor may read (a flag's facts name them)."""
    _require(actor, TIP_READERS)
    ids = [i for i in tip_ids if isinstance(i, int)]
    if not ids:
        return []
    return list(
        session.scalars(
            select(Tip)
            .join(Address, Address.id == Tip.address_id)
            .where(Tip.id.in_(ids), address_filter(actor))
            .order_by(Tip.received_on.desc(), Tip.id.desc())
        )
    )


def may_see_tipster(actor: UserAccount) -> bool:
    return actor.role in TIPSTER_READERS


def show_tipster(session: Session, actor: UserAccount, tip: Tip) -> tuple[str | None, str | None]:
    """The tipster's name and phone for a police officer (audited); nothing for others."""
    if not may_see_tipster(actor):
        return None, None
    if tip.tipster_name or tip.tipster_phone:
        record(session, actor, Action.VIEW, "tip", tip.id, {"shown": ["tipster"]})
    return tip.tipster_name, tip.tipster_phone


# -- what a visit found --------------------------------------------------------------------


@dataclass(frozen=True)
class VisitInput:
    finding: Any
    people: Any
    observed_on: Any
    note: Any = ""


def dwelling_for_report(session: Session, actor: UserAccount, dwelling_id: int) -> Dwelling:
    """The dwelling a visit finding is recorded on, in the actor's scope."""
    _require(actor, REPORTING_ROLES)
    return get_in_scope(session, actor, Dwelling, dwelling_id)


def record_visit_report(
    session: Session, actor: UserAccount, dwelling_id: int, data: VisitInput, today: date
) -> tuple[VisitReport, RunResult]:
    """Record what a visit found at a dwelling's door that its records lack; the visit
    rules raise their flags at once."""
    dwelling = dwelling_for_report(session, actor, dwelling_id)
    return record_finding_at(session, actor, dwelling, data, today)


def record_finding_at(
    session: Session, actor: UserAccount, dwelling: Dwelling, data: VisitInput, today: date
) -> tuple[VisitReport, RunResult]:
    """:func:`record_visit_report` at a dwelling the caller has already found within the
    actor's reach: the weekly sweeps, where a team member records at a stop of their sweep
    that may lie outside their usual scope (registry/sweeps checks that)."""
    errors = ValidationErrors()
    finding = None
    try:
        finding = VisitFinding(str(data.finding or ""))
    except ValueError:
        errors.add("finding", _l("Choose one of the listed values"))
    people = None
    raw = str(data.people or "").strip()
    if raw or finding == VisitFinding.UNREGISTERED_OCCUPANTS:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PEOPLE_SEEN:
            errors.add(
                "people",
                _l("Must be between %(low)s and %(high)s", low=1, high=MAX_PEOPLE_SEEN),
            )
        else:
            people = int(raw)
    observed_on = _day(data.observed_on, "observed_on", today, errors)
    note = _clean_text(data.note, NOTE_LENGTH, "note", errors, required=False)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    report = VisitReport(
        dwelling_id=dwelling.id,
        finding=finding,
        people=people,
        note=note,
        observed_on=observed_on,
        recorded_by_id=actor.id,
    )
    session.add(report)
    session.flush()
    record(
        session,
        actor,
        Action.CREATE,
        "visit_report",
        report.id,
        {
            "dwelling_id": [None, dwelling.id],
            "finding": [None, str(finding)],
            "people": [None, people],
            "observed_on": [None, observed_on],
            "note": [None, note],
        },
    )
    return report, run_rules(session, today, address_ids=[dwelling.address_id])
