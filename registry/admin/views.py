"""Administrators' pages (placeholder until built)."""

from flask import Blueprint, render_template

from registry.accounts.models import Role
from registry.web.auth import roles_required

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.route("/users")
@roles_required(Role.ADMIN)
def users():
    return render_template("placeholder.html")


@blueprint.route("/cells")
@roles_required(Role.ADMIN)
def grid_cells():
    return render_template("placeholder.html")


@blueprint.route("/focus-areas")
@roles_required(Role.ADMIN)
def focus_areas():
    return render_template("placeholder.html")


@blueprint.route("/capacity-rule")
@roles_required(Role.ADMIN)
def capacity_rule():
    return render_template("placeholder.html")
