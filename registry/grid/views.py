"""Grid workers' tablet pages: my cells, search, addresses, dwellings, occupants, units.

Views are thin: parse the form, call a service, render or redirect. Every service applies
the worker's scope, so a record outside the worker's cells is "not found" whatever the URL
says. Validation errors re-render the form with everything the worker typed; a save based
on a stale version shows the conflict page.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from itertools import groupby

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from registry.accounts.models import Role
from registry.address import services as addresses
from registry.address.forms import LABELS as ADDRESS_LABELS
from registry.address.forms import AddressForm
from registry.address.models import Address
from registry.dwelling import services as dwellings
from registry.dwelling.forms import LABELS as DWELLING_LABELS
from registry.dwelling.forms import DwellingForm
from registry.dwelling.models import Dwelling
from registry.errors import InvalidInput
from registry.flags import services as flags
from registry.grid.forms import FilingRequestForm, SearchForm
from registry.grid.search import KEPT_SCOPE, found_ids, named_room, reload_found, search_cells
from registry.labels import (
    OCCUPANCY_LABELS,
    ORGANISATION_KIND_LABELS,
    RELATIONSHIP_LABELS,
    RESIDENCE_KIND_LABELS,
    USE_LABELS,
)
from registry.lease import requests as filing_requests
from registry.organisation import services as organisations
from registry.organisation.forms import LABELS as ORGANISATION_LABELS
from registry.organisation.forms import OrganisationForm
from registry.organisation.models import Organisation
from registry.person import residences
from registry.person.forms import LABELS as PERSON_LABELS
from registry.person.forms import (
    MoveInForm,
    MoveOutForm,
    PersonForm,
    ResidenceForm,
)
from registry.person.models import Person
from registry.person.services import (
    correctable_in_scope,
    masked_document,
    may_correct,
    view_person,
)
from registry.scope import get_in_scope
from registry.searches import services as searches
from registry.validators import (
    FieldError,
    SearchQuery,
    classify_query,
    document_query,
)
from registry.web import clock
from registry.web.auth import current_actor, roles_required
from registry.web.paging import page_number, page_url
from registry.web.results import results_args
from registry.web.saving import Outcome, apply_errors, save
from registry.web.session import cipher, db_session

blueprint = Blueprint("gridwork", __name__, url_prefix="/cells")

BUILDINGS_PER_PAGE = 30
DWELLINGS_PER_PAGE = 50
PLEDGE_ENDPOINT = "leases.sign_pledge"
PLEDGE_KINDS = ("rental_pledge", "security_guarantee")
LEAFLET = "vendor/leaflet/leaflet.js"

worker_only = roles_required(Role.GRID_WORKER)


@blueprint.context_processor
def _labels() -> dict:
    return {
        "page_url": page_url,
        "use_labels": USE_LABELS,
        "occupancy_labels": OCCUPANCY_LABELS,
        "residence_kind_labels": RESIDENCE_KIND_LABELS,
        "relationship_labels": RELATIONSHIP_LABELS,
        "organisation_kind_labels": ORGANISATION_KIND_LABELS,
    }


# -- helpers -------------------------------------------------------------------------------


def _pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def _version() -> str | None:
    """The version the form was based on: a plain hidden input, never a form field.

    The conflict page re-posts every field and adds the current version; keeping the
    version out of the form classes means only that one value is ever submitted.
    """
    return request.form.get("version")


def _log_shown(person_ids, context: str) -> None:
    """The page about to be shown shows these people: a view of each, audited."""
    shown = [Person(id=person_id) for person_id in person_ids if person_id is not None]
    residences.record_list_views(db_session(), current_actor(), shown, context)


def _save(form, action: Callable, render: Callable, labels: dict, reload=None) -> Outcome:
    """The shared save (registry/web/saving.py); field errors go beside this form's fields.

    ``render(unplaced)`` shows the form again; ``reload()`` reads the record's current
    values and version after a lost race (edits only).
    """
    return save(
        form,
        action,
        invalid=lambda fields: render(apply_errors(form, fields)),
        labels=labels,
        current_after_race=reload,
    )


def _pledge_links(filing_id: int | None) -> dict[str, str]:
    """Links to the pledge collection page, when the leases pages provide it."""
    if filing_id is None or PLEDGE_ENDPOINT not in current_app.view_functions:
        return {}
    return {kind: url_for(PLEDGE_ENDPOINT, filing_id=filing_id, kind=kind) for kind in PLEDGE_KINDS}


def _leaflet_available() -> bool:
    return os.path.exists(os.path.join(current_app.static_folder, LEAFLET))


# -- my cells and search -------------------------------------------------------------------


@blueprint.route("/")
@worker_only
def my_cells():
    session, actor = db_session(), current_actor()
    today = clock.today()
    cells = addresses.cells_of(session, actor)
    summaries = dwellings.cell_summaries(session, actor, [c.id for c in cells], today)
    chosen = next((c for c in cells if str(c.id) == request.args.get("cell")), None)
    chosen = chosen or (cells[0] if cells else None)
    show = "attention" if request.args.get("show") == "attention" else "buildings"
    page = page_number()
    rows, total, per_page = [], 0, BUILDINGS_PER_PAGE
    if chosen is not None and show == "buildings":
        rows, total = dwellings.buildings_of_cell(
            session, actor, chosen.id, today, page, BUILDINGS_PER_PAGE
        )
    elif chosen is not None:
        # "Needs attention" is the live flags of the cell, place by place.
        per_page = DWELLINGS_PER_PAGE
        rows, total = flags.needing_attention(
            session, actor, chosen.id, today, page, DWELLINGS_PER_PAGE
        )
    return render_template(
        "gridwork/my_cells.html",
        cells=cells,
        summaries=summaries,
        attention=flags.live_flag_count(session, actor, [c.id for c in cells]),
        chosen=chosen,
        show=show,
        rows=rows,
        total=total,
        page=page,
        pages=_pages(total, per_page),
        today=today,
    )


@blueprint.route("/search", methods=["GET", "POST"])
@worker_only
def search():
    """Search by door number, building, road, name, phone or document number.

    A query that is personal data (a document or phone number, a name) is accepted only
    by POST, so that it never lands in a URL, the browser's history, the access log or the
    language link; by GET it is refused without being repeated. Door numbers, buildings and
    roads are redirected to GET, so that Back works. A document number is never echoed
    back, only its masked form.
    """
    if request.method == "GET":
        form = SearchForm(request.args)
        query = classify_query(form.q.data)
        if form.document_type.data or (query.kind.is_personal and query.text):
            flash(
                _(
                    "Search for a person with the Search button: names, phone and document"
                    " numbers never go into a web address."
                ),
                "error",
            )
            return redirect(url_for(".search"), 303)
        return _search_results(form, query)
    form = SearchForm(request.form)
    try:
        query = _posted_query(form)
    except FieldError as error:
        form.q.data = ""
        form[error.field].errors = [str(error.message)]
        return _search_results(form, None, status=422)
    if not query.kind.is_personal:
        return redirect(url_for(".search", q=query.text), 303)
    # POST/redirect/GET: the results are kept on the server under a random token, so Back
    # and the record pages' "back to results" work; the query goes nowhere.
    session, actor = db_session(), current_actor()
    found = search_cells(session, actor, cipher(), query)
    token = searches.keep_results(session, actor, KEPT_SCOPE, found_ids(found), clock.now())
    return redirect(url_for(".search_results", token=token), 303)


@blueprint.route("/search/results/<token>")
@worker_only
def search_results(token: str):
    """A personal search's results: kept for this worker, read again in scope, logged."""
    session, actor = db_session(), current_actor()
    kept = searches.kept_results(session, actor, KEPT_SCOPE, token, clock.now())
    found = reload_found(session, actor, kept)
    return _render_results(SearchForm(formdata=None), found, results_token=token)


