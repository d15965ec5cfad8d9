"""Flag pages: the administrators' rule settings (``/admin/rules``) and, for officers and
grid workers, the flags themselves, tips and complaints, and visit reports (``/flags``).

Views are thin: parse the form, call a service, render or redirect. A service's field
errors re-render the form with everything typed; a save based on a stale version shows the
two-sided conflict page. Every page checks the role first and the scope in the service, so
a page or record out of reach answers "not found".
"""

from __future__ import annotations

import math

from babel.lists import format_list
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from registry.accounts.models import Role
from registry.address.models import Address
from registry.flags import reports, services
from registry.flags import settings as rule_settings
from registry.flags.forms import (
    PRIORITY_CHOICES,
    DecisionForm,
    TipForm,
    VisitReportForm,
    place_errors,
    rule_settings_form,
)
from registry.flags.models import TRANSITIONS
from registry.flags.rules import RULES, SettingKind, rule_named, rules_in_force
from registry.flags.settings import RuleSettingsInput, VersionState
from registry.flags.shown import changed_facts, fact_rows, place_of, place_of_address
from registry.labels import (
    FINDING_LABELS,
    FLAG_EVENT_LABELS,
    FLAG_STATE_FILTER_LABELS,
    FLAG_STATE_LABELS,
    FLAG_STEP_LABELS,
    TIP_KIND_LABELS,
    TIP_SOURCE_LABELS,
)
from registry.scope import get_in_scope
from registry.web.auth import current_actor, roles_required
from registry.web.clock import today
from registry.web.paging import page_number, page_url
from registry.web.saving import save
from registry.web.session import db_session

rules_blueprint = Blueprint("rules", __name__, url_prefix="/admin/rules")
flags_blueprint = Blueprint("flags", __name__, url_prefix="/flags")

admin_only = roles_required(Role.ADMIN)


def _pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def _labels(form) -> dict[str, str]:
    return {field.name: str(field.label.text) for field in form}


@rules_blueprint.app_context_processor
def _helpers() -> dict:
    return {
        "setting_value": setting_value,
        "changed_facts": changed_facts,
        "flag_state_labels": FLAG_STATE_LABELS,
    }


def setting_value(setting, value) -> str:
    """A setting's value as a person reads it."""
    if value is None or value == "":
        return _("not set")
    if setting.kind == SettingKind.BOOLEAN:
        return _("Yes") if value else _("No")
    if setting.kind == SettingKind.RULES:
        labels = [str(rule.label) if (rule := rule_named(code)) else code for code in value]
        return format_list(labels, locale=get_locale())
    return str(value)


# -- rule settings (administrators) ---------------------------------------------------------


@rules_blueprint.route("/", endpoint="index")
@admin_only
def rules_index():
    configs = rule_settings.rules_overview(db_session(), current_actor(), today())
    return render_template("flags/rules.html", configs=configs)


def _fill(form, config, newest) -> None:
    values = rule_settings.form_values(config)
    for name, value in values.items():
        if name in form:
            form[name].data = str(value) if name == "priority" else value
    form.valid_from.data = today().isoformat()
    form.version.data = str(newest.id) if newest else ""


@rules_blueprint.route("/<code>", methods=["GET", "POST"], endpoint="edit")
@admin_only
def rule_edit(code: str):
    session, actor = db_session(), current_actor()
    rule = rule_settings.rule_or_404(code)
    history = rule_settings.rule_history(session, actor, rule.code, today())
    in_force = next((row for row in history if row.state == VersionState.IN_FORCE), None)
    form = rule_settings_form(rule)()
    if request.method == "GET":
        config = rule_settings.rules_in_force(session, today(), [rule])[rule.code]
        _fill(form, config, rule_settings.newest_version(session, rule.code))
        return _render_edit(rule, form, history, in_force)
    data = RuleSettingsInput(
        enabled=form.enabled.data,
        priority=form.priority.data,
        values={s.name: form[s.name].data for s in rule.settings},
        valid_from=form.valid_from.data,
        note=form.note.data,
    )
    if not form.validate_on_submit():
        return _render_edit(rule, form, history, in_force), 422
    saved, failed = save(
        form,
        lambda: rule_settings.save_rule_version(
            session, actor, rule.code, data, form.version.data, today()
        ),
        invalid=lambda fields: _render_edit(
            rule, form, history, in_force, place_errors(form, fields)
        ),
        labels=_labels(form),
    )
    if failed:
        return failed
    flash(_("The new settings were saved; earlier ones stay in the history."), "ok")
    flash(_applied_message(saved), "ok")
    return redirect(url_for(".edit", code=rule.code))


