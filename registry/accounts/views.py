"""Log in and out, and change one's own password; wrong passwords are throttled.

Idle sessions expire, and a session whose password was changed elsewhere ends.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from registry.accounts import services
from registry.accounts.forms import LoginForm, OwnPasswordForm
from registry.accounts.ratelimit import LoginThrottle
from registry.web.saving import apply_errors, save
from registry.web.session import db_session

blueprint = Blueprint("accounts", __name__)
login_manager = LoginManager()
login_manager.login_view = "accounts.login"

# Browsers drop tabs and line breaks anywhere in a URL (and a line break in a Location
# header is refused by the server), so "/\t/example.com" is read as "//example.com".
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
THROTTLE_EXTENSION = "registry.login_throttle"
LAST_ACTIVE = "last_active"  # epoch seconds of the session's latest request
CREDENTIAL = "credential"  # a mark of the password the session logged in with
KEPT_ON_LOGIN = ("locale",)


@blueprint.record_once
def _install_throttle(state) -> None:
    # The counts live in the database (registry/accounts/ratelimit.py), shared by every
    # worker process; the object holds the limits, the digest key and the clock.
    state.app.extensions.setdefault(
        THROTTLE_EXTENSION, LoginThrottle(secret=str(state.app.config["SECRET_KEY"]))
    )


def login_throttle() -> LoginThrottle:
    return current_app.extensions[THROTTLE_EXTENSION]


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


def credential_mark(account) -> str:
    """A short digest of the password hash: a new password ends the sessions of the old one."""
    return hashlib.sha256(account.password_hash.encode("utf-8")).hexdigest()[:16]


@blueprint.before_app_request
def _expire_idle_session():
    """Log out a session idle for longer than PERMANENT_SESSION_LIFETIME; else refresh it.

    Flask also refuses a permanent session cookie older than the lifetime, but the explicit
    time stamp lets the user be told why they must log in again. A session whose password
    has been changed since (for example reset by an administrator) ends as well.
    """
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    now = time.time()
    last_active = session.get(LAST_ACTIVE)
    idle_limit = current_app.permanent_session_lifetime.total_seconds()
    # A session without a time stamp predates this check: its clock starts now.
    if isinstance(last_active, int | float) and now - last_active > idle_limit:
        message = _(
            "You were logged out after %(minutes)d minutes without activity. Please log in again.",
            minutes=int(idle_limit // 60),
        )
        return _end_session(message)
    mark = session.get(CREDENTIAL)
    if (
        mark is not None
        and current_user.is_authenticated
        and mark != credential_mark(current_user.account)
    ):
        return _end_session(_("Your password was changed. Please log in again."))
    session[LAST_ACTIVE] = int(now)
    session.permanent = True
    return None


def _end_session(message: str):
    logout_user()
    session.pop(LAST_ACTIVE, None)
    session.pop(CREDENTIAL, None)
    flash(message, "info")
    if request.endpoint == "accounts.login":
        return None
    return _to_log_in()


@login_manager.unauthorized_handler
def _ask_to_log_in():
    flash(_("Please log in to see this page."), "info")
    return _to_log_in()


def _to_log_in():
    """To the log-in page, which leads back to this page's path afterwards.

    Only the path travels, never the query: a query can hold a searched name, phone or
    document number, which must not go into another URL, the history or a log.
    """
    back = request.path if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=back))


def _retry_message(until: float) -> str:
    moment = datetime.fromtimestamp(until, UTC)
    minutes = max(1, int((until - time.time() + 59) // 60))
    return _(
        "Too many failed log-ins. Try again after %(time)s (in about %(minutes)d minutes).",
        time=format_datetime(moment, "short"),
        minutes=minutes,
    )


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        throttle, db = login_throttle(), db_session()
        address = request.remote_addr
        username = form.username.data
        until = throttle.blocked_until(db, username, address)
        if until is not None:
            # Refused before the password is even checked, so guessing gains nothing.
            flash(_retry_message(until), "error")
            return render_template("accounts/login.html", form=form), 429
        account = services.authenticate(db, username, form.password.data, address)
        if account is not None:
            throttle.forget_account(db, username)
            _start_session(account)
            return redirect(_safe_next(request.args.get("next")))
        throttle.record_failure(db, username, address)
        until = throttle.blocked_until(db, username, address)
        if until is not None:
            flash(_retry_message(until), "error")
            status = 429
        else:
            flash(_("Wrong username or password."), "error")
    return render_template("accounts/login.html", form=form), status


def _start_session(account) -> None:
    """A fresh session for the new log-in (keeping the language), idle clock started."""
    kept = {key: session[key] for key in KEPT_ON_LOGIN if key in session}
    session.clear()
    session.update(kept)
    login_user(LoggedInUser(account))
    session.permanent = True
    session[LAST_ACTIVE] = int(time.time())
    session[CREDENTIAL] = credential_mark(account)


def _safe_next(target: str | None) -> str:
    """The path to go to after logging in: a path on this site, or else the home page.

    Control characters are dropped first, as a browser would; then only a path that
    starts with one slash (no scheme, no host, no backslash, which browsers read as a
    slash) is followed, and of it only the path.
    """
    path = CONTROL_CHARACTERS.sub("", target or "")
    parts = urlsplit(path)
    if (
        not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or parts.scheme
        or parts.netloc
    ):
        return url_for("home.index")
    return parts.path


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required
def own_password():
    """Every user changes their own password here, with the current one."""
    form = OwnPasswordForm()

    def page():
        return render_template("accounts/password.html", form=form)

    if request.method == "GET":
        return page()
    actor = current_user.account
    return save_own_password(
        form,
        page,
        lambda: services.change_own_password(
            db_session(),
            actor,
            form.current_password.data or "",
            form.password.data or "",
            form.password_again.data or "",
        ),
        url_for("home.index"),
    )


def save_own_password(
    form, page: Callable[[], ResponseReturnValue], action: Callable, done_url: str
) -> ResponseReturnValue:
    """A posted change of the user's own password (this page's, or the admin page's).

    A wrong current password counts against the log-in throttle as a failed log-in does,
    so the form cannot be used to guess it; while the throttle refuses, nothing is
    checked. On success this session stays logged in and every other one ends.
    """
    account = current_user.account
    throttle, address, db = login_throttle(), request.remote_addr, db_session()
    until = throttle.blocked_until(db, account.username, address)
    if until is not None:
        flash(_retry_message(until), "error")
        return page(), 429
    if not form.validate():
        return page(), 422

    def invalid(fields) -> ResponseReturnValue:
        if "current_password" in fields:
            throttle.record_failure(db, account.username, address)
        apply_errors(form, fields)
        return page()

    _saved, failed = save(form, action, invalid=invalid, labels={})
    if failed is not None:
        return failed
    session[CREDENTIAL] = credential_mark(account)
    flash(_("Your new password is set. Your other sessions have ended."), "ok")
    return redirect(done_url)


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    kept = {key: session[key] for key in KEPT_ON_LOGIN if key in session}
    session.clear()
    session.update(kept)
    return redirect(url_for("accounts.login"))
