"""Police officers' jurisdiction dashboard and look-up (placeholder until built)."""

from flask import Blueprint, render_template

from registry.accounts.models import Role
from registry.web.auth import roles_required

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@blueprint.route("/")
@roles_required(Role.POLICE_OFFICER, Role.ADMIN)
def index():
    return render_template("placeholder.html")


@blueprint.route("/lookup")
@roles_required(Role.POLICE_OFFICER, Role.ADMIN)
def lookup():
    return render_template("placeholder.html")
