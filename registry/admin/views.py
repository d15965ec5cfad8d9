"""Administrators' pages: users and scopes, police stations, grid cells, focus areas.

Views are thin: parse the form, call a service, render or redirect. A service's
InvalidInput re-renders the form with the user's input and the errors beside each field;
a stale version shows the conflict page. Every page is for administrators only; anyone
else gets 404, as for a page that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from registry.accounts.models import Role
from registry.accounts.passwords import password_is_set
from registry.accounts.views import save_own_password
from registry.admin import services
from registry.admin.forms import (
    ROLE_LABELS,
    CellDeleteForm,
    CellForm,
    CellSplitForm,
    FocusAreaForm,
    PasswordResetForm,
    SettingsForm,
    StationForm,
    UserCreateForm,
    UserEditForm,
    WorkerForm,
)
from registry.errors import InvalidInput
from registry.figures.services import refresh_figures
from registry.flags.settings import rerun_rules_reading
from registry.grid import services as grid
from registry.setting.models import TYPED_SIGNATURE_COUNTS
from registry.setting.services import set_setting, setting_enabled
from registry.web.auth import current_actor, roles_required
from registry.web.clock import today
from registry.web.paging import page_number
from registry.web.saving import apply_errors, save
from registry.web.session import db_session

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

MAX_GEOJSON_BYTES = 2 * 1024 * 1024
SAVE = "save"


def _action() -> str:
    """Which submit button was pressed: only "save" saves; others redisplay the form."""
    return request.form.get("action", SAVE)


def _labels(form) -> dict[str, str]:
    return {field.name: str(field.label.text) for field in form}


def _submit(
    form,
    action: Callable[[], Any],
    page: Callable[[], ResponseReturnValue],
    done: Callable[[Any], ResponseReturnValue],
    current_after_race: Callable | None = None,
) -> ResponseReturnValue:
    """A posted form: its own checks, then the shared save (registry/web/saving.py).

    ``page()`` shows the form again (422), the messages beside its fields; ``done`` gets
    the service's result and answers (a redirect); ``current_after_race`` reads the
    record's values and version after a lost race.
    """
    if not form.validate():
        return page(), 422

    def invalid(fields) -> ResponseReturnValue:
        apply_errors(form, fields)
        return page()

    saved, failed = save(
        form, action, invalid=invalid, labels=_labels(form), current_after_race=current_after_race
    )
    return failed if failed is not None else done(saved)


def _saved(url: str, message: str | None = None) -> ResponseReturnValue:
    flash(message or _("Saved."), "ok")
    return redirect(url)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


# -- users ---------------------------------------------------------------------------------


@blueprint.route("/users")
@roles_required(Role.ADMIN)
def users():
    page = services.list_users(
        db_session(),
        current_actor(),
        query=request.args.get("q", ""),
        role=request.args.get("role") or None,
        page=page_number(),
    )
    return render_template(
        "admin/users.html",
        page=page,
        query=request.args.get("q", ""),
        role=request.args.get("role", ""),
        role_labels=ROLE_LABELS,
    )


def _cell_choices(field, community_id) -> list[tuple[int, str]]:
    """The chosen cells first, then the cells of the community being browsed."""
    chosen = set(field.data or ())
    cells = grid.cell_choices(db_session(), current_actor(), community_id=community_id, ids=chosen)
    cells.sort(key=lambda cell: cell.id not in chosen)
    return [(cell.id, cell.label) for cell in cells]


def _prepare_user_form(form) -> dict:
    """Fill the choices of the user form from the database and the user's current input."""
    session, actor = db_session(), current_actor()
    form.set_role_choices()
    form.police_station_id.choices = [("", "—")] + services.station_choices(session, actor)
    form.cell_community.choices = [("", _("Choose a community"))] + [
        (c.id, f"{c.sub_district} · {c.name}") for c in grid.communities(session, actor)
    ]
    form.grid_cell_ids.choices = _cell_choices(form.grid_cell_ids, form.cell_community.data)
    chosen_dwellings = services.dwelling_choices(session, actor, form.dwelling_ids.data)
    chosen_buildings = services.building_choices(session, actor, form.building_ids.data)
    query = (form.dwelling_query.data or "").strip()
    found_dwellings = services.search_dwellings(session, actor, query) if query else []
    found_buildings = services.search_buildings(session, actor, query) if query else []
    known = {d.id for d in chosen_dwellings}
    form.dwelling_ids.choices = [(d.id, d.label) for d in chosen_dwellings] + [
        (d.id, d.label) for d in found_dwellings if d.id not in known
    ]
    known = {b.id for b in chosen_buildings}
    form.building_ids.choices = [
        (b.id, _("%(address)s (dwellings: %(count)s)", address=b.label, count=b.dwellings))
        for b in chosen_buildings + [b for b in found_buildings if b.id not in known]
    ]
    return {
        "searched": bool(query),
        "found": len(found_dwellings) + len(found_buildings),
    }


