"""Police officers' desk: jurisdiction dashboard, look-up, person and dwelling pages, trails.

Views are thin: parse the request, call :mod:`registry.dashboard.services`, render. Pages
that show personal data are never cached by the browser.
"""

from __future__ import annotations

from functools import wraps

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from registry.accounts.models import Role
from registry.dashboard import lists, services
from registry.dashboard.export import dashboard_workbook, figure_columns, list_workbook
from registry.dashboard.forms import (
    LookupForm,
    RefreshFiguresForm,
    RevealForm,
    StationFilterForm,
    TrailFilterForm,
)
from registry.dashboard.labels import ACTION_LABELS, RECORD_LABELS
from registry.dashboard.trail import trail_rows
from registry.errors import InvalidInput
from registry.figures.web import refresh_after, refresh_now
from registry.flags import services as flags
from registry.labels import (
    FILING_STATE_LABELS,
    OCCUPANCY_LABELS,
    RELATIONSHIP_LABELS,
    RESIDENCE_KIND_LABELS,
    USE_LABELS,
)
from registry.searches import services as searches
from registry.validators import FieldError, QueryKind, classify_query, parse_date
from registry.web.auth import current_actor, roles_required
from registry.web.clock import now as clock_now
from registry.web.clock import today
from registry.web.paging import page_number
from registry.web.results import results_args
from registry.web.session import cipher, db_session

KEPT_SCOPE = "lookup"

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Above this many grid cells the page asks for a police station instead of listing them all
# (the XLSX always has every cell).
MAX_CELLS_ON_PAGE = 400

desk_only = roles_required(Role.POLICE_OFFICER, Role.ADMIN)


@blueprint.context_processor
def _labels():
    return {
        "occupancy_labels": OCCUPANCY_LABELS,
        "use_labels": USE_LABELS,
        "residence_kind_labels": RESIDENCE_KIND_LABELS,
        "relationship_labels": RELATIONSHIP_LABELS,
        "filing_state_labels": FILING_STATE_LABELS,
        "action_labels": ACTION_LABELS,
        "record_labels": RECORD_LABELS,
    }