def _posted_query(form: SearchForm) -> SearchQuery:
    if form.document_type.data:
        return document_query(form.document_type.data, form.q.data, today=clock.today())
    return classify_query(form.q.data)


def _search_results(form: SearchForm, query: SearchQuery | None, status: int = 200):
    """The search page for a door number, building or road (GET), or a refused form."""
    found = None
    if query is not None and query.text:
        session, actor = db_session(), current_actor()
        found = search_cells(session, actor, cipher(), query)
        room = named_room(query, found)
        if room is not None:
            shown = dwellings.dwellings_with_status(session, actor, [room.id], clock.today())
            if room.id in shown:
                return redirect(url_for(".dwelling", dwelling_id=shown[room.id][0].Dwelling.id))
    return _render_results(form, found, status=status)


def _render_results(form: SearchForm, found, *, status: int = 200, results_token=None):
    session, actor = db_session(), current_actor()
    masked = homes = None
    statuses: dict[int, tuple] = {}
    if found is not None:
        statuses = dwellings.dwellings_with_status(
            session, actor, [a.id for a in found.addresses[0]], clock.today()
        )
        people = found.people[0]
        masked = {p.id: masked_document(cipher(), p) for p in people}
        homes = residences.current_homes(session, actor, [p.id for p in people], clock.today())
        residences.record_list_views(session, actor, people, "search")
    response = make_response(
        render_template(
            "gridwork/search.html",
            form=form,
            found=found,
            masked=masked or {},
            homes=homes or {},
            statuses=statuses,
            results=results_args(results_token, form.q.data if results_token is None else None),
        ),
        status,
    )
    if results_token is not None:
        response.headers["Cache-Control"] = "no-store"  # personal results stay out of caches
    return response


