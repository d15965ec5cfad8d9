"""Forms of the administrators' pages.

Domain rules (what a valid username, polygon or rule is) live in the services; these
forms only carry the input. Their widgets can all render as hidden inputs, because the
shared conflict page re-submits every field with ``field(type='hidden')``: a check box
list must then become one hidden input per chosen value, not a visible list.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length
from wtforms.widgets import Select, html_params

from registry.forms import Mandatory
from registry.labels import ROLE_LABELS


def _hidden(name: str, value) -> str:
    return f"<input {html_params(type='hidden', name=name, value='' if value is None else value)}>"


class HiddenableSelect(Select):
    """A select box, or a hidden input holding its value when rendered with type='hidden'."""

    def __call__(self, field, **kwargs):
        if kwargs.get("type") == "hidden":
            values = field.data if isinstance(field.data, list | tuple) else [field.data]
            return Markup("".join(_hidden(field.name, v) for v in values))
        return super().__call__(field, **kwargs)


class CheckboxList:
    """One labelled check box per choice (44 px rows)."""

    def __call__(self, field, **kwargs):
        items = []
        for index, choice in enumerate(field.iter_choices()):
            box_id = f"{field.id}-{index}"
            params = html_params(
                type="checkbox",
                name=field.name,
                value=choice.value,
                id=box_id,
                checked=choice.selected,
            )
            items.append(
                f'<li><label for="{escape(box_id)}"><input {params}> '
                f"<span>{escape(choice.label)}</span></label></li>"
            )
        if not items:
            return Markup("")
        css = "adm-checklist " + kwargs.get("class_", "")
        return Markup(f"<ul {html_params(id=field.id, class_=css.strip())}>{''.join(items)}</ul>")


def optional_int(value):
    """Coerce a select's value to an int, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    return int(value)


def id_list(label, **kwargs) -> SelectMultipleField:
    """Ids chosen from a list the view fills; unknown ids are the service's to reject."""
    return SelectMultipleField(
        label, coerce=int, validate_choice=False, widget=CheckboxList(), **kwargs
    )


class UserScopeFields:
    """Fields shared by the create and edit forms of a user."""

    display_name = StringField(_l("Display name"), [Length(max=50), Mandatory()])
    role = SelectField(_l("Role"), [Mandatory()], widget=HiddenableSelect())
    police_station_id = SelectField(
        _l("Police station"), coerce=optional_int, validate_choice=False, widget=HiddenableSelect()
    )
    grid_cell_ids = id_list(_l("Grid cells"))
    cell_community = SelectField(
        _l("Show the cells of"),
        coerce=optional_int,
        validate_choice=False,
        widget=HiddenableSelect(),
    )
    dwelling_ids = id_list(_l("Managed dwellings"))
    building_ids = id_list(_l("All dwellings of these buildings"))
    dwelling_query = StringField(_l("Find by address"), [Length(max=100)])

    def set_role_choices(self) -> None:
        # No role is preselected: an account must never become an administrator by default.
        self.role.choices = [("", _l("Choose a role"))] + [
            (str(role), label) for role, label in ROLE_LABELS.items()
        ]


class UserCreateForm(UserScopeFields, FlaskForm):
    """A new account; its password is set on the next page (never carried in this form)."""

    username = StringField(_l("Username"), [Length(max=50), Mandatory()])
    active = BooleanField(_l("Active"), default=True)


class UserEditForm(UserScopeFields, FlaskForm):
    active = BooleanField(_l("Active (may log in)"))
    version = HiddenField()


class PasswordResetForm(FlaskForm):
    # Asked (and shown) only when administrators change their own password.
    current_password = PasswordField(_l("Current password"), [Length(max=200), Mandatory()])
    password = PasswordField(_l("New password"), [Length(max=200), Mandatory()])
    password_again = PasswordField(_l("New password again"), [Length(max=200), Mandatory()])


class StationForm(FlaskForm):
    code = StringField(_l("Code"), [Length(max=20), Mandatory()])
    name = StringField(_l("Name"), [Length(max=50), Mandatory()])
    district_id = SelectField(
        _l("District"),
        [Mandatory()],
        coerce=optional_int,
        validate_choice=False,
        widget=HiddenableSelect(),
    )
    community_ids = id_list(_l("Communities in its jurisdiction"))
    version = HiddenField()


class CellForm(FlaskForm):
    code = StringField(_l("Code"), [Length(max=20), Mandatory()])
    name = StringField(_l("Name"), [Length(max=50), Mandatory()])
    community_id = SelectField(
        _l("Community"),
        [Mandatory()],
        coerce=optional_int,
        validate_choice=False,
        widget=HiddenableSelect(),
    )
    geojson_file = FileField(_l("GeoJSON file"))
    drawn_geometry = HiddenField()
    clip = BooleanField(_l("Cut away what lies outside the community or over other cells"))
    version = HiddenField()


class CellSplitForm(FlaskForm):
    """Split a cell along a line drawn on the map; the new half's code and name."""

    line = HiddenField(_l("Dividing line"))
    new_code = StringField(_l("Code of the new cell"), [Length(max=20), Mandatory()])
    new_name = StringField(_l("Name of the new cell"), [Length(max=50), Mandatory()])
    version = HiddenField()


class SettingsForm(FlaskForm):
    typed_signature_counts = BooleanField(
        _l("A pledge signed by typing the full name counts as signed")
    )


class CellDeleteForm(FlaskForm):
    version = HiddenField()


class WorkerForm(FlaskForm):
    username = StringField(_l("Username of a grid worker"), [Length(max=50)])


class FocusAreaForm(FlaskForm):
    name = StringField(_l("Name"), [Length(max=100), Mandatory()])
    description = TextAreaField(_l("Description"), [Length(max=2000)])
    cell_ids = id_list(_l("Grid cells"))
    cell_community = SelectField(
        _l("Show the cells of"),
        coerce=optional_int,
        validate_choice=False,
        widget=HiddenableSelect(),
    )
    version = HiddenField()