def private(view):
    """Personal data must not stay in the browser's cache or a shared proxy."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapper


def _dashboard_from_request():
    """The dashboard for the station chosen in ?station= (admins only; officers: their own)."""
    actor = current_actor()
    form = StationFilterForm(formdata=request.args)
    station_id = None
    if actor.role == Role.ADMIN:
        raw = (form.station.data or "").strip()
        if raw:
            if not raw.isdigit():
                abort(404)
            station_id = int(raw)
    dashboard = services.jurisdiction_dashboard(db_session(), actor, today(), station_id)
    form.station.choices = [SelectChoice("", _("Whole district"))] + [
        SelectChoice(str(station.id), station.name) for station in dashboard.stations
    ]
    return dashboard, form, station_id


@blueprint.context_processor
def _list_links():
    return {"list_measures": lists.MEASURES}


@blueprint.route("/")
@desk_only
def index():
    dashboard, form, station_id = _dashboard_from_request()
    page = render_template(
        "dashboard/index.html",
        dashboard=dashboard,
        form=form,
        refresh_form=RefreshFiguresForm(),
        station_id=station_id,
        columns=figure_columns(),
        show_cells=len(dashboard.cells) <= MAX_CELLS_ON_PAGE,
    )
    return refresh_after(make_response(page), today())


@blueprint.route("/figures/refresh", methods=["POST"])
@desk_only
def refresh_figures():
    """Recompute the figures (the officer's button, in the background), then show the
    dashboard again."""
    form = RefreshFiguresForm()
    if not form.validate_on_submit():
        abort(400)
    if refresh_now(db_session(), today()):
        flash(_("The figures are being computed again; reload the page in a moment."), "ok")
    else:
        flash(_("The figures were computed moments ago; they are up to date."), "ok")
    station = request.args.get("station", "")
    return redirect(url_for("dashboard.index", station=station if station.isdigit() else None))


@blueprint.route("/export.xlsx")
@desk_only
def export():
    dashboard, _form, _station_id = _dashboard_from_request()
    response = make_response(dashboard_workbook(dashboard))
    response.mimetype = XLSX_MIMETYPE
    response.headers["Content-Disposition"] = (
        f'attachment; filename="jurisdiction-{dashboard.today.isoformat()}.xlsx"'
    )
    response.headers["Cache-Control"] = "no-store"
    return refresh_after(response, today())


def _list_area() -> lists.Area:
    return lists.resolve_area(
        db_session(),
        current_actor(),
        station=request.args.get("station", ""),
        community=request.args.get("community", ""),
        cell=request.args.get("cell", ""),
    )


def _list_title(measure: lists.Measure, area: lists.Area, dashboard_title: str) -> str:
    where = area.name or dashboard_title
    if area.outside_cells:
        where = f"{where} · {_('Not in a grid cell of this jurisdiction')}"
    return f"{measure.title} · {where}"


def _jurisdiction_name() -> str:
    actor = current_actor()
    if actor.role == Role.ADMIN:
        return _("The whole district")
    return actor.police_station.name if actor.police_station else _("The whole district")


@blueprint.route("/lists/<measure>")
@desk_only
@private
def figure_list(measure: str):
    """The live list behind one figure of the dashboard, for an area, paged."""
    area = _list_area()
    listing = lists.list_page(
        db_session(), current_actor(), measure, area, today(), page=page_number()
    )

    def page_url(number: int) -> str:
        return url_for("dashboard.figure_list", measure=measure, page=number, **area.query_args())

    return render_template(
        "dashboard/list.html",
        listing=listing,
        title=_list_title(listing.measure, area, _jurisdiction_name()),
        page_url=page_url,
        export_url=url_for("dashboard.figure_list_export", measure=measure, **area.query_args()),
    )


@blueprint.route("/lists/<measure>.xlsx")
@desk_only
def figure_list_export(measure: str):
    """The whole list as XLSX: one audit entry names the list and its area."""
    area = _list_area()
    found, rows = lists.export_rows(db_session(), current_actor(), measure, area, today())
    title = f"{_list_title(found, area, _jurisdiction_name())} · {format_date(today(), 'long')}"
    response = make_response(list_workbook(title, found.people, rows))
    response.mimetype = XLSX_MIMETYPE
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{measure}-{today().isoformat()}.xlsx"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/lookup", methods=["GET", "POST"])
@desk_only
@private
def lookup():
    """Look up a person (POST) or a dwelling by its address (GET).

    A person is searched by POST with a CSRF token, so that an ID number, a phone or a
    name never ends up in a URL, the browser's history or the access log; the answer is a
    redirect to results kept on the server under a random token (registry/searches), so
    that Back and "back to results" work. An address is not personal data: its search is
    a GET, in the URL, like the grid worker's door numbers.
    """
    if request.method == "GET":
        return _dwelling_lookup()
    form = LookupForm()
    if not form.validate():
        return _lookup_page(form, status=422 if not form.csrf_token.errors else 400)
    session, actor = db_session(), current_actor()
    kind = form.kind.data
    if kind == "dwelling":
        return redirect(url_for("dashboard.lookup", kind="dwelling", q=form.q.data), 303)
    query = classify_query(form.q.data)
    if kind == "person" and query.kind is QueryKind.DOCUMENT:
        # A number with a valid check character is searched exactly, never by name.
        kind, form.document_type.data = "document", query.documents[0][0].value
    try:
        if kind == "document":
            number, form.q.data = form.q.data, ""  # never echoed back, even when refused
            people = services.person_by_document(
                session, actor, cipher(), form.document_type.data, number, today()
            )
        else:
            people = services.matching_people(session, actor, form.q.data)
    except InvalidInput as error:
        _attach_errors(form, error)
        return _lookup_page(form, status=422)
    found = {"kind": kind, "people": [person.id for person in people]}
    token = searches.keep_results(session, actor, KEPT_SCOPE, found, clock_now())
    return redirect(url_for("dashboard.lookup_results", token=token), 303)


@blueprint.route("/lookup/results/<token>")
@desk_only
@private
def lookup_results(token: str):
    """A person look-up's results, kept for this user, read again in scope (and logged)."""
    session, actor = db_session(), current_actor()
    kept = searches.kept_results(session, actor, KEPT_SCOPE, token, clock_now())
    people = services.people_by_ids(session, actor, cipher(), kept["people"], today())
    response = make_response(
        _lookup_page(LookupForm(formdata=None), people=people, results={"results": token})
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _dwelling_lookup():
    """GET: the empty form, or the dwellings whose address holds ``q``."""
    form = LookupForm(formdata=None)
    text = request.args.get("q", "")[:100]
    if request.args.get("kind") != "dwelling" or not text:
        return _lookup_page(form)
    form.kind.data, form.q.data = "dwelling", text
    try:
        found = services.find_dwellings_by_address(db_session(), current_actor(), text, today())
    except InvalidInput as error:
        _attach_errors(form, error)
        return _lookup_page(form, status=422)
    return _lookup_page(form, dwellings=found, results=results_args(None, text))


def _lookup_page(form, *, people=None, dwellings=None, results=None, status=200):
    return render_template(
        "dashboard/lookup.html",
        form=form,
        people=people,
        dwellings=dwellings,
        limit=services.LOOKUP_LIMIT,
        results=results or {},
    ), status


def _attach_errors(form, error: InvalidInput) -> None:
    """Show a service's field errors under the form's own fields."""
    for name, messages in error.details.get("fields", {}).items():
        target = form[name] if name in form else form["q"]
        target.errors = list(target.errors or []) + [str(message) for message in messages]


@blueprint.route("/people/<int:person_id>")
@desk_only
@private
def person(person_id: int):
    page = services.person_page(db_session(), current_actor(), cipher(), person_id, today())
    return render_template("dashboard/person.html", page=page, form=RevealForm(), revealed=None)


@blueprint.route("/people/<int:person_id>/reveal", methods=["POST"])
@desk_only
@private
def reveal(person_id: int):
    session, actor = db_session(), current_actor()
    form = RevealForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        page = services.person_page(session, actor, cipher(), person_id, today())
        return render_template("dashboard/person.html", page=page, form=form, revealed=None), 422
    try:
        number = services.reveal_person_document(
            session, actor, cipher(), person_id, form.reason.data
        )
    except InvalidInput as error:
        _attach_errors(form, error)
        page = services.person_page(session, actor, cipher(), person_id, today())
        return render_template("dashboard/person.html", page=page, form=form, revealed=None), 422
    page = services.person_page(session, actor, cipher(), person_id, today(), audit_view=False)
    return render_template(
        "dashboard/person.html", page=page, form=RevealForm(formdata=None), revealed=number
    )


@blueprint.route("/dwellings/<int:dwelling_id>")
@desk_only
@private
def dwelling(dwelling_id: int):
    session, actor = db_session(), current_actor()
    page = services.dwelling_page(session, actor, cipher(), dwelling_id, today())
    shown = flags.flags_at(session, actor, page.dwelling.address, today())
    return render_template("dashboard/dwelling.html", page=page, flags=shown)


def _trail_filter(form: TrailFilterForm) -> services.TrailFilter:
    """The filter the form asks for; a date that does not parse gets a field error."""
    days = {}
    for name in ("date_from", "date_to"):
        raw = (form[name].data or "").strip()
        days[name] = None
        if raw:
            try:
                days[name] = parse_date(raw, name)
            except FieldError as error:
                form[name].errors = [str(error.message)]
    kind = form.kind.data if form.kind.data in services.TRAIL_KINDS else None
    return services.TrailFilter(
        kind=kind, username=form.user.data or None, page=page_number(), **days
    )


@blueprint.route("/audit/<object_type>/<object_id>")
@desk_only
@private
def audit(object_type: str, object_id: str):
    form = TrailFilterForm(formdata=request.args)
    form.validate()
    wanted = _trail_filter(form)
    trail = services.audit_trail(db_session(), current_actor(), object_type, object_id, wanted)
    form.user.choices = [SelectChoice("", _("Every user"))] + [
        SelectChoice(name, name) for name in trail.usernames
    ]
    args = {key: value for key, value in request.args.items() if key != "page" and value}

    def page_url(number: int) -> str:
        return url_for(
            "dashboard.audit", object_type=object_type, object_id=object_id, page=number, **args
        )

    status = 422 if form.errors else 200
    return render_template(
        "dashboard/audit.html",
        trail=trail,
        rows=trail_rows(trail),
        form=form,
        page_url=page_url,
        filtered=bool(args),
    ), status
