"""Sweep pages: the officers' overview and planning, a sweep's checklist in walking order
(tablet-first, 44 px targets), a stop's form, photos, teams, printing and exports.

Views are thin: parse, call a service, render or redirect. Every service applies the
actor's scope, so a sweep, stop or photo outside it is "not found" whatever the URL says.
"""

from __future__ import annotations

import json
import secrets

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from geoalchemy2.shape import to_shape

from registry.accounts.models import Role
from registry.errors import NotFound
from registry.labels import MEMBER_FUNCTION_LABELS, OUTCOME_LABELS
from registry.map.page import view_state
from registry.map.views import content_security_policy
from registry.sweeps import daymap, export, map_page, planning, services, teams, visits
from registry.sweeps import start as start_points
from registry.sweeps.forms import (
    VISIT_LABELS,
    AssignTeamForm,
    MemberForm,
    PlanForm,
    ReasonForm,
    SettingsForm,
    TeamForm,
    VisitForm,
)
from registry.sweeps.models import Outcome, SweepVisit
from registry.sweeps.weeks import parse_week, week_end, week_label
from registry.validators import FieldError
from registry.web import clock
from registry.web.auth import current_actor, roles_required
from registry.web.saving import apply_errors, save
from registry.web.session import cipher, db_session

blueprint = Blueprint("sweeps", __name__, url_prefix="/sweeps")

planners = roles_required(Role.POLICE_OFFICER, Role.ADMIN)
readers = roles_required(*services.READING_ROLES)
walkers = roles_required(*visits.WALKING_ROLES)


@blueprint.context_processor
def _helpers() -> dict:
    return {
        "week_label": week_label,
        "week_end": week_end,
        "outcome_labels": {str(k): v for k, v in OUTCOME_LABELS.items()},
        "function_labels": {str(k): v for k, v in MEMBER_FUNCTION_LABELS.items()},
    }


# -- officers: overview and planning --------------------------------------------------------


@blueprint.get("/")
@planners
def index():
    return _index_page()


def _flash_fields(fields) -> None:
    """A refusal of a button with no field of its own is shown on top of the page."""
    for messages in fields.values():
        for message in messages:
            flash(str(message), "error")


def _index_with_errors(fields):
    _flash_fields(fields)
    return _index_page()


def _index_page():
    session = db_session()
    actor = current_actor()
    today = clock.today()
    planning_rows, past = services.overview(session, actor, today)
    return render_template(
        "sweeps/index.html",
        planning=planning_rows,
        past=past,
        today=today,
        form=PlanForm(),
        mine=services.my_sweeps(session, actor),
    )


def _plan_target(form) -> tuple[int, object]:
    """The focus area and week a plan form is about (a malformed one is "not found")."""
    try:
        return int(form.focus_area.data or 0), parse_week(form.week.data)
    except (FieldError, ValueError):
        raise NotFound() from None


@blueprint.get("/plan")
@planners
def plan_page():
    """Plan one area's week with a start point: the station, or a building of the area."""
    return _plan_page(PlanForm(request.args, meta={"csrf": False}))


def _plan_page(form, fields=None, status=200):
    session = db_session()
    actor = current_actor()
    area_id, week = _plan_target(form)
    area = planning.plannable_area(session, actor, area_id)
    fields = dict(fields or {})
    # The area and week are no fields of this page: their refusals go on top.
    above = [m for name in ("focus_area", "week") for m in fields.pop(name, [])]
    unplaced = apply_errors(form, fields) + [str(m) for m in above]
    search = request.values.get("q", "")
    chosen = form.start.data or start_points.STATION
    buildings = start_points.start_choices(session, actor, area.id, search)
    return (
        render_template(
            "sweeps/plan.html",
            form=form,
            area=area,
            week=week,
            search=search,
            buildings=buildings,
            chosen=chosen,
            unplaced=unplaced,
            listed=start_points.LISTED,
        ),
        status,
    )


@blueprint.post("/plan")
@planners
def plan():
    session = db_session()
    form = PlanForm()
    area_id, week = _plan_target(form)

    def invalid(fields):
        if "start" in request.form:  # sent from the plan page: show it again
            return _plan_page(form, fields, 422)
        return _index_with_errors(fields)

    def make_plan():
        chosen = start_points.chosen_start(
            session,
            current_actor(),
            area_id,
            form.start.data,
            form.start_lon.data,
            form.start_lat.data,
        )
        return planning.plan_sweep(
            session,
            current_actor(),
            planning.PlanRequest(area_id, week, start=chosen),
            clock.today(),
        )

    summary, failed = save(form, make_plan, invalid=invalid, labels={})
    if failed:
        return failed
    flash(
        _(
            "Planned: %(stops)s stops (%(flagged)s flagged, %(sampled)s sampled) in %(days)s days.",
            stops=summary.stops,
            flagged=summary.flagged,
            sampled=summary.sampled,
            days=summary.days,
        ),
        "ok",
    )
    return redirect(url_for("sweeps.sweep", sweep_id=summary.sweep.id))


