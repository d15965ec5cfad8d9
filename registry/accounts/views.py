"""Log in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, login_required, login_user, logout_user

from registry.accounts import services
from registry.accounts.forms import LoginForm
from registry.web.session import db_session

blueprint = Blueprint("accounts", __name__)
login_manager = LoginManager()
login_manager.login_view = "accounts.login"


class LoggedInUser:
    """What flask-login keeps about the user: the account id, looked up on each request."""

    def __init__(self, account) -> None:
        self.account = account
        self.id = account.id
        self.is_authenticated = True
        self.is_active = account.active
        self.is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def _load_user(user_id: str) -> LoggedInUser | None:
    account = services.get_user(db_session(), int(user_id)) if user_id.isdigit() else None
    return LoggedInUser(account) if account else None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        account = services.authenticate(db_session(), form.username.data, form.password.data)
        if account is not None:
            login_user(LoggedInUser(account))
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
    return render_template("accounts/login.html", form=form)


def _safe_next(target: str | None) -> str:
    """Only follow a relative path after login, never an outside address."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("accounts.login"))
