"""Forms of the grid worker's pages, and the pieces the other concept forms share.

Every field is plain text (or a choice) so that whatever the worker typed comes back
unchanged when validation fails; the services validate with registry/validators.py, so
the same input gets the same verdict on every path into the registry.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput, Select

from registry.validators import DocumentType


class ChoiceSelect(Select):
    """A select that becomes a hidden input when asked (the conflict page re-posts fields)."""

    def __call__(self, field, **kwargs) -> Markup:
        if kwargs.get("type") == "hidden":
            kwargs.pop("type")
            return HiddenInput()(field, **kwargs)
        return super().__call__(field, **kwargs)


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the options WTForms expects."""
    return [p if isinstance(p, SelectChoice) else SelectChoice(p[0], p[1]) for p in pairs]


class Choice(SelectField):
    """A choice whose value is checked by the service, not by WTForms."""

    widget = ChoiceSelect()

    def __init__(self, label=None, validators=None, choices=None, **kwargs) -> None:
        kwargs.setdefault("validate_choice", False)
        super().__init__(label, validators, choices=options(choices or []), **kwargs)

    def set_options(self, pairs) -> None:
        self.choices = options(pairs)

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class SearchForm(FlaskForm):
    """The grid worker's search: POSTed with CSRF (CSRFProtect) when it holds personal data.

    The document type is optional: without it only numbers with a check character count
    as document numbers; a passport number is searched by choosing "Passport".
    """

    class Meta:
        csrf = False  # CSRFProtect checks every POST; a GET for a door number carries none

    q = StringField(_l("Door number, building, road, name, phone or document number"))
    document_type = Choice(
        _l("Document type"),
        choices=[("", _l("Recognise from the number"))]
        + [(kind.value, kind.label) for kind in DocumentType],
    )


class FilingRequestForm(FlaskForm):
    """Ask the landlord, who has an account, to file the dwelling's lease."""

    note = TextAreaField(
        _l("Note for the landlord"),
        render_kw={"rows": 2, "maxlength": 500},
    )