# -- one sweep ------------------------------------------------------------------------------


@blueprint.get("/mine")
@readers
def mine():
    session = db_session()
    return render_template("sweeps/mine.html", sweeps=services.my_sweeps(session, current_actor()))


@blueprint.get("/<int:sweep_id>")
@readers
def sweep(sweep_id: int):
    session = db_session()
    actor = current_actor()
    today = clock.today()
    record = services.get_sweep(session, actor, sweep_id)
    days = services.day_progress(session, actor, record)
    chosen = request.args.get("day", type=int) or services.next_day_to_walk(days)
    rows = services.stop_rows(session, actor, record, today, cipher(), day=chosen)
    planner = services.may_plan(session, actor, record)
    context = {}
    if planner:
        progress = services.progress_of(session, actor, [record.id])[record.id]
        choices = [("", _("No team"))] + [
            (str(t.id), t.name) for t in teams.list_teams(session, actor)
        ]
        assign = AssignTeamForm(team=str(record.team_id or ""))
        assign.team.choices = choices
        context = {"progress": progress, "assign": assign}
    start = to_shape(record.start_geom)
    return render_template(
        "sweeps/sweep.html",
        sweep=record,
        days=days,
        day=chosen,
        rows=rows,
        planner=planner,
        start=(start.x, start.y),
        today=today,
        **context,
    )


# -- a team-day on the map -------------------------------------------------------------------


@blueprint.get("/<int:sweep_id>/map")
@readers
def day_map(sweep_id: int):
    """A team-day's stops on the map, numbered in walking order, with the route."""
    session, actor = db_session(), current_actor()
    record = services.get_sweep(session, actor, sweep_id)
    days = services.day_progress(session, actor, record)
    chosen = request.args.get("day", type=int) or services.next_day_to_walk(days)
    found = daymap.day_map(session, actor, sweep_id, chosen or 0, clock.today())
    parts = map_page.build_parts(found, view_state(request.args))
    nonce = secrets.token_urlsafe(18)
    response = make_response(
        render_template(
            "sweeps/map.html",
            sweep=record,
            days=days,
            day=chosen,
            found=found,
            parts=parts,
            nonce=nonce,
        )
    )
    response.headers["Content-Security-Policy"] = content_security_policy(nonce)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/<int:sweep_id>/days/<int:day>.geojson")
@readers
def day_geojson(sweep_id: int, day: int):
    """One team-day's stops and route as GeoJSON, in the actor's scope (small: one day)."""
    session, actor = db_session(), current_actor()
    found = daymap.day_map(session, actor, sweep_id, day, clock.today())
    walker = not found.sweep.closed_at and actor.role in visits.WALKING_ROLES
    collection = daymap.geojson(
        found,
        lambda building: render_template(
            "sweeps/_map_building.html", building=building, walker=walker
        ),
        render_template("sweeps/_map_start.html", sweep=found.sweep),
    )
    response = make_response(json.dumps(collection, ensure_ascii=False, separators=(",", ":")))
    response.mimetype = "application/geo+json"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.post("/<int:sweep_id>/team")
@planners
def assign_team(sweep_id: int):
    form = AssignTeamForm()
    _saved, failed = save(
        form,
        lambda: services.assign_team(db_session(), current_actor(), sweep_id, form.team.data),
        invalid=lambda fields: _flash_and_show(fields, sweep_id),
        labels={},
    )
    return failed or redirect(url_for("sweeps.sweep", sweep_id=sweep_id))


def _flash_and_show(fields, sweep_id: int):
    _flash_fields(fields)
    return sweep(sweep_id)


@blueprint.route("/<int:sweep_id>/<any(close, reopen):step>", methods=["GET", "POST"])
@planners
def close(sweep_id: int, step: str):
    """Closing a sweep (or reopening one closed by mistake) is a confirmed step with a
    reason: the page says how much is still open before the team loses its stops."""
    session = db_session()
    actor = current_actor()
    record = services.get_sweep(session, actor, sweep_id)
    if not services.may_plan(session, actor, record):
        raise NotFound()
    form = ReasonForm()

    def page(fields=None):
        apply_errors(form, fields or {})
        progress = services.progress_of(session, actor, [record.id])[record.id]
        return render_template(
            "sweeps/close.html", sweep=record, step=step, form=form, progress=progress
        )

    if request.method == "GET":
        return page()

    def change():
        if step == "close":
            return services.close_sweep(session, actor, sweep_id, form.reason.data)
        return services.reopen_sweep(session, actor, sweep_id, form.reason.data, clock.today())

    _saved, failed = save(form, change, invalid=page, labels={})
    if failed:
        return failed
    if step == "close":
        flash(_("The sweep is closed; its team no longer sees its stops."), "ok")
    else:
        flash(_("The sweep is open again; its team sees its stops."), "ok")
    return redirect(url_for("sweeps.sweep", sweep_id=sweep_id))


