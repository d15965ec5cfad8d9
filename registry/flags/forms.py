"""Forms of the flag pages: rule settings, decisions, tips, visit reports, the list filters.

The forms only carry the input; the services check it (registry/flags/settings.py,
services.py, reports.py) and their field errors are placed on these fields. Every field
can be re-posted as a hidden input by the shared conflict page.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from registry.admin.forms import CheckboxList
from registry.flags.models import PRIORITY_HIGHEST, PRIORITY_LOWEST
from registry.flags.rules import RULES_BY_CODE, Rule, SettingKind
from registry.labels import (
    FINDING_LABELS,
    TIP_KIND_LABELS,
    TIP_SOURCE_LABELS,
)

PRIORITY_CHOICES = [
    SelectChoice(str(p), str(p)) for p in range(PRIORITY_HIGHEST, PRIORITY_LOWEST + 1)
]


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels.items()]


class RuleSettingsBase(FlaskForm):
    """The fields every rule has; :func:`rule_settings_form` adds the rule's own."""

    enabled = BooleanField(_l("Switched on: the rule raises flags"))
    priority = SelectField(
        _l("Priority (1 is visited first)"), choices=PRIORITY_CHOICES, validate_choice=False
    )
    valid_from = StringField(_l("In force from"), render_kw={"type": "date"})
    note = StringField(_l("Note"))
    version = HiddenField()


_SETTINGS_FORMS: dict[str, type[FlaskForm]] = {}


def rule_settings_form(rule: Rule) -> type[FlaskForm]:
    """The settings form of one rule: the common fields and one field per setting."""
    if rule.code in _SETTINGS_FORMS:
        return _SETTINGS_FORMS[rule.code]
    fields = {}
    for setting in rule.settings:
        if setting.kind == SettingKind.BOOLEAN:
            fields[setting.name] = BooleanField(setting.label)
        elif setting.kind == SettingKind.RULES:
            fields[setting.name] = SelectMultipleField(
                setting.label,
                choices=[SelectChoice(code, RULES_BY_CODE[code].label) for code in setting.choices],
                validate_choice=False,
                widget=CheckboxList(),
            )
        else:
            mode = "decimal" if setting.kind == SettingKind.DECIMAL else "numeric"
            fields[setting.name] = StringField(setting.label, render_kw={"inputmode": mode})
    form = type(f"RuleSettingsForm_{rule.code}", (RuleSettingsBase,), fields)
    _SETTINGS_FORMS[rule.code] = form
    return form


class DecisionForm(FlaskForm):
    state = HiddenField(_l("Decision"))
    reason = TextAreaField(_l("Reason"))
    version = HiddenField()


class TipForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_choices(TIP_KIND_LABELS), validate_choice=False)
    source = SelectField(
        _l("Received by"), choices=_choices(TIP_SOURCE_LABELS), validate_choice=False
    )
    received_on = StringField(_l("Received on"), render_kw={"type": "date"})
    text = TextAreaField(_l("What the tip or complaint says"))
    tipster_name = StringField(_l("Tipster's name (optional)"))
    tipster_phone = StringField(_l("Tipster's phone (optional)"), render_kw={"inputmode": "tel"})


class VisitReportForm(FlaskForm):
    finding = SelectField(
        _l("What was found"), choices=_choices(FINDING_LABELS), validate_choice=False
    )
    people = StringField(_l("How many people"), render_kw={"inputmode": "numeric"})
    observed_on = StringField(_l("Seen on"), render_kw={"type": "date"})
    note = TextAreaField(_l("Note"))


def place_errors(form, fields: dict) -> list:
    """Put a service's field errors on the form's fields; return those with no field."""
    unplaced = []
    for name, messages in (fields or {}).items():
        if name in form:
            form[name].errors = list(form[name].errors or []) + [str(m) for m in messages]
        else:
            unplaced.extend(str(m) for m in messages)
    return unplaced