# -- addresses -----------------------------------------------------------------------------


def _render_address_form(form, address=None, unplaced=(), parent=None):
    roads = addresses.nearby_roads(
        db_session(),
        current_actor(),
        include_id=address.road_id if address else None,
        include_ids=(form.road_id.data,),
    )
    chosen = form.road_id.data
    form.set_roads(roads)
    form.road_id.data = chosen
    return render_template(
        "gridwork/address_form.html",
        form=form,
        address=address,
        parent=parent,
        unplaced=unplaced,
        features=addresses.map_features(db_session(), current_actor()),
        leaflet=_leaflet_available(),
    )


@blueprint.route("/addresses/new", methods=["GET", "POST"])
@worker_only
def new_address():
    session, actor = db_session(), current_actor()
    parent = None
    if request.args.get("parent", "").isdigit():
        parent = get_in_scope(session, actor, Address, int(request.args["parent"]))
    form = AddressForm()
    if request.method == "GET" and parent is not None:
        values = addresses.address_values(parent)
        for name in ("road_id", "door_number", "building", "lon", "lat"):
            form[name].data = "" if values[name] is None else str(values[name])
    if request.method == "POST":
        created, failed = _save(
            form,
            lambda: addresses.create_address(session, actor, form.to_input()),
            lambda unplaced: _render_address_form(form, unplaced=unplaced, parent=parent),
            ADDRESS_LABELS,
        )
        if failed:
            return failed
        flash(_("Address %(code)s created.", code=created.code), "ok")
        return redirect(url_for(".address", address_id=created.id))
    return _render_address_form(form, parent=parent)


@blueprint.route("/addresses/<int:address_id>")
@worker_only
def address(address_id: int):
    session, actor = db_session(), current_actor()
    today = clock.today()
    record = get_in_scope(session, actor, Address, address_id)
    page = page_number()
    rows, total = dwellings.dwellings_at(session, actor, record, today, page, DWELLINGS_PER_PAGE)
    lon, lat = addresses.address_point(record)
    parent = None
    if record.parent_id is not None:
        parent = session.scalar(
            select(Address).where(Address.id == record.parent_id, addresses.address_filter(actor))
        )
    own, _capacity = dwellings.dwelling_here(session, actor, record, today)
    return render_template(
        "gridwork/address.html",
        address=record,
        parent=parent,
        own=own,
        groups=[
            (entrance, list(group))
            for entrance, group in groupby(rows, key=lambda pair: pair[0].Address.entrance)
        ],
        total=total,
        page=page,
        pages=_pages(total, DWELLINGS_PER_PAGE),
        lon=lon,
        lat=lat,
        organisations=organisations.organisations_at(session, actor, record.id),
        flags=flags.flags_at(session, actor, record, today),
    )


