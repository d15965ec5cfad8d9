"""Forms of the sweep pages; the services validate, the forms carry CSRF and the values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)

from registry.labels import MEMBER_FUNCTION_LABELS, OUTCOME_LABELS

VISIT_LABELS = {
    "outcome": _l("What you found"),
    "people": _l("How many people not registered here"),
    "note": _l("Note"),
    "photos": _l("Photos (optional)"),
}


class VisitForm(FlaskForm):
    """One stop: kept small for a weak connection (one outcome, a count, a note)."""

    outcome = RadioField(
        VISIT_LABELS["outcome"],
        choices=[(str(k), v) for k, v in OUTCOME_LABELS.items()],
        validate_choice=False,
    )
    people = StringField(VISIT_LABELS["people"], render_kw={"inputmode": "numeric"})
    note = TextAreaField(VISIT_LABELS["note"], render_kw={"rows": 3, "maxlength": 1000})
    photos = MultipleFileField(
        VISIT_LABELS["photos"], render_kw={"accept": "image/*", "capture": "environment"}
    )
    submission = HiddenField()


class PlanForm(FlaskForm):
    focus_area = HiddenField()
    week = HiddenField()
    # "station" or the id of a building of the area (registry/sweeps/start.py)
    start = StringField(_l("Start of the route"))
    start_lon = HiddenField()
    start_lat = HiddenField()


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"))
    station = SelectField(_l("Police station"), validate_choice=False)


class MemberForm(FlaskForm):
    username = StringField(_l("Username"))
    function = SelectField(
        _l("Function on the team"),
        choices=[("", _l("As their role"))]
        + [(str(k), v) for k, v in MEMBER_FUNCTION_LABELS.items()],
        validate_choice=False,
    )


class ReasonForm(FlaskForm):
    """Closing or reopening a sweep: the officer's reason goes to the audit log."""

    reason = TextAreaField(_l("Reason"), render_kw={"rows": 3, "maxlength": 500})


class AssignTeamForm(FlaskForm):
    team = SelectField(_l("Sweep team"), validate_choice=False)


class SettingsForm(FlaskForm):
    stops_per_day = StringField(
        _l("Stops per team-day at most"), render_kw={"inputmode": "numeric"}
    )
    sample_percent = StringField(
        _l("Random sample: share of the rented dwellings without a flag (%)"),
        render_kw={"inputmode": "decimal"},
    )
