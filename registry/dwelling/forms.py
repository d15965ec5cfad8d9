"""The dwelling form: use, size, rooms, occupancy and owner."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from registry.dwelling.services import DwellingInput, OwnerKind
from registry.forms import Mandatory
from registry.grid.forms import Choice
from registry.labels import OCCUPANCY_LABELS, USE_LABELS
from registry.validators import DocumentType
from registry.web.sealed import DocumentNumberField

OWNER_KIND_LABELS = {
    OwnerKind.KEEP: _l("Keep the current owner"),
    OwnerKind.NONE: _l("No owner recorded"),
    OwnerKind.PERSON: _l("A person"),
    OwnerKind.ORGANISATION: _l("An organisation"),
}
LABELS = {
    "use": _l("Use"),
    "floor_area": _l("Floor area (m²)"),
    "rooms": _l("Rooms"),
    "occupancy": _l("Occupancy"),
    "owner_kind": _l("Kind of owner"),
    "owner_name": _l("Owner's name"),
    "owner_document_type": _l("Owner's document type"),
    "owner_document_number": _l("Owner's document number"),
    "owner_credit_code": _l("Owner's credit code"),
}


def document_choices():
    return [(str(kind), kind.label) for kind in DocumentType]


class DwellingForm(FlaskForm):
    use = Choice(LABELS["use"], choices=[(str(k), v) for k, v in USE_LABELS.items()])
    floor_area = StringField(LABELS["floor_area"], [Mandatory()])
    rooms = StringField(LABELS["rooms"], [Mandatory()])
    occupancy = Choice(
        LABELS["occupancy"], choices=[(str(k), v) for k, v in OCCUPANCY_LABELS.items()]
    )
    owner_kind = Choice(LABELS["owner_kind"])
    owner_name = StringField(LABELS["owner_name"])
    owner_document_type = Choice(LABELS["owner_document_type"], choices=document_choices())
    owner_document_number = DocumentNumberField(LABELS["owner_document_number"])
    owner_credit_code = StringField(LABELS["owner_credit_code"])

    def set_owner_kinds(self, editing: bool) -> None:
        kinds = OwnerKind.ALL if editing else OwnerKind.ALL[1:]
        self.owner_kind.set_options([(kind, OWNER_KIND_LABELS[kind]) for kind in kinds])

    def to_input(self) -> DwellingInput:
        return DwellingInput(
            use=self.use.data,
            floor_area=self.floor_area.data,
            rooms=self.rooms.data,
            occupancy=self.occupancy.data,
            owner_kind=self.owner_kind.data,
            owner_name=self.owner_name.data,
            owner_document_type=self.owner_document_type.data,
            owner_document_number=self.owner_document_number.data,
            owner_credit_code=self.owner_credit_code.data,
        )
