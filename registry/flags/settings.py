"""Rule settings: administrators switch rules on and off, set priorities and thresholds.

A change is a new version from a day on (local midnight, today or later), never an edit of
the old one: a past flag stays explained by the settings in force when it was raised. Each
new version names the version that was the newest when the administrator opened the form;
if another administrator saved in between, the save is a conflict (checked first for a
friendly page, decided by the unique constraint on (rule, based_on_id) when both saves
race).

A version in force from today applies at once, in the transaction that saves it: the rule
runs over the whole district (the rule run's own statement, registry/flags/run.py), so
switching it off withdraws its open and in-review flags, switching it on or changing a
threshold raises and resolves its flags, before anyone plans a sweep on the old ones. A
version from a later day is applied by the nightly run of that day. Confirmed flags stay
either way: a person decided on them, and a person resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.audit.services import Action, record
from registry.clock import deployment_zone, end_of_day, start_of_day
from registry.constraints import constraint_of
from registry.errors import Conflict, InvalidInput, NotFound
from registry.flags.models import (
    ONE_SUCCESSOR,
    PRIORITY_HIGHEST,
    PRIORITY_LOWEST,
    RuleVersion,
)
from registry.flags.rules import RULES, Rule, RuleConfig, config_of, rule_named, rules_in_force
from registry.flags.run import RunResult, run_rules
from registry.validators import FieldError, ValidationErrors, parse_date

NOTE_LENGTH = 200
# Form fields of every rule's page; a setting's name must not be one of them.
FIXED_FIELDS = ("enabled", "priority", "valid_from", "note")


class VersionState:
    IN_FORCE = "in_force"
    SCHEDULED = "scheduled"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class VersionRow:
    """One saved version of a rule as the history lists it."""

    version: RuleVersion
    config: RuleConfig
    state: str
    created_by: str | None


@dataclass(frozen=True)
class SavedVersion:
    """A saved version, and what applying it today changed (None: it starts later)."""

    version: RuleVersion
    applied: RunResult | None


@dataclass(frozen=True)
class RuleSettingsInput:
    """What the administrator submitted: raw values, checked by :func:`save_rule_version`."""

    enabled: Any
    priority: Any
    values: dict[str, Any]
    valid_from: Any
    note: Any = ""


def require_admin(actor: UserAccount) -> None:
    if actor.role != Role.ADMIN:
        raise NotFound()


def rule_or_404(code: str) -> Rule:
    rule = rule_named(code)
    if rule is None:
        raise NotFound()
    return rule


def rules_overview(session: Session, actor: UserAccount, today: date) -> list[RuleConfig]:
    """Every rule with its settings in force today, in the catalogue's order."""
    require_admin(actor)
    configs = rules_in_force(session, today)
    return [configs[rule.code] for rule in RULES]


def newest_version(session: Session, code: str) -> RuleVersion | None:
    """The version saved last (whatever day it starts): the one a new version is based on."""
    return session.scalar(
        select(RuleVersion).where(RuleVersion.rule == code).order_by(RuleVersion.id.desc()).limit(1)
    )


def rule_history(session: Session, actor: UserAccount, code: str, today: date) -> list[VersionRow]:
    """Every saved version of a rule, newest start first, marked in force, scheduled or
    superseded on ``today``."""
    require_admin(actor)
    rule = rule_or_404(code)
    in_force = rules_in_force(session, today, [rule])[rule.code]
    tomorrow = end_of_day(today, deployment_zone())
    rows = session.execute(
        select(RuleVersion, UserAccount.username)
        .outerjoin(UserAccount, UserAccount.id == RuleVersion.created_by_id)
        .where(RuleVersion.rule == rule.code)
        .order_by(RuleVersion.valid_from.desc(), RuleVersion.id.desc())
    ).all()
    history = []
    for version, username in rows:
        if version.id == in_force.version_id:
            state = VersionState.IN_FORCE
        elif version.valid_from >= tomorrow:
            state = VersionState.SCHEDULED
        else:
            state = VersionState.SUPERSEDED
        history.append(VersionRow(version, config_of(rule, version), state, username))
    return history