@blueprint.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@worker_only
def edit_address(address_id: int):
    session, actor = db_session(), current_actor()
    record = get_in_scope(session, actor, Address, address_id)
    form = AddressForm()
    if request.method == "GET":
        for name, value in addresses.address_values(record).items():
            form[name].data = "" if value is None else str(value)
        return _render_address_form(form, address=record)

    # The conflict page names the roads (saved and chosen) rather than showing their ids.
    chosen = form.road_id.data
    form.set_roads(
        addresses.nearby_roads(session, actor, include_id=record.road_id, include_ids=(chosen,))
    )
    form.road_id.data = chosen

    def reload():
        fresh = get_in_scope(session, actor, Address, address_id)
        values = addresses.address_values(fresh)
        form.set_roads(
            addresses.nearby_roads(
                session, actor, include_id=values["road_id"], include_ids=(chosen,)
            )
        )
        return values, fresh.version

    def render(unplaced):
        fresh = get_in_scope(session, actor, Address, address_id)
        return _render_address_form(form, address=fresh, unplaced=unplaced)

    _saved, failed = _save(
        form,
        lambda: addresses.correct_address(session, actor, address_id, form.to_input(), _version()),
        render,
        ADDRESS_LABELS,
        reload,
    )
    if failed:
        return failed
    flash(_("Address saved."), "ok")
    return redirect(url_for(".address", address_id=address_id))


# -- dwellings -----------------------------------------------------------------------------


def _render_dwelling_form(form, address, dwelling=None, unplaced=()):
    form.set_owner_kinds(editing=dwelling is not None)
    return render_template(
        "gridwork/dwelling_form.html",
        form=form,
        address=address,
        dwelling=dwelling,
        owner=dwellings.owner_label(cipher(), dwelling) if dwelling else "",
        unplaced=unplaced,
    )


@blueprint.route("/addresses/<int:address_id>/dwelling/new", methods=["GET", "POST"])
@worker_only
def new_dwelling(address_id: int):
    session, actor = db_session(), current_actor()
    record = get_in_scope(session, actor, Address, address_id)
    form = DwellingForm()
    if request.method == "GET":
        form.owner_kind.data = "person"
    if request.method == "POST":
        created, failed = _save(
            form,
            lambda: dwellings.create_dwelling(
                session, actor, cipher(), address_id, form.to_input(), clock.today()
            ),
            lambda unplaced: _render_dwelling_form(
                form, get_in_scope(session, actor, Address, address_id), unplaced=unplaced
            ),
            DWELLING_LABELS,
        )
        if failed:
            return failed
        flash(_("Dwelling created."), "ok")
        return redirect(url_for(".dwelling", dwelling_id=created.id))
    return _render_dwelling_form(form, record)


@blueprint.route("/dwellings/<int:dwelling_id>")
@worker_only
def dwelling(dwelling_id: int):
    session, actor = db_session(), current_actor()
    today = clock.today()
    record, status, capacity = dwellings.dwelling_with_status(session, actor, dwelling_id, today)
    current, former = residences.residences_of_dwelling(session, actor, dwelling_id, today)
    former = former[:20]
    shown = [r.person for r in current + former]
    masked = {p.id: masked_document(cipher(), p) for p in shown}
    residences.record_list_views(session, actor, {p.id: p for p in shown}.values(), "dwelling")
    _log_shown([record.owner_person_id], "owner")
    # A recorded occupancy the residents contradict is shown, never changed: the worker
    # decides whether the occupancy or the list of residents is wrong.
    suggested = dwellings.suggested_occupancy(
        status.occupancy_problem, [stay.relationship_to_dwelling for stay in current]
    )
    return render_template(
        "gridwork/dwelling.html",
        dwelling=record,
        address=record.address,
        status=status,
        capacity=capacity,
        current=current,
        former=former,
        masked=masked,
        owner=dwellings.owner_label(cipher(), record),
        pledge_links=_pledge_links(status.current_filing_id),
        landlord_account=filing_requests.has_landlord_account(session, dwelling_id),
        filing_request=filing_requests.open_request(session, dwelling_id),
        request_form=FilingRequestForm(formdata=None),
        today=today,
        problem=status.occupancy_problem,
        suggested=str(suggested) if suggested else None,
        values=dwellings.dwelling_values(record),
        flags=flags.flags_at(session, actor, record.address, today),
    )


@blueprint.route("/dwellings/<int:dwelling_id>/ask-landlord", methods=["POST"])
@worker_only
def ask_landlord(dwelling_id: int):
    """Put the dwelling's lease on the to-do list of its landlord, who has an account."""
    session, actor = db_session(), current_actor()
    form = FilingRequestForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Check your input and submit it again."), "error")
        return redirect(url_for(".dwelling", dwelling_id=dwelling_id))
    _saved, failed = save(
        form,
        lambda: filing_requests.request_filing(session, actor, dwelling_id, form.note.data),
        invalid=lambda fields: _dwelling_with_request_errors(dwelling_id, fields),
        labels={"note": form.note.label.text},
    )
    if failed:
        return failed
    flash(_("The filing is on the landlord's to-do list."), "ok")
    return redirect(url_for(".dwelling", dwelling_id=dwelling_id))


