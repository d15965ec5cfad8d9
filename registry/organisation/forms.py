"""The organisation form: credit code, name, kind, address, legal representative, staff."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from registry.forms import Mandatory
from registry.grid.forms import Choice
from registry.labels import ORGANISATION_KIND_LABELS
from registry.organisation.services import OrganisationInput

LABELS = {
    "credit_code": _l("Unified social credit code"),
    "name": _l("Name"),
    "kind": _l("Kind"),
    "address_code": _l("Address code"),
    "legal_representative": _l("Legal representative"),
    "employee_count": _l("Employees"),
}


class OrganisationForm(FlaskForm):
    credit_code = StringField(LABELS["credit_code"], [Mandatory()])
    name = StringField(LABELS["name"], [Mandatory()])
    kind = Choice(
        LABELS["kind"], choices=[(str(k), v) for k, v in ORGANISATION_KIND_LABELS.items()]
    )
    address_code = StringField(LABELS["address_code"], [Mandatory()])
    legal_representative = StringField(LABELS["legal_representative"], [Mandatory()])
    employee_count = StringField(LABELS["employee_count"])

    def to_input(self) -> OrganisationInput:
        return OrganisationInput(
            credit_code=self.credit_code.data,
            name=self.name.data,
            kind=self.kind.data,
            address_code=self.address_code.data,
            legal_representative=self.legal_representative.data,
            employee_count=self.employee_count.data,
        )