def _applied_message(saved: rule_settings.SavedVersion) -> str:
    """When the new settings reach the flags: now (with what changed) or on their day."""
    applied = saved.applied
    if applied is None:
        return _(
            "They take effect on %(date)s: the nightly rule run of that day applies them "
            "to the flags.",
            date=format_date(saved.version.valid_from),
        )
    return _(
        "In force now, and applied to the flags at once: %(raised)s raised, %(resolved)s "
        "resolved, %(withdrawn)s withdrawn. Confirmed flags stay until a person resolves them.",
        raised=applied.raised,
        resolved=applied.resolved,
        withdrawn=applied.withdrawn,
    )


def _render_edit(rule, form, history, in_force, unplaced=()):
    return render_template(
        "flags/rule_edit.html",
        rule=rule,
        form=form,
        history=history,
        in_force=in_force,
        unplaced=unplaced,
        priorities=PRIORITY_CHOICES,
    )


# -- flags (officers decide; grid workers see those of their cells) -------------------------

deciders = roles_required(*services.DECIDING_ROLES)
viewers = roles_required(*services.VIEWING_ROLES)
reporters = roles_required(*reports.REPORTING_ROLES)
PER_PAGE = 50


@flags_blueprint.context_processor
def _flag_helpers() -> dict:
    return {
        "page_url": page_url,
        "state_labels": FLAG_STATE_LABELS,
        "step_labels": FLAG_STEP_LABELS,
        "tip_kind_labels": TIP_KIND_LABELS,
        "tip_source_labels": TIP_SOURCE_LABELS,
        "finding_labels": FINDING_LABELS,
        "event_labels": FLAG_EVENT_LABELS,
        "state_filter_labels": FLAG_STATE_FILTER_LABELS,
    }


@flags_blueprint.route("/")
@deciders
def index():
    session, actor = db_session(), current_actor()
    day = today()
    configs = rules_in_force(session, day)
    filters = services.clean_filters(request.args, configs)
    page = page_number()
    # A building asked for (the map's popup links here) must be in scope: else "not found".
    building = (
        get_in_scope(session, actor, Address, filters.building_id)
        if filters.building_id is not None
        else None
    )
    rows, total = services.list_flags(session, actor, filters, day, page, PER_PAGE)
    return render_template(
        "flags/list.html",
        building=building,
        rows=rows,
        total=total,
        page=page,
        pages=_pages(total, PER_PAGE),
        filters=filters,
        cells=services.cells_for_filter(session, actor),
        rules=[configs[rule.code] for rule in RULES],
        state_choices=services.STATE_CHOICES,
        age_choices=services.AGE_CHOICES,
    )


def _render_flag(flag, form=None, unplaced=(), moved_on=False):
    """The flag's page. ``moved_on``: the user's decision met a flag that someone (or the
    system) changed meanwhile; the page shows it as it is now, what changed it, and the
    user's step and reason, which stay in the form for a new choice."""
    session, actor = db_session(), current_actor()
    day = today()
    config = rules_in_force(session, day).get(flag.rule)
    may_decide = actor.role in services.DECIDING_ROLES
    if form is None and may_decide:
        form = DecisionForm()
        form.version.data = str(flag.version)
    history = services.flag_history(session, flag)
    return render_template(
        "flags/flag.html",
        flag=flag,
        config=config,
        place=place_of(session, actor, flag),
        facts=fact_rows(session, actor, flag),
        history=history,
        steps=TRANSITIONS[flag.state] if may_decide else (),
        form=form,
        unplaced=unplaced,
        age=(day - flag.raised_on).days,
        moved_on=history[-1] if moved_on and history else None,
    )


def _render_moved_on(flag_id: int, form):
    """The flag as it is now, after a decision based on an older version of it: nothing
    was saved; the next choice is made on the current version, the reason kept."""
    session = db_session()
    session.expire_all()  # what the other person saved, not what this session remembers
    fresh = services.get_flag(session, current_actor(), flag_id)
    form.version.data = str(fresh.version)
    return _render_flag(fresh, form, moved_on=True)


@flags_blueprint.route("/<int:flag_id>")
@viewers
def flag(flag_id: int):
    return _render_flag(services.get_flag(db_session(), current_actor(), flag_id))


