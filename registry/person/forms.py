"""Occupant forms: move in, move out, correct a residence, correct a person's details."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from registry.forms import Mandatory
from registry.grid.forms import Choice
from registry.labels import RELATIONSHIP_LABELS, RESIDENCE_KIND_LABELS
from registry.person.residences import MoveInInput, ResidenceInput
from registry.person.services import PersonInput
from registry.validators import DocumentType
from registry.web.sealed import DocumentNumberField

LABELS = {
    "document_type": _l("Document type"),
    "document_number": _l("Document number"),
    "name": _l("Full name"),
    "phone": _l("Phone"),
    "birth_date": _l("Birth date"),
    "moved_in": _l("Moved in on"),
    "moved_out": _l("Moved out on"),
    "kind": _l("Registered or transient"),
    "relationship": _l("Relationship to the dwelling"),
}


def _document_choices():
    return [(str(kind), kind.label) for kind in DocumentType]


def _kind_choices():
    return [(str(k), v) for k, v in RESIDENCE_KIND_LABELS.items()]


def _relationship_choices():
    return [(str(k), v) for k, v in RELATIONSHIP_LABELS.items()]


class MoveInForm(FlaskForm):
    document_type = Choice(LABELS["document_type"], choices=_document_choices())
    document_number = DocumentNumberField(LABELS["document_number"], [Mandatory()])
    name = StringField(LABELS["name"], [Mandatory()])
    phone = StringField(LABELS["phone"])
    birth_date = StringField(LABELS["birth_date"])
    moved_in = StringField(LABELS["moved_in"], [Mandatory()])
    kind = Choice(LABELS["kind"], choices=_kind_choices(), default="transient")
    relationship = Choice(LABELS["relationship"], choices=_relationship_choices(), default="tenant")

    def to_input(self) -> MoveInInput:
        return MoveInInput(
            document_type=self.document_type.data,
            document_number=self.document_number.data,
            moved_in=self.moved_in.data,
            kind=self.kind.data,
            relationship=self.relationship.data,
            name=self.name.data,
            phone=self.phone.data,
            birth_date=self.birth_date.data,
        )


class MoveOutForm(FlaskForm):
    moved_out = StringField(LABELS["moved_out"], [Mandatory()])


class ResidenceForm(FlaskForm):
    moved_in = StringField(LABELS["moved_in"], [Mandatory()])
    moved_out = StringField(LABELS["moved_out"])
    kind = Choice(LABELS["kind"], choices=_kind_choices())
    relationship = Choice(LABELS["relationship"], choices=_relationship_choices())

    def to_input(self) -> ResidenceInput:
        return ResidenceInput(
            moved_in=self.moved_in.data,
            moved_out=self.moved_out.data,
            kind=self.kind.data,
            relationship=self.relationship.data,
        )


class PersonForm(FlaskForm):
    name = StringField(LABELS["name"], [Mandatory()])
    document_type = Choice(LABELS["document_type"], choices=_document_choices())
    # Empty keeps the stored number; a new one typed into a form refused for another
    # field comes back sealed, never in clear (registry/web/sealed.py).
    document_number = DocumentNumberField(LABELS["document_number"])
    phone = StringField(LABELS["phone"])
    birth_date = StringField(LABELS["birth_date"])

    def to_input(self) -> PersonInput:
        return PersonInput(
            name=self.name.data or "",
            document_type=self.document_type.data or "",
            document_number=self.document_number.data or "",
            phone=self.phone.data or None,
            birth_date=self.birth_date.data or None,
        )
