"""The log-in form and the form for changing one's own password."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from registry.forms import Mandatory


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=50)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class OwnPasswordForm(FlaskForm):
    """A user changing their own password: the current one, then the new one twice."""

    current_password = PasswordField(_l("Current password"), [Length(max=200), Mandatory()])
    password = PasswordField(_l("New password"), [Length(max=200), Mandatory()])
    password_again = PasswordField(_l("New password again"), [Length(max=200), Mandatory()])