def _user_input(form) -> services.UserInput:
    return services.UserInput(
        display_name=form.display_name.data or "",
        role=form.role.data or "",
        active=bool(form.active.data),
        police_station_id=form.police_station_id.data,
        grid_cell_ids=tuple(form.grid_cell_ids.data or ()),
        dwelling_ids=tuple(form.dwelling_ids.data or ()),
        building_ids=tuple(form.building_ids.data or ()),
    )


@blueprint.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    form = UserCreateForm()
    context = _prepare_user_form(form)

    def page():
        return render_template("admin/user_form.html", form=form, user=None, **context)

    def created(user):
        return _saved(
            url_for("admin.user_password", user_id=user.id),
            _(
                "The account %(username)s was created. Now set its password: until then "
                "nobody can log in with it.",
                username=user.username,
            ),
        )

    if request.method == "POST" and _action() == SAVE:
        return _submit(
            form,
            lambda: services.create_user_account(
                db_session(),
                current_actor(),
                form.username.data or "",
                _user_input(form),
            ),
            page,
            created,
        )
    return page()


@blueprint.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    session, actor = db_session(), current_actor()
    user = services.get_user_account(session, actor, user_id)
    if request.method == "POST":
        form = UserEditForm()
    else:
        current = services.user_current_values(user)
        form = UserEditForm(data={**current, "version": user.version})
        if user.grid_cells:
            form.cell_community.data = user.grid_cells[0].community_id
    context = _prepare_user_form(form)

    def page():
        return render_template(
            "admin/user_form.html",
            form=form,
            user=user,
            password_set=password_is_set(user.password_hash),
            **context,
        )

    def current_after_race():
        fresh = services.get_user_account(session, actor, user_id)
        return services.user_current_values(fresh), fresh.version

    if request.method == "POST" and _action() == SAVE:
        return _submit(
            form,
            lambda: services.update_user_account(
                session, actor, user.id, _user_input(form), form.version.data
            ),
            page,
            lambda _user: _saved(url_for("admin.user_edit", user_id=user.id)),
            current_after_race,
        )
    return page()


@blueprint.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_password(user_id: int):
    """Set someone's new password; one's own needs the current one (as on the own page)."""
    session, actor = db_session(), current_actor()
    user = services.get_user_account(session, actor, user_id)
    form = PasswordResetForm()
    own = user.id == actor.id

    def page():
        return render_template(
            "admin/user_password.html",
            form=form,
            user=user,
            own=own,
            first=not password_is_set(user.password_hash),
        )

    def reset():
        services.reset_password(
            session,
            actor,
            user.id,
            form.password.data or "",
            password_again=form.password_again.data or "",
            current_password=form.current_password.data or "",
        )

    if request.method == "GET":
        return page()
    edit_url = url_for("admin.user_edit", user_id=user.id)
    if own:
        return save_own_password(form, page, reset, edit_url)
    message = _("The new password of %(username)s is set.", username=user.username)
    return _submit(form, reset, page, lambda _result: _saved(edit_url, message))