def _dwelling_with_request_errors(dwelling_id: int, fields: dict):
    """The dwelling page again, the refusal (no landlord account, a note too long) on top."""
    for messages in fields.values():
        for message in messages:
            flash(str(message), "error")
    return dwelling(dwelling_id)


@blueprint.route("/dwellings/<int:dwelling_id>/edit", methods=["GET", "POST"])
@worker_only
def edit_dwelling(dwelling_id: int):
    session, actor = db_session(), current_actor()
    record = get_in_scope(session, actor, Dwelling, dwelling_id)
    form = DwellingForm()
    if request.method == "GET":
        for name, value in dwellings.dwelling_values(record).items():
            form[name].data = str(value)
        form.owner_kind.data = "keep"
        _log_shown([record.owner_person_id], "owner")
        return _render_dwelling_form(form, record.address, record)

    def reload():
        fresh = get_in_scope(session, actor, Dwelling, dwelling_id)
        return dwellings.dwelling_values(fresh), fresh.version

    def render(unplaced):
        fresh = get_in_scope(session, actor, Dwelling, dwelling_id)
        return _render_dwelling_form(form, fresh.address, fresh, unplaced)

    _saved, failed = _save(
        form,
        lambda: dwellings.correct_dwelling(
            session, actor, cipher(), dwelling_id, form.to_input(), _version(), clock.today()
        ),
        render,
        DWELLING_LABELS,
        reload,
    )
    if failed:  # the form again, or the conflict page: both show the owner
        _log_shown([get_in_scope(session, actor, Dwelling, dwelling_id).owner_person_id], "owner")
        return failed
    flash(_("Dwelling saved."), "ok")
    return redirect(url_for(".dwelling", dwelling_id=dwelling_id))


# -- occupants -----------------------------------------------------------------------------


MOVE_CONFIRMATION_SALT = "move-in-confirmation"
MOVE_CONFIRMATION_MAX_AGE = 30 * 60  # seconds: long enough to talk it over at the door


def _move_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=MOVE_CONFIRMATION_SALT)


def _confirmed_move(actor, dwelling_id: int) -> residences.MoveConfirmation | None:
    """The confirmation the page signed for this worker and dwelling, if one was posted.

    The page carries a signed token instead of the document number, so the number is not
    echoed into the confirmation page, and the person cannot be swapped on the way back.
    """
    token = request.form.get("confirmation")
    if not token:
        return None
    try:
        user_id, signed_dwelling, person_id, ending = _move_signer().loads(
            token, max_age=MOVE_CONFIRMATION_MAX_AGE
        )
    except BadData:
        user_id = signed_dwelling = None
    if user_id != actor.id or signed_dwelling != dwelling_id:
        raise InvalidInput(
            fields={"document_number": [_l("The confirmation has expired: enter the move again")]}
        )
    return residences.MoveConfirmation(person_id, tuple(ending))


def _ask_to_confirm_move(form, dwelling, asked: residences.MoveNeedsConfirmation):
    person, homes = asked.details["person"], asked.details["homes"]
    token = _move_signer().dumps(
        [current_actor().id, dwelling.id, person.id, sorted(h.residence_id for h in homes)]
    )
    _log_shown([person.id], "move-in confirmation")
    return render_template(
        "gridwork/move_in_confirm.html",
        form=form,
        dwelling=dwelling,
        person=person,
        masked=masked_document(cipher(), person),
        homes=homes,
        moved_in=asked.details["moved_in"],
        confirmation=token,
    )