def form_values(config: RuleConfig) -> dict[str, Any]:
    """A rule's settings as the form holds them (for the form and the conflict page)."""
    values: dict[str, Any] = {
        "enabled": config.enabled,
        "priority": config.priority,
        "note": "",
    }
    for setting in config.rule.settings:
        value = config.values.get(setting.name)
        values[setting.name] = "" if value is None else value
    return values


def _clean(rule: Rule, data: RuleSettingsInput, today: date) -> tuple[dict[str, Any], Any]:
    errors = ValidationErrors()
    clean: dict[str, Any] = {"enabled": str(data.enabled or "").lower() in {"y", "on", "true", "1"}}
    try:
        priority = int(str(data.priority or "").strip())
        if not PRIORITY_HIGHEST <= priority <= PRIORITY_LOWEST:
            raise ValueError
        clean["priority"] = priority
    except ValueError:
        errors.add(
            "priority",
            _l("Must be between %(low)s and %(high)s", low=PRIORITY_HIGHEST, high=PRIORITY_LOWEST),
        )
    settings = {}
    for setting in rule.settings:
        with errors.collect():
            settings[setting.name] = setting.stored(setting.parse(data.values.get(setting.name)))
    clean["settings"] = settings
    with errors.collect():
        starts = parse_date(data.valid_from, "valid_from")
        if starts < today:
            raise FieldError("valid_from", _l("New settings cannot start in the past"))
        clean["valid_from"] = start_of_day(starts, deployment_zone())
    note = str(data.note or "").strip()
    if len(note) > NOTE_LENGTH:
        errors.add("note", _l("At most %(maximum)s characters", maximum=NOTE_LENGTH))
    clean["note"] = note
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return clean, settings


def _conflict(rule: Rule, newest: RuleVersion | None) -> Conflict:
    config = config_of(rule, newest)
    return Conflict(current=form_values(config), version=newest.id if newest else "")


def save_rule_version(
    session: Session,
    actor: UserAccount,
    code: str,
    data: RuleSettingsInput,
    based_on: Any,
    today: date,
) -> SavedVersion:
    """A new version of a rule's settings from a day on; the old ones stay as history.

    ``based_on`` is the id of the newest version when the form was opened ("" when the rule
    had none): a newer one saved meanwhile makes this save a conflict. A version in force
    from today is applied at once (see the module's docstring).
    """
    require_admin(actor)
    rule = rule_or_404(code)
    clean, settings = _clean(rule, data, today)
    newest = newest_version(session, rule.code)
    if str(based_on or "") != str(newest.id if newest else ""):
        raise _conflict(rule, newest)
    version = RuleVersion(
        rule=rule.code,
        enabled=clean["enabled"],
        priority=clean["priority"],
        settings=settings,
        valid_from=clean["valid_from"],
        note=clean["note"],
        based_on_id=newest.id if newest else None,
        created_by_id=actor.id,
    )
    savepoint = session.begin_nested()
    try:
        session.add(version)
        session.flush()
    except IntegrityError as error:
        savepoint.rollback()
        if constraint_of(error) == ONE_SUCCESSOR:
            session.expire_all()
            raise _conflict(rule, newest_version(session, rule.code)) from None
        raise
    savepoint.commit()
    record(
        session,
        actor,
        Action.CREATE,
        "rule_version",
        version.id,
        {
            "rule": [None, rule.code],
            "enabled": [None, version.enabled],
            "priority": [None, version.priority],
            "settings": [None, settings],
            "valid_from": [None, version.valid_from],
            "note": [None, version.note],
        },
    )
    starts_today = clean["valid_from"] == start_of_day(today, deployment_zone())
    return SavedVersion(version, run_rules(session, today, rules=[rule]) if starts_today else None)


def rerun_rules_reading(session: Session, key: str, today: date) -> RunResult:
    """Run again, over the whole district, the rules that read the registry setting ``key``
    (the typed-signature switch decides whether a pledge is missing): its change applies
    to the flags at once, as it does to the dwellings' status and the figures."""
    rules = [rule for rule in RULES if key in rule.reads_settings]
    return run_rules(session, today, rules=rules) if rules else RunResult()