@flags_blueprint.route("/<int:flag_id>/decide", methods=["POST"])
@deciders
def decide(flag_id: int):
    session, actor = db_session(), current_actor()
    record = services.get_flag(session, actor, flag_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_flag(record, form), 422

    def current_after_race():
        fresh = services.get_flag(session, actor, flag_id)
        return services.flag_values(fresh), fresh.version

    decided, failed = save(
        form,
        lambda: services.decide_flag(
            session, actor, flag_id, form.state.data, form.reason.data, form.version.data, today()
        ),
        invalid=lambda fields: _render_flag(
            services.get_flag(session, actor, flag_id), form, place_errors(form, fields)
        ),
        labels=_labels(form),
        current_after_race=current_after_race,
        conflict=lambda _error: _render_moved_on(flag_id, form),
    )
    if failed:
        return failed
    flash(_("Decision saved: %(state)s.", state=FLAG_STATE_LABELS[decided.state]), "ok")
    return redirect(url_for(".flag", flag_id=decided.id))


# -- tips and complaints, visit findings --------------------------------------------------


def _render_tip_form(place, form, unplaced=()):
    return render_template("flags/tip_form.html", place=place, form=form, unplaced=unplaced)


@flags_blueprint.route("/places/<int:address_id>/tip", methods=["GET", "POST"])
@reporters
def new_tip(address_id: int):
    session, actor = db_session(), current_actor()
    place = reports.tip_place(session, actor, address_id)
    form = TipForm()
    if request.method == "GET":
        form.received_on.data = today().isoformat()
        return _render_tip_form(place, form)
    if not form.validate_on_submit():
        return _render_tip_form(place, form), 422
    data = reports.TipInput(
        kind=form.kind.data,
        source=form.source.data,
        text=form.text.data,
        received_on=form.received_on.data,
        tipster_name=form.tipster_name.data,
        tipster_phone=form.tipster_phone.data,
    )
    recorded, failed = save(
        form,
        lambda: reports.record_tip(session, actor, address_id, data, today()),
        invalid=lambda fields: _render_tip_form(place, form, place_errors(form, fields)),
        labels=_labels(form),
    )
    if failed:
        return failed
    tip, outcome = recorded
    flash(str(TIP_FLAG_MESSAGES[outcome]), "ok")
    return redirect(url_for(".tip", tip_id=tip.id))


TIP_FLAG_MESSAGES = {
    reports.TipFlag.RAISED: _l("The tip was recorded; its flag is raised on the place."),
    reports.TipFlag.ADDED: _l(
        "The tip was recorded and added to the flag already open on the place."
    ),
    reports.TipFlag.DECIDED: _l(
        "The tip was recorded. The place's tip flag is already confirmed: the officer "
        "handling it finds the tip on the place."
    ),
    reports.TipFlag.NONE: _l(
        "The tip was recorded. It raises no flag: it is older than the rule's look-back, "
        "or the rule is switched off."
    ),
}


@flags_blueprint.route("/tips/<int:tip_id>")
@viewers
def tip(tip_id: int):
    session, actor = db_session(), current_actor()
    record = reports.get_tip(session, actor, tip_id)
    name, phone = reports.show_tipster(session, actor, record)
    return render_template(
        "flags/tip.html",
        tip=record,
        place=place_of_address(actor, record.address, record.dwelling_id),
        tipster_name=name,
        tipster_phone=phone,
        may_see_tipster=reports.may_see_tipster(actor),
    )


def _render_visit_form(dwelling, form, unplaced=()):
    return render_template(
        "flags/visit_form.html",
        place=place_of_address(current_actor(), dwelling.address, dwelling.id),
        form=form,
        unplaced=unplaced,
    )


@flags_blueprint.route("/dwellings/<int:dwelling_id>/visit", methods=["GET", "POST"])
@reporters
def new_visit_report(dwelling_id: int):
    session, actor = db_session(), current_actor()
    dwelling = reports.dwelling_for_report(session, actor, dwelling_id)
    form = VisitReportForm()
    if request.method == "GET":
        form.observed_on.data = today().isoformat()
        return _render_visit_form(dwelling, form)
    if not form.validate_on_submit():
        return _render_visit_form(dwelling, form), 422
    data = reports.VisitInput(
        finding=form.finding.data,
        people=form.people.data,
        observed_on=form.observed_on.data,
        note=form.note.data,
    )
    _saved, failed = save(
        form,
        lambda: reports.record_visit_report(session, actor, dwelling_id, data, today()),
        invalid=lambda fields: _render_visit_form(dwelling, form, place_errors(form, fields)),
        labels=_labels(form),
    )
    if failed:
        return failed
    flash(_("What you found was recorded."), "ok")
    return redirect(place_of_address(actor, dwelling.address, dwelling.id).url or url_for(".index"))
