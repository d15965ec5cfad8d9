"""Forms of the lease pages. They only parse: the services validate with registry.validators.

Dates are text inputs of type "date" rather than WTForms DateFields, so a wrong value is
given back exactly as typed together with the service's message. The filing's version is
not a form field: the pages write it as a plain hidden input and the views read the last
one posted, which is what the conflict page sends again.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from registry.forms import Mandatory
from registry.person.services import PersonInput
from registry.validators import DocumentType
from registry.web.sealed import DocumentNumberField

DATE = {"type": "date"}


def document_choices() -> list[tuple[str, object]]:
    return [(kind.value, kind.label) for kind in DocumentType]


class PersonFields(Form):
    """Name and identity document of one person (a tenant row or the landlord)."""

    name = StringField(_l("Full name"), render_kw={"autocomplete": "off"})
    document_type = SelectField(
        _l("Document type"),
        choices=document_choices,
        default=DocumentType.RESIDENT_ID.value,
        validate_choice=False,
    )
    document_number = DocumentNumberField(
        _l("Document number"), render_kw={"autocomplete": "off", "autocapitalize": "characters"}
    )
    phone = StringField(_l("Phone (optional)"), render_kw={"inputmode": "tel"})

    def person_input(self) -> PersonInput:
        return PersonInput(
            name=self.name.data or "",
            document_type=self.document_type.data or "",
            document_number=self.document_number.data or "",
            phone=(self.phone.data or "").strip() or None,
        )


class LeaseForm(FlaskForm):
    """File a lease, or renew one (then the old landlord and tenants may carry over)."""

    starts_on = StringField(_l("Term starts on"), [Mandatory()], render_kw=DATE)
    ends_on = StringField(_l("Term ends on"), [Mandatory()], render_kw=DATE)
    monthly_rent = StringField(
        _l("Monthly rent (yuan)"),
        [Mandatory()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    landlord_choice = RadioField(_l("Landlord"), default="owner", validate_choice=False)
    landlord = FormField(PersonFields)
    keep_tenants = SelectMultipleField(_l("Tenants who stay"), coerce=int, validate_choice=False)
    tenants = FieldList(FormField(PersonFields), min_entries=1, max_entries=20)
    add_row = SubmitField(_l("Add another tenant"))
    save = SubmitField(_l("File the lease"))


class CorrectFilingForm(FlaskForm):
    starts_on = StringField(_l("Term starts on"), [Mandatory()], render_kw=DATE)
    ends_on = StringField(_l("Term ends on"), [Mandatory()], render_kw=DATE)
    monthly_rent = StringField(
        _l("Monthly rent (yuan)"), [Mandatory()], render_kw={"inputmode": "decimal"}
    )


class EndEarlyForm(FlaskForm):
    ended_on = StringField(_l("Last day of the lease"), [Mandatory()], render_kw=DATE)


class CancelFilingForm(FlaskForm):
    reason = TextAreaField(_l("Why is it cancelled?"), render_kw={"rows": 2, "maxlength": 200})


class AddTenantForm(FlaskForm):
    name = StringField(_l("Full name"), [Mandatory()], render_kw={"autocomplete": "off"})
    document_type = SelectField(
        _l("Document type"),
        choices=document_choices,
        default=DocumentType.RESIDENT_ID.value,
        validate_choice=False,
    )
    document_number = DocumentNumberField(
        _l("Document number"),
        [Mandatory()],
        render_kw={"autocomplete": "off", "autocapitalize": "characters"},
    )
    phone = StringField(_l("Phone (optional)"), render_kw={"inputmode": "tel"})
    resident_id = HiddenField()

    def person_input(self) -> PersonInput:
        return PersonInput(
            name=self.name.data or "",
            document_type=self.document_type.data or "",
            document_number=self.document_number.data or "",
            phone=(self.phone.data or "").strip() or None,
        )


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token (and the version beside it)."""


SIGNING_METHODS = [
    SelectChoice("drawn", _l("Draw the signature")),
    SelectChoice("typed", _l("Type the full name instead (for a signer who cannot draw)")),
]


class SignForm(FlaskForm):
    signer = RadioField(_l("Who signs"), validate_choice=False)
    confirm = BooleanField(_l("The signer has read this text and agrees to it"))
    method = RadioField(
        _l("How the signer signs"), choices=SIGNING_METHODS, default="drawn", validate_choice=False
    )
    typed_name = StringField(_l("The signer's full name, typed"), [Length(max=50)])
    signature = HiddenField(_l("Signature"))