@blueprint.route("/dwellings/<int:dwelling_id>/move-in", methods=["GET", "POST"])
@worker_only
def move_in(dwelling_id: int):
    """Move someone in; someone who lives elsewhere is moved only after a confirmation."""
    session, actor = db_session(), current_actor()
    today = clock.today()
    record = get_in_scope(session, actor, Dwelling, dwelling_id)
    form = MoveInForm()

    def render(unplaced=()):
        fresh = get_in_scope(session, actor, Dwelling, dwelling_id)
        return render_template(
            "gridwork/move_in.html", form=form, dwelling=fresh, unplaced=unplaced
        )

    if request.method == "GET":
        form.moved_in.data = today.isoformat()
        return render()

    def action():
        confirmed = _confirmed_move(actor, record.id)
        return residences.move_in(
            session, actor, cipher(), record.id, form.to_input(), today, confirmed
        )

    try:
        _created, failed = _save(form, action, render, PERSON_LABELS)
    except residences.MoveNeedsConfirmation as asked:
        return _ask_to_confirm_move(form, record, asked)
    if failed:
        return failed
    _record, status, capacity = dwellings.dwelling_with_status(session, actor, dwelling_id, today)
    if capacity is not None and status.occupants_now > capacity:
        flash(
            _(
                "Moved in. This dwelling is now over capacity: %(count)s people live here,"
                " its legal capacity is %(capacity)s.",
                count=status.occupants_now,
                capacity=capacity,
            ),
            "error",
        )
    else:
        flash(_("Moved in."), "ok")
    return redirect(url_for(".dwelling", dwelling_id=dwelling_id))


def _residence_page(residence_id: int):
    session, actor = db_session(), current_actor()
    residence = residences.residence_in_scope(session, actor, residence_id)
    return residence, masked_document(cipher(), residence.person)


def _residence_form(
    residence_id: int, form, template: str, change: Callable, done: str, prepare: Callable
):
    """A form about one residence (move-out, correction): shown, refused or saved.

    ``prepare(residence)`` fills the form shown first; ``change(session, actor)`` makes the
    change; ``done`` is the message after saving. Every showing of the form, refused or
    conflicting included, is a view of the person.
    """
    session, actor = db_session(), current_actor()
    residence, masked = _residence_page(residence_id)

    def render(unplaced=()):
        fresh, fresh_masked = _residence_page(residence_id)
        return render_template(
            template, form=form, residence=fresh, masked=fresh_masked, unplaced=unplaced
        )

    if request.method == "GET":
        prepare(residence)
        _log_shown([residence.person_id], "correction")
        return render_template(template, form=form, residence=residence, masked=masked, unplaced=())

    def reload():
        fresh = residences.residence_in_scope(session, actor, residence_id)
        return residences.residence_values(fresh), fresh.version

    _saved, failed = _save(form, lambda: change(session, actor), render, PERSON_LABELS, reload)
    if failed:  # the form again, or the conflict page: both about this person
        _log_shown([residence.person_id], "correction")
        return failed
    flash(done, "ok")
    return redirect(url_for(".dwelling", dwelling_id=residence.dwelling_id))


@blueprint.route("/residences/<int:residence_id>/move-out", methods=["GET", "POST"])
@worker_only
def move_out(residence_id: int):
    form = MoveOutForm()

    def prepare(_residence) -> None:
        form.moved_out.data = clock.today().isoformat()

    return _residence_form(
        residence_id,
        form,
        "gridwork/move_out.html",
        lambda session, actor: residences.move_out(
            session, actor, residence_id, form.moved_out.data, _version(), clock.today()
        ),
        _("Moved out. The stay stays in the history."),
        prepare,
    )


@blueprint.route("/residences/<int:residence_id>/move-checked", methods=["POST"])
@worker_only
def check_move_away(residence_id: int):
    """The worker has checked a move-out recorded from outside their cells."""
    session, actor = db_session(), current_actor()
    residence = residences.check_move_away(session, actor, residence_id, clock.today())
    flash(_("Marked as checked."), "ok")
    return redirect(url_for(".dwelling", dwelling_id=residence.dwelling_id))


@blueprint.route("/residences/<int:residence_id>/edit", methods=["GET", "POST"])
@worker_only
def edit_residence(residence_id: int):
    form = ResidenceForm()

    def prepare(residence) -> None:
        for name, value in residences.residence_values(residence).items():
            form[name].data = "" if value is None else str(value)

    return _residence_form(
        residence_id,
        form,
        "gridwork/residence_form.html",
        lambda session, actor: residences.correct_residence(
            session, actor, residence_id, form.to_input(), _version(), clock.today()
        ),
        _("Residence saved."),
        prepare,
    )