# -- police stations -----------------------------------------------------------------------


@blueprint.route("/stations")
@roles_required(Role.ADMIN)
def stations():
    rows = services.list_stations(db_session(), current_actor())
    return render_template("admin/stations.html", rows=rows)


def _prepare_station_form(form) -> None:
    session, actor = db_session(), current_actor()
    form.district_id.choices = services.district_choices(session, actor)
    station_id = getattr(form, "_station_id", None)
    choices = []
    for c in services.community_choices(session, actor):
        label = f"{c.sub_district} · {c.name}"
        if c.station_id is not None and c.station_id != station_id:
            label += " — " + _("now: %(station)s", station=c.station_name)
        choices.append((c.id, label))
    form.community_ids.choices = choices


def _station_input(form) -> services.StationInput:
    return services.StationInput(
        code=form.code.data or "",
        name=form.name.data or "",
        district_id=form.district_id.data,
        community_ids=tuple(form.community_ids.data or ()),
    )


@blueprint.route("/stations/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def station_new():
    form = StationForm()
    _prepare_station_form(form)
    if request.method == "GET" and form.district_id.choices:
        form.district_id.data = form.district_id.choices[0][0]

    def page():
        return render_template("admin/station_form.html", form=form, station=None)

    if request.method == "GET":
        return page()
    return _submit(
        form,
        lambda: services.create_station(db_session(), current_actor(), _station_input(form)),
        page,
        lambda station: _saved(url_for("admin.station_edit", station_id=station.id)),
    )


@blueprint.route("/stations/<int:station_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def station_edit(station_id: int):
    session, actor = db_session(), current_actor()
    station = services.get_station(session, actor, station_id)
    if request.method == "POST":
        form = StationForm()
    else:
        form = StationForm(
            data={
                **services.station_current_values(station),
                "version": services.station_token(station),
            }
        )
    form._station_id = station.id
    _prepare_station_form(form)
    form.district_id.data = station.district_id

    def page():
        officers = services.station_officers(session, actor, station.id)
        return render_template(
            "admin/station_form.html", form=form, station=station, officers=officers
        )

    if request.method == "GET":
        return page()
    return _submit(
        form,
        lambda: services.update_station(
            session, actor, station.id, _station_input(form), form.version.data
        ),
        page,
        lambda _station: _saved(url_for("admin.station_edit", station_id=station.id)),
    )


# -- grid cells ----------------------------------------------------------------------------


@blueprint.route("/cells")
@roles_required(Role.ADMIN)
def grid_cells():
    session, actor = db_session(), current_actor()
    options = grid.communities(session, actor)
    community_id = _int_arg("community") or (options[0].id if options else None)
    community = grid.get_community(session, actor, community_id) if community_id else None
    rows = grid.list_cells(session, actor, community.id) if community else []
    map_data = grid.cell_map_data(session, actor, community.id) if community else None
    return render_template(
        "admin/cells.html", options=options, community=community, rows=rows, map_data=map_data
    )


def _geometry_source(form) -> tuple[str | None, str, list]:
    """The GeoJSON text to use and the field it came from, or errors about the upload."""
    upload = form.geojson_file.data
    drawn = (form.drawn_geometry.data or "").strip()
    if upload and getattr(upload, "filename", ""):
        content = upload.read(MAX_GEOJSON_BYTES + 1)
        if len(content) > MAX_GEOJSON_BYTES:
            return None, "geojson_file", [_("The file is larger than 2 MB")]
        if drawn:
            return None, "geojson_file", [_("Either upload a file or draw on the map, not both")]
        try:
            return content.decode("utf-8-sig"), "geojson_file", []
        except UnicodeDecodeError:
            return None, "geojson_file", [_("The file is not UTF-8 text")]
    return (drawn or None), "drawn_geometry", []


def _keep_uploaded_shape(form, text: str | None, source: str) -> None:
    """After an error, keep an uploaded polygon as the drawing so it need not be re-sent."""
    if source != "geojson_file" or not text:
        return
    try:
        polygon = grid.parse_cell_geojson(text, source)
    except ValueError:
        return
    form.drawn_geometry.data = grid.polygon_geojson(polygon)


def _cell_input(form, text, source, community_id=None) -> grid.CellInput:
    return grid.CellInput(
        code=form.code.data or "",
        name=form.name.data or "",
        community_id=community_id,
        geometry_text=text,
        geometry_field=source,
        clip=bool(form.clip.data),
    )


def _cell_saved(change: grid.CellChange) -> ResponseReturnValue:
    """Back to the cell, saying how many addresses a new boundary moved."""
    message = None
    if change.geometry_changed:
        message = _(
            "The boundary was saved: %(joined)s addresses joined this cell, "
            "%(left)s addresses left it.",
            joined=change.joined,
            left=change.left,
        )
    return _saved(url_for("admin.cell_edit", cell_id=change.cell.id), message)


def _uploaded_or_drawn(form) -> tuple[str | None, str, Callable[[], None]]:
    """The cell's new shape and its field, and a check that raises the upload's errors.

    An uploaded shape is kept as the drawing at once, so that a form shown again (with
    errors, or on the conflict page) need not be sent the file again.
    """
    text, source, upload_errors = _geometry_source(form)
    _keep_uploaded_shape(form, text, source)

    def check() -> None:
        if upload_errors:
            raise InvalidInput(fields={source: upload_errors})

    return text, source, check


@blueprint.route("/cells/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def cell_new():
    session, actor = db_session(), current_actor()
    form = CellForm()
    options = grid.communities(session, actor)
    form.community_id.choices = [(c.id, c.name) for c in options]
    if request.method == "GET":
        form.community_id.data = _int_arg("community") or (options[0].id if options else None)
    community = (
        grid.get_community(session, actor, form.community_id.data)
        if form.community_id.data
        else None
    )

    def page():
        map_data = grid.cell_map_data(session, actor, community.id) if community else None
        return render_template(
            "admin/cell_form.html",
            form=form,
            cell=None,
            community=community,
            map_data=map_data,
        )

    if request.method == "GET":
        return page()
    text, source, check_upload = _uploaded_or_drawn(form)

    def create():
        check_upload()
        return grid.create_cell(
            session, actor, _cell_input(form, text, source, form.community_id.data)
        )

    return _submit(form, create, page, _cell_saved)


@blueprint.route("/cells/<int:cell_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def cell_edit(cell_id: int):
    session, actor = db_session(), current_actor()
    cell = grid.get_cell(session, actor, cell_id)
    if request.method == "POST":
        form = CellForm()
    else:
        form = CellForm(data={"code": cell.code, "name": cell.name, "version": cell.version})
    form.community_id.choices = [(cell.community_id, cell.community.name)]
    form.community_id.data = cell.community_id

    def page():
        return _render_cell_edit(form, cell, WorkerForm(formdata=None))

    def current_after_race():
        fresh = grid.get_cell(session, actor, cell_id)
        return grid.cell_current_values(session, fresh), fresh.version

    if request.method == "GET":
        return page()
    text, source, check_upload = _uploaded_or_drawn(form)

    def update():
        check_upload()
        return grid.update_cell(
            session, actor, cell.id, _cell_input(form, text, source), form.version.data
        )

    return _submit(form, update, page, _cell_saved, current_after_race)


def _render_cell_edit(form, cell, worker_form):
    session, actor = db_session(), current_actor()
    return render_template(
        "admin/cell_form.html",
        form=form,
        cell=cell,
        community=cell.community,
        map_data=grid.cell_map_data(session, actor, cell.community_id, cell.id),
        addresses=grid.cell_address_count(session, cell.id),
        workers=grid.cell_workers(session, actor, cell),
        worker_form=worker_form,
    )


@blueprint.route("/cells/<int:cell_id>/split", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def cell_split(cell_id: int):
    """Split a cell along a drawn line: each side's addresses are counted and reported."""
    session, actor = db_session(), current_actor()
    cell = grid.get_cell(session, actor, cell_id)
    if request.method == "POST":
        form = CellSplitForm()
    else:
        form = CellSplitForm(
            data={
                "version": cell.version,
                "new_code": grid.suggested_code(session, cell),
                "new_name": _("%(name)s (new part)", name=cell.name),
            }
        )

    def page():
        return render_template(
            "admin/cell_split.html",
            form=form,
            cell=cell,
            community=cell.community,
            map_data=grid.cell_map_data(session, actor, cell.community_id, cell.id),
            addresses=grid.cell_address_count(session, cell.id),
        )

    def current_after_race():
        fresh = grid.get_cell(session, actor, cell_id)
        return grid.cell_current_values(session, fresh), fresh.version

    if request.method == "GET":
        return page()

    def split():
        data = grid.SplitInput(
            form.line.data or "", form.new_code.data or "", form.new_name.data or ""
        )
        result = grid.split_cell(session, actor, cell.id, data, form.version.data)
        refresh_figures(session, today())  # the figures follow the addresses at once
        return result

    return _submit(form, split, page, _cell_split_done, current_after_race)


def _cell_split_done(result: grid.SplitResult) -> ResponseReturnValue:
    message = _(
        "The cell was split: %(kept)s addresses stay in %(kept_name)s (%(kept_code)s) with "
        "its grid workers; %(created)s addresses are in the new cell %(created_name)s "
        "(%(created_code)s).",
        kept=result.kept_addresses,
        kept_name=result.kept.name,
        kept_code=result.kept.code,
        created=result.created_addresses,
        created_name=result.created.name,
        created_code=result.created.code,
    )
    return _saved(url_for("admin.cell_edit", cell_id=result.kept.id), message)


@blueprint.route("/cells/<int:cell_id>/delete", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def cell_delete(cell_id: int):
    """Delete a cell made by mistake, after a confirmation page that says what ends."""
    session, actor = db_session(), current_actor()
    cell = grid.get_cell(session, actor, cell_id)
    form = (
        CellDeleteForm()
        if request.method == "POST"
        else CellDeleteForm(data={"version": cell.version})
    )
    errors: list = []
    name, code = cell.name, cell.code

    def page():
        return render_template(
            "admin/cell_delete.html",
            form=form,
            cell=cell,
            addresses=grid.cell_address_count(session, cell.id),
            workers=grid.cell_workers(session, actor, cell),
            focus_areas=grid.cell_focus_areas(session, actor, cell.id),
            errors=errors,
        )

    if request.method == "GET":
        return page()

    def invalid(fields) -> ResponseReturnValue:
        errors.extend(str(m) for messages in fields.values() for m in messages)
        return page()

    def current_after_race():
        fresh = grid.get_cell(session, actor, cell_id)
        return grid.cell_current_values(session, fresh), fresh.version

    if not form.validate():
        return page(), 422
    community_id, failed = save(
        form,
        lambda: grid.delete_cell(session, actor, cell.id, form.version.data),
        invalid=invalid,
        labels=_labels(form),
        current_after_race=current_after_race,
    )
    if failed is not None:
        return failed
    return _saved(
        url_for("admin.grid_cells", community=community_id),
        _("The grid cell %(name)s (%(code)s) was deleted.", name=name, code=code),
    )


@blueprint.route("/cells/<int:cell_id>/workers", methods=["POST"])
@roles_required(Role.ADMIN)
def cell_worker_add(cell_id: int):
    session, actor = db_session(), current_actor()
    cell = grid.get_cell(session, actor, cell_id)
    worker_form = WorkerForm()

    def page():
        form = CellForm(
            formdata=None, data={"code": cell.code, "name": cell.name, "version": cell.version}
        )
        form.community_id.choices = [(cell.community_id, cell.community.name)]
        return _render_cell_edit(form, cell, worker_form)

    return _submit(
        worker_form,
        lambda: grid.assign_worker(session, actor, cell.id, worker_form.username.data),
        page,
        lambda worker: _saved(
            url_for("admin.cell_edit", cell_id=cell.id) + "#workers",
            _("%(username)s works in this cell now.", username=worker.username),
        ),
    )


@blueprint.route("/cells/<int:cell_id>/workers/<int:user_id>/remove", methods=["POST"])
@roles_required(Role.ADMIN)
def cell_worker_remove(cell_id: int, user_id: int):
    grid.remove_worker(db_session(), current_actor(), cell_id, user_id)
    return _saved(url_for("admin.cell_edit", cell_id=cell_id) + "#workers")


# -- focus areas ---------------------------------------------------------------------------


@blueprint.route("/focus-areas")
@roles_required(Role.ADMIN)
def focus_areas():
    rows = grid.list_focus_areas(db_session(), current_actor())
    return render_template("admin/focus_areas.html", rows=rows)


def _prepare_focus_form(form) -> None:
    session, actor = db_session(), current_actor()
    form.cell_community.choices = [("", _("Choose a community"))] + [
        (c.id, f"{c.sub_district} · {c.name}") for c in grid.communities(session, actor)
    ]
    form.cell_ids.choices = _cell_choices(form.cell_ids, form.cell_community.data)


def _focus_input(form) -> grid.FocusAreaInput:
    return grid.FocusAreaInput(
        name=form.name.data or "",
        description=form.description.data or "",
        cell_ids=tuple(form.cell_ids.data or ()),
    )


@blueprint.route("/focus-areas/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def focus_area_new():
    form = FocusAreaForm()
    _prepare_focus_form(form)

    def page():
        return render_template("admin/focus_area_form.html", form=form, area=None)

    if request.method == "POST" and _action() == SAVE:
        return _submit(
            form,
            lambda: grid.create_focus_area(db_session(), current_actor(), _focus_input(form)),
            page,
            lambda area: _saved(url_for("admin.focus_area_edit", area_id=area.id)),
        )
    return page()


@blueprint.route("/focus-areas/<int:area_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def focus_area_edit(area_id: int):
    session, actor = db_session(), current_actor()
    area = grid.get_focus_area(session, actor, area_id)
    if request.method == "POST":
        form = FocusAreaForm()
    else:
        form = FocusAreaForm(data={**grid.focus_area_current_values(area), "version": area.version})
        if area.cells:
            form.cell_community.data = area.cells[0].community_id
    _prepare_focus_form(form)

    def page():
        return render_template("admin/focus_area_form.html", form=form, area=area)

    def current_after_race():
        fresh = grid.get_focus_area(session, actor, area_id)
        return grid.focus_area_current_values(fresh), fresh.version

    if request.method == "POST" and _action() == SAVE:
        return _submit(
            form,
            lambda: grid.update_focus_area(
                session, actor, area.id, _focus_input(form), form.version.data
            ),
            page,
            lambda _area: _saved(url_for("admin.focus_area_edit", area_id=area.id)),
            current_after_race,
        )
    return page()


# -- settings ------------------------------------------------------------------------------


@blueprint.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def settings():
    """Registry-wide switches: whether a typed signature counts as signed."""
    session, actor = db_session(), current_actor()
    counts = setting_enabled(session, TYPED_SIGNATURE_COUNTS)
    form = (
        SettingsForm()
        if request.method == "POST"
        else SettingsForm(data={"typed_signature_counts": counts})
    )
    if request.method == "POST":
        if not form.validate():
            return render_template("admin/settings.html", form=form), 400
        wanted = bool(form.typed_signature_counts.data)
        if set_setting(session, actor, TYPED_SIGNATURE_COUNTS, wanted):
            # The pledge figures and the "missing a pledge" flags follow the switch at once.
            rerun_rules_reading(session, TYPED_SIGNATURE_COUNTS, today())
            refresh_figures(session, today())
        return _saved(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form)
