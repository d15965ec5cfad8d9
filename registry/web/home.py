"""The home page sends each role to the page its day starts on."""

from flask import Blueprint, current_app, redirect, send_from_directory, url_for
from flask_login import current_user, login_required

from registry.web.navigation import landing_endpoint

blueprint = Blueprint("home", __name__)


@blueprint.route("/")
@login_required
def index():
    return redirect(url_for(landing_endpoint(current_user.account.role)))


@blueprint.route("/healthz")
def health():
    return {"status": "ok"}


@blueprint.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on their own (bookmarks, pages that are not HTML)."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )
