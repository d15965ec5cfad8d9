"""Forms of the officer's desk: the look-up (GET) and the reveal of an ID number (POST)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from registry.validators import DocumentType

LOOKUP_KINDS = [
    SelectChoice("person", _l("Person by name or phone")),
    SelectChoice("document", _l("Person by ID number")),
    SelectChoice("dwelling", _l("Dwelling by address")),
]


class LookupForm(FlaskForm):
    """A search is a POST with a CSRF token: ID numbers and phones stay out of URLs."""

    kind = RadioField(_l("Look for"), choices=LOOKUP_KINDS, default="person")
    document_type = SelectField(
        _l("Document type"),
        choices=[SelectChoice(kind.value, kind.label) for kind in DocumentType],
        default=DocumentType.RESIDENT_ID.value,
    )
    q = StringField(_l("Search for"), validators=[Length(max=100)])


class RevealForm(FlaskForm):
    """The reason is checked by the service (registry.person.services.reveal_document)."""

    reason = TextAreaField(_l("Reason for revealing the full number"), validators=[Length(max=500)])


class StationFilterForm(FlaskForm):
    """Admins may narrow the district's dashboard to one police station's jurisdiction."""

    class Meta:
        csrf = False

    station = SelectField(_l("Police station"), choices=[], validate_choice=False)


class RefreshFiguresForm(FlaskForm):
    """The button that recomputes the per-cell figures: a POST with a CSRF token."""


TRAIL_KIND_CHOICES = [
    SelectChoice("", _l("Everything")),
    SelectChoice("changes", _l("Changes")),
    SelectChoice("views", _l("Views")),
    SelectChoice("reveals", _l("Reveals of a number")),
]


class TrailFilterForm(FlaskForm):
    """What of a record's audit trail to show (GET: the filter stays in the URL for Back)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Kind"), choices=TRAIL_KIND_CHOICES, default="")
    user = SelectField(_l("User"), choices=[], validate_choice=False, default="")
    date_from = StringField(
        _l("From"), validators=[Length(max=30)], description=_l("For example 2026-11-01")
    )
    date_to = StringField(
        _l("To"), validators=[Length(max=30)], description=_l("The day itself included")
    )