@blueprint.get("/<int:sweep_id>/list.<any(pdf, xlsx, csv):fmt>")
@readers
def export_list(sweep_id: int, fmt: str):
    """The sweep list as PDF, XLSX or CSV: one audit entry naming the people it shows."""
    session = db_session()
    actor = current_actor()
    today = clock.today()
    record = services.get_sweep(session, actor, sweep_id)
    rows = services.stop_rows(session, actor, record, today, cipher(), record_as=f"export {fmt}")
    title = _(
        "Sweep list %(area)s, week %(week)s",
        area=record.focus_area.name,
        week=week_label(record.week_start),
    )
    if fmt == "pdf":
        body = export.sweep_pdf(record, title, rows, today=today)
    elif fmt == "xlsx":
        body = export.sweep_workbook(title, rows)
    else:
        body = export.sweep_csv(rows)
    name = f"sweep-{record.focus_area_id}-{week_label(record.week_start)}.{fmt}"
    return Response(
        body,
        mimetype=export.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


# -- a stop on the street -------------------------------------------------------------------


def _stop_page(stop, form, status=200, unplaced=(), too_large=False):
    session = db_session()
    record = services.get_sweep(session, current_actor(), stop.sweep_id)
    rows = services.stop_rows(
        session,
        current_actor(),
        record,
        clock.today(),
        cipher(),
        record_as="stop",
        only_stop=stop.id,
    )
    visit = session.get(SweepVisit, stop.visit.id) if stop.visit else None
    return (
        render_template(
            "sweeps/stop.html",
            sweep=record,
            row=rows[0] if rows else None,
            stop=stop,
            visit=visit,
            form=form,
            unplaced=list(unplaced),
            photos=visit.photos if visit else [],
            may_see_photos=_may_see_photos(stop),
            version=None if too_large else request.form.get("version"),
            too_large=too_large,
            limits=visits.photo_limits(),
            way_back=_way_back(stop),
            from_map=_from_map(),
        ),
        status,
    )


def _may_see_photos(stop) -> bool:
    from sqlalchemy import select

    from registry.sweeps.access import photo_filter
    from registry.sweeps.models import SweepStop

    found = db_session().scalar(
        select(SweepStop.id).where(
            SweepStop.id == stop.id,
            photo_filter(current_actor(), SweepStop.address_id, SweepStop.sweep_id),
        )
    )
    return found is not None


@blueprint.url_value_preprocessor
def _visit_request_limit(endpoint: str | None, _values) -> None:
    """The stop form may carry every photo allowed at full size: its own request limit.

    Set here because URL value preprocessors run before any ``before_request`` (the CSRF
    check reads the form, and with it the body, before the view is reached).
    """
    if endpoint == "sweeps.stop":
        request.max_content_length = visits.VISIT_REQUEST_BYTES


@blueprint.errorhandler(413)
def _too_large(error):
    """A stop's form too large to read: the stop page again with the error on its photos.

    What was typed cannot be read from a body refused unread; the page's script
    (js/visit_photos.js) checks sizes before sending and puts the typed values back here.
    """
    from registry.web.errors import http_error_response

    stop_id = (request.view_args or {}).get("stop_id")
    if request.endpoint != "sweeps.stop" or not current_user.is_authenticated:
        return http_error_response(error)
    actor = current_actor()
    if actor.role not in visits.WALKING_ROLES:
        return http_error_response(error)
    try:
        record = visits.get_stop(db_session(), actor, stop_id)
    except NotFound:
        return http_error_response(error)
    form = VisitForm(
        formdata=None,
        data=visits.visit_values(record.visit) | {"submission": visits.new_submission()},
    )
    form.photos.errors = [str(visits.photos_too_large())]
    return _stop_page(record, form, 413, too_large=True)


@blueprint.route("/stops/<int:stop_id>", methods=["GET", "POST"])
@walkers
def stop(stop_id: int):
    session = db_session()
    actor = current_actor()
    record = visits.get_stop(session, actor, stop_id)
    if request.method == "GET":
        form = VisitForm(
            data=visits.visit_values(record.visit) | {"submission": visits.new_submission()}
        )
        return _stop_page(record, form)
    form = VisitForm()
    data = visits.VisitInput(
        outcome=form.outcome.data,
        people=form.people.data,
        note=form.note.data,
        submission=form.submission.data,
        version=request.form.get("version"),
    )
    files = [f.read() for f in request.files.getlist(form.photos.name) if f and f.filename]

    def record():
        visit = visits.record_visit(session, actor, stop_id, data, clock.today())
        visits.add_photos(session, actor, visit, files)
        return visit

    def invalid(fields):
        unplaced = apply_errors(form, fields)
        form.submission.data = visits.new_submission()
        return _stop_page(visits.get_stop(session, actor, stop_id), form, 422, unplaced)

    def current_after_race():
        current = visits.get_stop(session, actor, stop_id).visit
        return visits.visit_values(current), current.version

    visit, failed = save(
        form,
        record,
        invalid=invalid,
        labels=VISIT_LABELS,
        current_after_race=current_after_race,
        shown=_conflict_shown(),
    )
    if failed:
        return failed
    flash(_("Saved."), "ok")
    return redirect(_way_back(visit.stop))


def _from_map() -> bool:
    return request.args.get("back") == "map"


def _way_back(stop) -> str:
    """Where a stop leads back: its day's map when it was opened from there (``?back=map``),
    otherwise its row of the checklist."""
    if _from_map():
        return url_for("sweeps.day_map", sweep_id=stop.sweep_id, day=stop.day.number)
    return url_for(
        "sweeps.sweep", sweep_id=stop.sweep_id, day=stop.day.number, _anchor=f"stop-{stop.id}"
    )


def _conflict_shown():
    return {"outcome": lambda v: str(OUTCOME_LABELS.get(Outcome(v), v)) if v else ""}


@blueprint.get("/photos/<int:photo_id>")
@walkers
def photo(photo_id: int):
    found = visits.view_photo(db_session(), current_actor(), photo_id)
    return Response(
        bytes(found.content),
        mimetype="image/jpeg",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


# -- teams ----------------------------------------------------------------------------------


@blueprint.route("/teams", methods=["GET", "POST"])
@planners
def team_list():
    session = db_session()
    actor = current_actor()
    form = TeamForm()
    form.station.choices = [(str(s.id), s.name) for s in teams.stations_for(session, actor)]

    def page(fields=None):
        apply_errors(form, fields or {})
        return render_template(
            "sweeps/teams.html", teams=teams.list_teams(session, actor), form=form
        )

    if request.method == "POST":
        team, failed = save(
            form,
            lambda: teams.create_team(session, actor, form.name.data, form.station.data),
            invalid=page,
            labels={},
        )
        return failed or redirect(url_for("sweeps.team", team_id=team.id))
    return page()


@blueprint.route("/teams/<int:team_id>", methods=["GET", "POST"])
@planners
def team(team_id: int):
    session = db_session()
    actor = current_actor()
    record = teams.get_team(session, actor, team_id)
    form = MemberForm()

    def page(fields=None):
        apply_errors(form, fields or {})
        session.expire(record)
        return render_template("sweeps/team.html", team=record, form=form)

    if request.method == "POST":
        _member, failed = save(
            form,
            lambda: teams.add_member(
                session, actor, team_id, form.username.data, form.function.data
            ),
            invalid=page,
            labels={},
        )
        if failed:
            return failed
        flash(_("Saved."), "ok")
        return redirect(url_for("sweeps.team", team_id=team_id))
    return page()


@blueprint.post("/teams/<int:team_id>/members/<int:user_id>/remove")
@planners
def remove_member(team_id: int, user_id: int):
    teams.remove_member(db_session(), current_actor(), team_id, user_id)
    flash(_("Saved."), "ok")
    return redirect(url_for("sweeps.team", team_id=team_id))


# -- planning settings (administrators) ------------------------------------------------------


@blueprint.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def settings():
    session = db_session()
    actor = current_actor()
    form = SettingsForm()
    current = planning.settings_in_force(session, clock.today())

    def page(fields=None):
        apply_errors(form, fields or {})
        return render_template(
            "sweeps/settings.html",
            form=form,
            current=current,
            history=planning.settings_history(session),
        )

    if request.method == "POST":
        _row, failed = save(
            form,
            lambda: planning.save_settings(
                session, actor, form.stops_per_day.data, form.sample_percent.data, clock.today()
            ),
            invalid=page,
            labels={},
        )
        if failed:
            return failed
        flash(_("Saved."), "ok")
        return redirect(url_for("sweeps.settings"))
    form.stops_per_day.data = str(current.stops_per_day)
    form.sample_percent.data = str(current.sample_percent)
    return page()


# -- a dwelling's visits --------------------------------------------------------------------


@blueprint.get("/dwellings/<int:dwelling_id>/visits")
@planners
def dwelling_visits(dwelling_id: int):
    session = db_session()
    actor = current_actor()
    dwelling, rows = services.dwelling_visits(session, actor, dwelling_id)
    viewable = services.stops_with_visible_photos(
        session, actor, [stop.id for _v, stop, _s in rows]
    )
    return render_template(
        "sweeps/dwelling_visits.html", dwelling=dwelling, rows=rows, viewable=viewable
    )
