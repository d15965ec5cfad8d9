"""Grid workers' tablet pages (placeholder until built)."""

from flask import Blueprint, render_template

from registry.accounts.models import Role
from registry.web.auth import roles_required

blueprint = Blueprint("gridwork", __name__, url_prefix="/cells")


@blueprint.route("/")
@roles_required(Role.GRID_WORKER)
def my_cells():
    return render_template("placeholder.html")


@blueprint.route("/search")
@roles_required(Role.GRID_WORKER)
def search():
    return render_template("placeholder.html")