@blueprint.route("/people/<int:person_id>")
@worker_only
def person(person_id: int):
    session, actor = db_session(), current_actor()
    today = clock.today()
    record = view_person(session, actor, person_id)
    return render_template(
        "gridwork/person.html",
        person=record,
        masked=masked_document(cipher(), record),
        stays=residences.residences_of_person(session, actor, person_id),
        may_correct=may_correct(session, actor, person_id, today),
        today=today,
    )


@blueprint.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@worker_only
def edit_person(person_id: int):
    session, actor = db_session(), current_actor()
    today = clock.today()
    record = correctable_in_scope(session, actor, person_id, today)
    form = PersonForm()

    def render(unplaced=()):
        fresh = get_in_scope(session, actor, Person, person_id)
        return render_template(
            "gridwork/person_form.html",
            form=form,
            person=fresh,
            masked=masked_document(cipher(), fresh),
            unplaced=unplaced,
        )

    if request.method == "GET":
        form.name.data = record.name
        form.document_type.data = str(record.document_type)
        form.phone.data = record.phone or ""
        form.birth_date.data = record.birth_date.isoformat() if record.birth_date else ""
        _log_shown([person_id], "correction")
        return render()

    def reload():
        fresh = get_in_scope(session, actor, Person, person_id)
        current = {
            "name": fresh.name,
            "document_type": str(fresh.document_type),
            "document_number": masked_document(cipher(), fresh),
            "phone": fresh.phone,
            "birth_date": fresh.birth_date,
        }
        return current, fresh.version

    _saved, failed = _save(
        form,
        lambda: residences.correct_occupant(
            session, actor, cipher(), person_id, form.to_input(), _version(), today
        ),
        render,
        PERSON_LABELS,
        reload,
    )
    if failed:  # the form again, or the conflict page with the stored name and number
        _log_shown([person_id], "correction")
        return failed
    flash(_("Person saved."), "ok")
    return redirect(url_for(".person", person_id=person_id))


# -- organisations -------------------------------------------------------------------------


def _render_organisation_form(form, organisation=None, unplaced=()):
    return render_template(
        "gridwork/organisation_form.html",
        form=form,
        organisation=organisation,
        unplaced=unplaced,
    )


@blueprint.route("/addresses/<int:address_id>/organisations/new", methods=["GET", "POST"])
@worker_only
def new_organisation(address_id: int):
    session, actor = db_session(), current_actor()
    record = get_in_scope(session, actor, Address, address_id)
    form = OrganisationForm()
    if request.method == "GET":
        form.address_code.data = record.code
        form.employee_count.data = "0"
        return _render_organisation_form(form)
    created, failed = _save(
        form,
        lambda: organisations.create_organisation(session, actor, form.to_input()),
        lambda unplaced: _render_organisation_form(form, unplaced=unplaced),
        ORGANISATION_LABELS,
    )
    if failed:
        return failed
    flash(_("Organisation created."), "ok")
    return redirect(url_for(".organisation", organisation_id=created.id))


@blueprint.route("/organisations/<int:organisation_id>")
@worker_only
def organisation(organisation_id: int):
    record = get_in_scope(db_session(), current_actor(), Organisation, organisation_id)
    return render_template("gridwork/organisation.html", organisation=record)


@blueprint.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@worker_only
def edit_organisation(organisation_id: int):
    session, actor = db_session(), current_actor()
    record = get_in_scope(session, actor, Organisation, organisation_id)
    form = OrganisationForm()
    if request.method == "GET":
        for name, value in organisations.organisation_values(record).items():
            form[name].data = "" if value is None else str(value)
        return _render_organisation_form(form, record)

    def reload():
        fresh = get_in_scope(session, actor, Organisation, organisation_id)
        return organisations.organisation_values(fresh), fresh.version

    def render(unplaced):
        fresh = get_in_scope(session, actor, Organisation, organisation_id)
        return _render_organisation_form(form, fresh, unplaced)

    _saved, failed = _save(
        form,
        lambda: organisations.correct_organisation(
            session, actor, organisation_id, form.to_input(), _version()
        ),
        render,
        ORGANISATION_LABELS,
        reload,
    )
    if failed:
        return failed
    flash(_("Organisation saved."), "ok")
    return redirect(url_for(".organisation", organisation_id=organisation_id))
