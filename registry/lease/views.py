"""Property managers' and landlords' pages (placeholder until built)."""

from flask import Blueprint, render_template

from registry.accounts.models import Role
from registry.web.auth import roles_required

blueprint = Blueprint("leases", __name__, url_prefix="/leases")


@blueprint.route("/")
@roles_required(Role.PROPERTY_MANAGER)
def my_dwellings():
    return render_template("placeholder.html")


@blueprint.route("/reminders")
@roles_required(Role.PROPERTY_MANAGER)
def reminders():
    return render_template("placeholder.html")
