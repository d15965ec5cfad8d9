"""The home page sends each role to the page its day starts on."""

from flask import Blueprint, redirect, url_for
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
