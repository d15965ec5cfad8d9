"""The home page each role lands on; the real work pages come with their own issues."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

blueprint = Blueprint("home", __name__)


@blueprint.route("/")
@login_required
def index():
    return render_template("home.html", account=current_user.account)


@blueprint.route("/healthz")
def health():
    return {"status": "ok"}
