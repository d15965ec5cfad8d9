"""The rules that raise flags: what each checks, its settings, and its SQL.

Every rule is one SELECT over the whole district (or over the few addresses a change
touched), built on the status definitions of registry/dwelling/status.py, never a loop over
rows. A rule's select yields one row per place it looked at::

    address_id, dwelling_id, holds, fact_key, facts

``holds`` says whether the rule raises a flag there; ``fact_key`` is what must change
before a flag a person closed is raised again (no nagging); ``facts`` is the JSON object
shown on the flag, with the ids that link to the records. Rows that do not hold are
produced only where a flag of the rule is live, so that the flag's self-resolution can
record the facts that changed.

Two kinds of rule:
- fact rules read the registry's records (filings, residences, the dwelling's size and
  occupancy, past decisions). Their open and in-review flags resolve themselves when the
  facts no longer hold.
- report rules read what people reported (tips and complaints, what a visit found). A
  report does not stop being true when the records change, so their flags wait for a
  person's decision.

No rule reads a person's ID number (its region or sex digits), birth date, residence kind
(registered / transient) or anything else about who the people are: only how many live
where, since when, under which paperwork (DOMAIN.md). tests/test_flags_fairness.py
permutes those facts and checks that not one flag changes.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    or_,
    select,
    true,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array, distinct_on
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from registry.address.models import Address
from registry.clock import deployment_zone, end_of_day
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import (
    CapacityThresholds,
    OccupancyProblem,
    capacity_sql,
    current_filings,
    current_residents,
    ended_filings,
    has_pledges,
    next_filings,
    occupancy_problem_of,
)
from registry.flags.models import (
    LIVE_STATES,
    Flag,
    FlagEvent,
    FlagState,
    RuleCode,
    RuleVersion,
    Tip,
    VisitFinding,
    VisitReport,
)
from registry.lease.models import LeaseFiling
from registry.person.models import Residence
from registry.setting.models import TYPED_SIGNATURE_COUNTS
from registry.validators import FieldError


class Basis(enum.StrEnum):
    FACTS = "facts"  # resolves itself when the facts no longer hold
    REPORTS = "reports"  # waits for a person's decision


# -- settings ------------------------------------------------------------------------------


class SettingKind(enum.StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    RULES = "rules"  # a choice of other rules (their codes), at least one


@dataclass(frozen=True)
class Setting:
    """One threshold of a rule that an administrator may change.

    ``default`` None means the setting has no default: the rule runs only once an
    administrator has saved a value (the capacity thresholds differ between cities).
    """

    name: str
    label: Any
    kind: SettingKind
    default: Any
    minimum: Any = 0
    maximum: Any = 0
    help: Any = None
    choices: tuple[str, ...] = ()  # the rule codes a RULES setting may name, in order

    def parse(self, raw: Any) -> Any:
        """The setting's value from a form or the stored JSON; FieldError when invalid.

        The range is checked before rounding: a huge number (``1e400``) would overflow the
        decimal context when quantised. Full-width digits from an IME count (NFKC).
        """
        if self.kind == SettingKind.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            return str(raw or "").strip().lower() in {"1", "true", "y", "yes", "on"}
        if self.kind == SettingKind.RULES:
            return self._parse_rules(raw)
        text = "" if raw is None else unicodedata.normalize("NFKC", str(raw)).strip()
        if not text:
            raise FieldError(self.name, _l("This field is required"))
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise FieldError(self.name, _l("Enter a number")) from None
        if not number.is_finite():
            raise FieldError(self.name, _l("Enter a number"))
        if not self.minimum <= number <= self.maximum:
            raise FieldError(
                self.name,
                _l("Must be between %(low)s and %(high)s", low=self.minimum, high=self.maximum),
            )
        if self.kind == SettingKind.INTEGER and number != number.to_integral_value():
            raise FieldError(self.name, _l("Enter a whole number"))
        if self.kind == SettingKind.DECIMAL and number != number.quantize(CENT):
            raise FieldError(self.name, _l("At most two decimal places"))
        return int(number) if self.kind == SettingKind.INTEGER else number.quantize(CENT)

    def _parse_rules(self, raw: Any) -> tuple[str, ...]:
        """Rule codes from the check boxes (a list) or the stored JSON, in the choices'
        order (hashable and comparable: a run's statement is cached by its settings)."""
        items = raw.split(",") if isinstance(raw, str) else list(raw or ())
        codes = {str(item).strip() for item in items} - {""}
        if codes - set(self.choices):
            raise FieldError(self.name, _l("Choose one of the listed values"))
        if not codes:
            raise FieldError(self.name, _l("Choose at least one"))
        return tuple(code for code in self.choices if code in codes)

    def stored(self, value: Any) -> Any:
        """The value as kept in ``rule_version.settings`` (decimals as exact text)."""
        if self.kind == SettingKind.RULES:
            return list(value)
        return str(value) if self.kind == SettingKind.DECIMAL else value


def _days(
    name: str, label: Any, default: int, maximum: int, help: Any, minimum: int = 0
) -> Setting:
    return Setting(name, label, SettingKind.INTEGER, default, minimum, maximum, help)


CENT = Decimal("0.01")
GRACE_DAYS = "grace_days"
LOOK_BACK_DAYS = "look_back_days"
CASE_RULES = "case_rules"
# What counts as a case by default: a confirmed finding about the people living there.
# Paperwork lapses (no filing, an ended filing, a missing pledge) and record mismatches
# have their own rules and are not cases.
DEFAULT_CASE_RULES = tuple(
    str(code)
    for code in (
        RuleCode.OVER_CAPACITY,
        RuleCode.VISIT_UNREGISTERED,
        RuleCode.VISIT_GROUP_RENTING,
        RuleCode.TIP,
    )
)


# -- what a run needs ----------------------------------------------------------------------


@dataclass(frozen=True)
class RuleConfig:
    """A rule's settings in force on a day: saved by an administrator, or its defaults."""

    rule: Rule
    enabled: bool
    priority: int
    values: dict[str, Any]
    version_id: int | None = None
    valid_from: datetime | None = None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def complete(self) -> bool:
        """Every setting has a value (a setting without default may still be unset)."""
        return all(self.values.get(s.name) is not None for s in self.rule.settings)

    @property
    def runs(self) -> bool:
        return self.enabled and self.complete


# The bound parameter that carries a run's addresses: the statement of a run over a few
# addresses is built once per day and settings, and executed with the addresses it is for.
RUN_ADDRESSES = "run_address_ids"


@dataclass
class RunContext:
    """What a rule's select is built from: the day, the settings, the shared facts.

    ``whole_district`` False restricts every select to the addresses bound at execution
    as ``run_address_ids``.
    """

    today: date
    configs: dict[str, RuleConfig]
    whole_district: bool = True
    dwelling_facts: Any = None  # the CTE of :func:`dwelling_facts_select`, set by the run

    def only(self, column) -> ColumnElement[bool]:
        """Restrict ``column`` (an address id) to the run's addresses."""
        if self.whole_district:
            return true()
        return column.in_(bindparam(RUN_ADDRESSES, expanding=True))

    def dwellings(self) -> Select | None:
        """The ids of the run's dwellings (None: all), to restrict grouped subqueries."""
        if self.whole_district:
            return None
        return select(Dwelling.id).where(self.only(Dwelling.address_id))


Evaluate = Callable[[RunContext, RuleConfig], Select]


@dataclass(frozen=True)
class Rule:
    """A rule: its code, its words, its settings, and the select that evaluates it."""

    code: str
    label: Any
    what_to_check: Any  # the instruction printed for the visit
    basis: Basis
    default_priority: int
    evaluate: Evaluate
    settings: tuple[Setting, ...] = field(default_factory=tuple)
    uses_dwelling_facts: bool = True
    # The registry-wide switches (registry/setting) the rule's SQL reads: switching one
    # runs the rule again at once (registry/flags/settings.py).
    reads_settings: tuple[str, ...] = ()
    description: Any = None  # what the administrator reads on the rule's page

    def defaults(self) -> dict[str, Any]:
        return {s.name: s.default for s in self.settings}

    def setting(self, name: str) -> Setting:
        return next(s for s in self.settings if s.name == name)


# -- the facts of every dwelling, once per run ---------------------------------------------


def dwelling_facts_select(ctx: RunContext) -> Select:
    """One row per dwelling of the run: the figures the fact rules read.

    Columns: dwelling_id, address_id, occupancy, floor_area, rooms, occupants, tenant_side,
    owner_side, filing_id (current), pledges_complete, ended_filing_id and ended_on (the
    newest filing whose term is over), next_filing_id (one that starts later),
    occupants_then (at the surge rule's window start, when that rule runs), live_rules
    (the rules with a live flag at the dwelling's address).
    """
    today, only = ctx.today, ctx.dwellings()
    residents = current_residents(today, only)
    filings = current_filings(today, only)
    ended = ended_filings(today, only)
    upcoming = next_filings(today, only)
    live = (
        select(Flag.address_id, func.array_agg(Flag.rule).label("rules"))
        .where(Flag.state.in_(LIVE_STATES), ctx.only(Flag.address_id))
        .group_by(Flag.address_id)
        .subquery("live_rules")
    )
    columns = [
        Dwelling.id.label("dwelling_id"),
        Dwelling.address_id,
        Dwelling.occupancy,
        Dwelling.floor_area,
        Dwelling.rooms,
        func.coalesce(residents.c.occupants, 0).label("occupants"),
        func.coalesce(residents.c.tenant_side, false()).label("tenant_side"),
        func.coalesce(residents.c.owner_side, false()).label("owner_side"),
        filings.c.filing_id,
        filings.c.pledges_complete,
        ended.c.filing_id.label("ended_filing_id"),
        ended.c.last_day.label("ended_on"),
        upcoming.c.filing_id.label("next_filing_id"),
        func.coalesce(live.c.rules, cast(array([]), ARRAY(Flag.rule.type))).label("live_rules"),
    ]
    query = (
        select(*columns)
        .outerjoin(residents, residents.c.dwelling_id == Dwelling.id)
        .outerjoin(filings, filings.c.dwelling_id == Dwelling.id)
        .outerjoin(ended, ended.c.dwelling_id == Dwelling.id)
        .outerjoin(upcoming, upcoming.c.dwelling_id == Dwelling.id)
        .outerjoin(live, live.c.address_id == Dwelling.address_id)
        .where(ctx.only(Dwelling.address_id))
    )
    surge = ctx.configs.get(RuleCode.OCCUPANT_SURGE)
    if surge is not None and surge.runs:
        before = current_residents(today - timedelta(days=surge["window_days"]), only)
        before = before.alias("residents_then")
        query = query.outerjoin(before, before.c.dwelling_id == Dwelling.id).add_columns(
            func.coalesce(before.c.occupants, 0).label("occupants_then")
        )
    return query


def _facts_rule(
    code: str,
    holds: Callable[[Any, RuleConfig, date], ColumnElement[bool]],
    key: Callable[[Any, RuleConfig], ColumnElement],
    facts: Callable[[Any, RuleConfig, date], dict[str, ColumnElement]],
) -> Evaluate:
    """A fact rule over the run's dwelling facts: rows where it holds or a flag is live."""

    def evaluate(ctx: RunContext, config: RuleConfig) -> Select:
        f = ctx.dwelling_facts.c
        condition = holds(f, config, ctx.today)
        live = literal(code, Flag.rule.type) == any_(f.live_rules)
        return select(
            f.address_id,
            f.dwelling_id,
            func.coalesce(condition, false()).label("holds"),
            cast(key(f, config), Flag.fact_key.type).label("fact_key"),
            _json(facts(f, config, ctx.today)).label("facts"),
        ).where(or_(condition, live))

    return evaluate


def _json(values: dict[str, ColumnElement]) -> ColumnElement:
    arguments: list[Any] = []
    for name, value in values.items():
        arguments += [literal(name), value]
    return func.jsonb_build_object(*arguments).cast(JSONB) if arguments else literal({}, JSONB)


def _text(value) -> ColumnElement:
    return cast(value, Flag.fact_key.type)


def _grace_cutoff(config: RuleConfig, today: date) -> date:
    return today - timedelta(days=config[GRACE_DAYS])


# -- the fact rules ------------------------------------------------------------------------


def _rented_unfiled_holds(f, config, today):
    return and_(
        f.occupancy == Occupancy.RENTED,
        f.filing_id.is_(None),
        f.next_filing_id.is_(None),
        or_(f.ended_on.is_(None), f.ended_on < _grace_cutoff(config, today)),
    )


def _rented_unfiled_facts(f, config, today):
    return {
        "occupancy": f.occupancy,
        "filing_id": f.filing_id,
        "last_filing_id": f.ended_filing_id,
        "last_filing_ended_on": f.ended_on,
    }


def _ended_occupied_holds(f, config, today):
    return and_(
        f.filing_id.is_(None),
        f.ended_on < _grace_cutoff(config, today),
        f.tenant_side,
    )


def _ended_occupied_facts(f, config, today):
    return {
        "last_filing_id": f.ended_filing_id,
        "last_filing_ended_on": f.ended_on,
        "filing_id": f.filing_id,
        "occupants": f.occupants,
        "tenants_living_there": f.tenant_side,
    }


def _starts_on(filing_id) -> ColumnElement:
    return (
        select(LeaseFiling.starts_on)
        .where(LeaseFiling.id == filing_id)
        .correlate_except(LeaseFiling)
        .scalar_subquery()
    )


def _pledge_holds(f, config, today):
    return and_(
        f.filing_id.is_not(None),
        ~f.pledges_complete,
        _starts_on(f.filing_id) <= _grace_cutoff(config, today),
    )


def _pledge_key(f, config):
    rental, guarantee = has_pledges(f.filing_id)
    return func.concat(
        _text(f.filing_id),
        ":",
        case((rental, ""), else_="rental_pledge "),
        case((guarantee, ""), else_="security_guarantee"),
    )


def _pledge_facts(f, config, today):
    rental, guarantee = has_pledges(f.filing_id)
    return {
        "filing_id": f.filing_id,
        "filing_starts_on": _starts_on(f.filing_id),
        "rental_pledge": rental,
        "security_guarantee": guarantee,
    }


def _capacity(f, config) -> ColumnElement:
    thresholds = CapacityThresholds.of(config.values)
    return cast(capacity_sql(thresholds, f), Integer)


def _over_capacity_holds(f, config, today):
    return f.occupants > _capacity(f, config)


def _over_capacity_key(f, config):
    # Bands of ``band`` people above capacity: one more person is not a new fact.
    over = f.occupants - _capacity(f, config)
    return _text(func.greatest(over - 1, 0) // int(config["band"]))


def _over_capacity_facts(f, config, today):
    return {
        "occupants": f.occupants,
        "capacity": _capacity(f, config),
        "floor_area": f.floor_area,
        "rooms": f.rooms,
        "min_floor_area_per_person": literal(str(config["min_floor_area_per_person"])),
        "max_people_per_room": literal(int(config["max_people_per_room"])),
    }


def _problem(f) -> ColumnElement:
    return occupancy_problem_of(f.occupancy, f.occupants, f.tenant_side, f.owner_side)


def _occupancy_facts(f, config, today):
    return {
        "occupancy": f.occupancy,
        "occupants": f.occupants,
        "tenants_living_there": f.tenant_side,
        "owner_living_there": f.owner_side,
    }


def _surge_holds(f, config, today):
    return f.occupants - f.occupants_then >= int(config["min_increase"])


def _surge_facts(f, config, today):
    return {
        "occupants": f.occupants,
        "occupants_before": f.occupants_then,
        "since": literal(today - timedelta(days=config["window_days"])),
    }


# -- the report rules and the recent-case rule ---------------------------------------------


def _visit_rule(finding: VisitFinding) -> Evaluate:
    """Visits of the look-back period that found ``finding`` at a dwelling."""

    def evaluate(ctx: RunContext, config: RuleConfig) -> Select:
        since = ctx.today - timedelta(days=config[LOOK_BACK_DAYS])
        minimum = int(config.values.get("min_people") or 1)
        found = [
            VisitReport.finding == finding,
            VisitReport.observed_on > since,
            VisitReport.observed_on <= ctx.today,
        ]
        if finding == VisitFinding.UNREGISTERED_OCCUPANTS:
            found.append(VisitReport.people >= minimum)
        newest = func.max(VisitReport.id)
        return (
            select(
                Dwelling.address_id,
                Dwelling.id.label("dwelling_id"),
                true().label("holds"),
                _text(newest).label("fact_key"),
                func.jsonb_build_object(
                    "visit_report_ids",
                    func.jsonb_agg(VisitReport.id.distinct()),
                    "people",
                    func.max(VisitReport.people),
                    "last_observed_on",
                    func.max(VisitReport.observed_on),
                ).label("facts"),
            )
            .join(Dwelling, Dwelling.id == VisitReport.dwelling_id)
            .where(*found, ctx.only(Dwelling.address_id))
            .group_by(Dwelling.address_id, Dwelling.id)
        )

    return evaluate


def _tip_rule(ctx: RunContext, config: RuleConfig) -> Select:
    """Tips and complaints of the look-back period, per address (a dwelling or a building)."""
    since = ctx.today - timedelta(days=config[LOOK_BACK_DAYS])
    return (
        select(
            Tip.address_id,
            func.max(Tip.dwelling_id).label("dwelling_id"),  # NULL for a whole building
            true().label("holds"),
            _text(func.max(Tip.id)).label("fact_key"),
            func.jsonb_build_object(
                "tip_ids",
                func.jsonb_agg(Tip.id.distinct()),
                "last_received_on",
                func.max(Tip.received_on),
            ).label("facts"),
        )
        .where(Tip.received_on > since, Tip.received_on <= ctx.today, ctx.only(Tip.address_id))
        .group_by(Tip.address_id)
    )


def _recent_case_rule(ctx: RunContext, config: RuleConfig) -> Select:
    """Dwellings where a flag of one of the case rules (the setting ``case_rules``) was
    confirmed within the look-back period and has since been resolved: a closed but recent
    case. With ``whole_building``, a case anywhere in the same building (a dwelling of it,
    or the building itself) counts."""
    since = ctx.today - timedelta(days=config[LOOK_BACK_DAYS])
    case_flag = aliased(Flag)
    confirmed = aliased(FlagEvent)
    case_address = aliased(Address)
    cases = (
        select(
            case_flag.id,
            case_flag.address_id,
            func.coalesce(case_address.parent_id, case_address.id).label("building_id"),
            confirmed.occurred_on,
        )
        .join(case_address, case_address.id == case_flag.address_id)
        .join(confirmed, confirmed.flag_id == case_flag.id)
        .where(
            case_flag.rule != RuleCode.RECENT_CASE.value,
            case_flag.rule.in_([str(code) for code in config[CASE_RULES]]),
            case_flag.state == FlagState.RESOLVED,
            confirmed.to_state == FlagState.CONFIRMED,
            confirmed.occurred_on > since,
        )
        .subquery("cases")
    )
    here = aliased(Address)
    if config["whole_building"]:
        same_place = cases.c.building_id == func.coalesce(here.parent_id, here.id)
    else:
        same_place = cases.c.address_id == Dwelling.address_id
    return (
        select(
            Dwelling.address_id,
            Dwelling.id.label("dwelling_id"),
            true().label("holds"),
            _text(func.max(cases.c.id)).label("fact_key"),
            func.jsonb_build_object(
                "case_flag_ids",
                func.jsonb_agg(cases.c.id.distinct()),
                "last_confirmed_on",
                func.max(cases.c.occurred_on),
            ).label("facts"),
        )
        .join(here, here.id == Dwelling.address_id)
        .join(cases, same_place)
        .where(ctx.only(Dwelling.address_id))
        .group_by(Dwelling.address_id, Dwelling.id)
    )


def _moved_away_rule(ctx: RunContext, config: RuleConfig) -> Select:
    """Stays that a move-in elsewhere ended, recorded by a worker who could not see this
    dwelling, and not checked here yet (registry/person/residences.py)."""
    return (
        select(
            Dwelling.address_id,
            Dwelling.id.label("dwelling_id"),
            true().label("holds"),
            _text(func.max(Residence.id)).label("fact_key"),
            func.jsonb_build_object(
                "residence_ids",
                func.jsonb_agg(Residence.id.distinct()),
                "moved_out",
                func.max(Residence.moved_out),
            ).label("facts"),
        )
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .where(
            Residence.ended_by_residence_id.is_not(None),
            Residence.end_checked_on.is_(None),
            ctx.only(Dwelling.address_id),
        )
        .group_by(Dwelling.address_id, Dwelling.id)
    )


# -- the catalogue -------------------------------------------------------------------------


def _catalogue() -> tuple[Rule, ...]:
    grace = _l("Days of grace")
    look_back = _l("Look-back (days)")
    return (
        Rule(
            RuleCode.RENTED_UNFILED,
            _l("Rented with no current lease filing"),
            _l("Ask for the lease and file it, or correct the occupancy."),
            Basis.FACTS,
            3,
            _facts_rule(
                RuleCode.RENTED_UNFILED,
                _rented_unfiled_holds,
                lambda f, c: func.coalesce(_text(f.ended_filing_id), "none"),
                _rented_unfiled_facts,
            ),
            (
                _days(
                    GRACE_DAYS,
                    grace,
                    7,
                    365,
                    _l("Days after the last filing ended before a rented dwelling counts."),
                ),
            ),
        ),
        Rule(
            RuleCode.FILING_ENDED_OCCUPIED,
            _l("Filing ended and tenants still living there"),
            _l("Check whether the tenants stayed on: renew the filing or record the move-out."),
            Basis.FACTS,
            3,
            _facts_rule(
                RuleCode.FILING_ENDED_OCCUPIED,
                _ended_occupied_holds,
                lambda f, c: _text(f.ended_filing_id),
                _ended_occupied_facts,
            ),
            (_days(GRACE_DAYS, grace, 7, 365, _l("Days after the filing ended.")),),
        ),
        Rule(
            RuleCode.PLEDGE_MISSING,
            _l("Current filing missing a pledge"),
            _l("Collect the landlord's missing pledge."),
            Basis.FACTS,
            5,
            _facts_rule(RuleCode.PLEDGE_MISSING, _pledge_holds, _pledge_key, _pledge_facts),
            (
                _days(
                    GRACE_DAYS, grace, 14, 365, _l("Days after the filing starts to collect both.")
                ),
            ),
            reads_settings=(TYPED_SIGNATURE_COUNTS,),
        ),
        Rule(
            RuleCode.OVER_CAPACITY,
            _l("More occupants than the legal capacity"),
            _l("Count the people living there; look for signs of group renting."),
            Basis.FACTS,
            1,
            _facts_rule(
                RuleCode.OVER_CAPACITY,
                _over_capacity_holds,
                _over_capacity_key,
                _over_capacity_facts,
            ),
            (
                Setting(
                    "min_floor_area_per_person",
                    _l("Minimum floor area per person (m²)"),
                    SettingKind.DECIMAL,
                    None,
                    Decimal("0.01"),
                    Decimal("200"),
                ),
                Setting(
                    "max_people_per_room",
                    _l("Maximum people per room"),
                    SettingKind.INTEGER,
                    None,
                    1,
                    50,
                ),
                Setting(
                    "band",
                    _l("People per band"),
                    SettingKind.INTEGER,
                    3,
                    1,
                    100,
                    _l("A dismissed flag comes back once the excess grows by another band."),
                ),
            ),
        ),
        Rule(
            RuleCode.VACANT_OCCUPIED,
            _l("Vacant on record, yet people live there"),
            _l("Find out whether the occupancy or the list of residents is wrong."),
            Basis.FACTS,
            4,
            _facts_rule(
                RuleCode.VACANT_OCCUPIED,
                lambda f, c, t: _problem(f) == OccupancyProblem.VACANT_OCCUPIED,
                lambda f, c: _text(f.occupants),
                _occupancy_facts,
            ),
        ),
        Rule(
            RuleCode.OWNER_OCCUPIED_TENANTS,
            _l("Owner-occupied on record, yet only tenants live there"),
            _l("Find out whether the dwelling is let: correct the occupancy or the residents."),
            Basis.FACTS,
            4,
            _facts_rule(
                RuleCode.OWNER_OCCUPIED_TENANTS,
                lambda f, c, t: _problem(f) == OccupancyProblem.TENANTS_ONLY,
                lambda f, c: _text(f.occupants),
                _occupancy_facts,
            ),
        ),
        Rule(
            RuleCode.OCCUPANT_SURGE,
            _l("Sharp rise in the number of occupants"),
            _l("Count the people living there and ask since when."),
            Basis.FACTS,
            2,
            _facts_rule(
                RuleCode.OCCUPANT_SURGE,
                _surge_holds,
                lambda f, c: _text(f.occupants),
                _surge_facts,
            ),
            (
                _days("window_days", _l("Window (days)"), 30, 365, None, minimum=1),
                Setting(
                    "min_increase",
                    _l("Rise of at least (people)"),
                    SettingKind.INTEGER,
                    4,
                    1,
                    500,
                    _l("People living there now, less those living there at the window's start."),
                ),
            ),
        ),
        Rule(
            RuleCode.VISIT_UNREGISTERED,
            _l("Unregistered occupants found on a visit"),
            _l("Register the people found, or record that they left."),
            Basis.REPORTS,
            2,
            _visit_rule(VisitFinding.UNREGISTERED_OCCUPANTS),
            (
                _days(LOOK_BACK_DAYS, look_back, 60, 730, None, minimum=1),
                Setting("min_people", _l("At least (people)"), SettingKind.INTEGER, 1, 1, 500),
            ),
            uses_dwelling_facts=False,
        ),
        Rule(
            RuleCode.VISIT_GROUP_RENTING,
            _l("Signs of group renting found on a visit"),
            _l("Check the rooms, the beds and who lives there."),
            Basis.REPORTS,
            1,
            _visit_rule(VisitFinding.GROUP_RENTING_SIGNS),
            (_days(LOOK_BACK_DAYS, look_back, 60, 730, None, minimum=1),),
            uses_dwelling_facts=False,
        ),
        Rule(
            RuleCode.TIP,
            _l("Tip or complaint about the address"),
            _l("Check what the tip or complaint says."),
            Basis.REPORTS,
            2,
            _tip_rule,
            (_days(LOOK_BACK_DAYS, look_back, 90, 730, None, minimum=1),),
            uses_dwelling_facts=False,
        ),
        Rule(
            RuleCode.RECENT_CASE,
            _l("Confirmed case at the same address recently"),
            _l("Check that the case has not started again."),
            Basis.FACTS,
            3,
            _recent_case_rule,
            (
                _days(LOOK_BACK_DAYS, look_back, 180, 1825, None, minimum=1),
                Setting(
                    "whole_building",
                    _l("Count cases in the whole building"),
                    SettingKind.BOOLEAN,
                    False,
                ),
                Setting(
                    CASE_RULES,
                    _l("Flags that count as a case"),
                    SettingKind.RULES,
                    DEFAULT_CASE_RULES,
                    help=_l(
                        "A flag of these rules that a person confirmed and then resolved. "
                        "By default, findings about the people living there; paperwork "
                        "lapses are not cases."
                    ),
                    choices=tuple(str(code) for code in RuleCode if code != RuleCode.RECENT_CASE),
                ),
            ),
            uses_dwelling_facts=False,
            description=_l(
                "A case is a flag that a person confirmed and later resolved, of one of the "
                "rules chosen below. By default these are findings about the people living "
                "there: more occupants than the legal capacity, unregistered occupants or "
                "signs of group renting found on a visit, a tip or complaint. Paperwork "
                "lapses (no current filing, an ended filing, a missing pledge) are not "
                "cases: their own rules flag them while they last. A flag raised on an "
                "earlier choice resolves itself at the next run once its cases no longer "
                "count."
            ),
        ),
        Rule(
            RuleCode.MOVED_AWAY_UNCHECKED,
            _l("A stay here was ended by a move-in recorded elsewhere"),
            _l("Check that the person has left, then mark the stay as checked."),
            Basis.FACTS,
            4,
            _moved_away_rule,
            uses_dwelling_facts=False,
        ),
    )


RULES: tuple[Rule, ...] = _catalogue()
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def rule_named(code: str) -> Rule | None:
    return RULES_BY_CODE.get(code)


# -- settings in force ---------------------------------------------------------------------


def config_of(rule: Rule, version: RuleVersion | None) -> RuleConfig:
    if version is None:
        return RuleConfig(rule, True, rule.default_priority, rule.defaults())
    values = {}
    for setting in rule.settings:
        stored = version.settings.get(setting.name, setting.default)
        try:
            values[setting.name] = None if stored is None else setting.parse(stored)
        except FieldError:  # a value a later version of the code no longer accepts
            values[setting.name] = setting.default
    return RuleConfig(
        rule, version.enabled, version.priority, values, version.id, version.valid_from
    )


def newest_versions(today: date) -> Select:
    """The version in force of every rule that has one: the newest started by today's end."""
    return (
        select(RuleVersion)
        .where(RuleVersion.valid_from < end_of_day(today, deployment_zone()))
        .ext(distinct_on(RuleVersion.rule))
        .order_by(RuleVersion.rule, RuleVersion.valid_from.desc(), RuleVersion.id.desc())
    )


def rules_in_force(
    session: Session, today: date, rules: Sequence[Rule] = RULES
) -> dict[str, RuleConfig]:
    """Every rule's settings in force on ``today`` (its defaults if never saved)."""
    versions = {v.rule: v for v in session.scalars(newest_versions(today))}
    return {rule.code: config_of(rule, versions.get(rule.code)) for rule in rules}


def priority_table(configs: dict[str, RuleConfig]):
    """(rule, priority) of every rule as a VALUES table, for ordering flags in SQL: the
    sweeps visit the highest priority (1) first, then the oldest flag."""
    rows = [(code, config.priority) for code, config in configs.items()]
    return values(column("rule", String), column("priority", Integer), name="rule_priority").data(
        rows
    )
