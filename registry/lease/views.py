"""Property managers' and landlords' pages: dwellings, lease filings, tenants, the pledges.

Views are thin: parse the form, call a service, render or redirect. A form that fails is
shown again with everything entered and each field's message; a stale save shows the
conflict page. The signing page also serves grid workers, who collect the landlord's
signature in the stairwell; officers and admins can read filings but sign nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_currency
from flask_babel import gettext as _
from wtforms import FieldList, FormField
from wtforms.csrf.core import CSRFTokenField

from registry.accounts.models import Role
from registry.labels import (
    FILING_STATE_LABELS,
    LEASE_STATUS_LABELS,
    OCCUPANCY_LABELS,
    PLEDGE_KIND_LABELS,
    SIGNER_ROLE_LABELS,
    label_of,
)
from registry.lease import changes, filings, overview, pledges, tenants, term
from registry.lease.forms import (
    AddTenantForm,
    CancelFilingForm,
    ConfirmForm,
    CorrectFilingForm,
    EndEarlyForm,
    LeaseForm,
    SignForm,
)
from registry.lease.models import LeaseFiling, LeaseStatus, PledgeKind
from registry.lease.signature import decode_signature_data_url
from registry.web.auth import current_actor, roles_required
from registry.web.clock import today as _today
from registry.web.conflict import iso_date_label
from registry.web.paging import page_number
from registry.web.saving import Outcome, save
from registry.web.session import cipher, db_session

blueprint = Blueprint("leases", __name__, url_prefix="/leases")

ALL_ROLES = (Role.PROPERTY_MANAGER, Role.GRID_WORKER, Role.POLICE_OFFICER, Role.ADMIN)
PER_PAGE = 50
SEARCH_LENGTH = 100


# -- helpers -------------------------------------------------------------------------------


def _seen_version() -> str | None:
    """The version the user's form was based on; the conflict page appends a newer one."""
    values = request.form.getlist("version")
    return values[-1] if values else None


def _set_errors(field, messages) -> None:
    field.errors = [*list(field.errors or ()), *messages]


def _apply_errors(form, fields: dict) -> dict[str, list]:
    """Put each service message on its form field; return the ones no field shows."""
    rest: dict[str, list] = {}
    for key, messages in fields.items():
        target = None
        if key.startswith("tenants-") and hasattr(form, "tenants"):
            _prefix, position, name = key.split("-", 2)
            entries = form.tenants.entries
            if position.isdigit() and int(position) < len(entries):
                subform = entries[int(position)].form
                target = subform._fields.get(name)
        elif key.startswith("landlord-") and hasattr(form, "landlord"):
            name = key.removeprefix("landlord-")
            subform = form.landlord.form
            target = subform._fields.get(name)
        elif key in form and not isinstance(form[key], FieldList | FormField | CSRFTokenField):
            target = form[key]
        if target is None:
            rest.setdefault(key, []).extend(messages)
        else:
            _set_errors(target, messages)
    return rest


def _csrf_problem(form) -> dict[str, list]:
    errors = {}
    if form.csrf_token.errors:
        errors["form"] = [_("The form had expired. Check your input and submit it again.")]
    return errors


def _conflict_labels() -> dict[str, str]:
    return {
        "starts_on": _("Term starts on"),
        "ends_on": _("Term ends on"),
        "monthly_rent": _("Monthly rent (yuan)"),
        "status": _("Status"),
        "ended_on": _("Ended on"),
        "tenant_count": _("Number of tenants"),
    }


def _conflict_shown() -> dict:
    """How the conflict page shows the saved values that are no form field."""
    return {
        "status": status_value_label,
        "starts_on": iso_date_label,
        "ends_on": iso_date_label,
        "ended_on": iso_date_label,
    }


def status_value_label(value) -> str:
    return label_of(LEASE_STATUS_LABELS, value)


def _save(form, action, page, filing_id: int | None = None) -> Outcome:
    """The shared save (registry/web/saving.py) with this blueprint's labels and errors.

    ``page(rest)`` shows the form again, ``rest`` holding the messages no field shows;
    ``filing_id`` names the filing whose saved values a lost race shows (edits only).
    """

    def current_after_race():
        session = db_session()
        filing = session.get(LeaseFiling, filing_id)
        return changes.conflict_values(session, filing), filing.version

    return save(
        form,
        action,
        invalid=lambda fields: page(_apply_errors(form, fields)),
        labels=_conflict_labels(),
        shown=_conflict_shown(),
        current_after_race=current_after_race if filing_id is not None else None,
    )


def dwelling_page(dwelling_id: int) -> str:
    """The dwelling's own page for this user: a grid worker's stays in /cells/."""
    if current_actor().role == Role.GRID_WORKER:
        return url_for("gridwork.dwelling", dwelling_id=dwelling_id)
    return url_for("leases.dwelling", dwelling_id=dwelling_id)


@blueprint.context_processor
def _helpers():
    def money(value):
        return format_currency(value, "CNY") if value is not None else ""

    return {
        "money": money,
        "pledge_label": pledge_label,
        "occupancy_label": occupancy_label,
        "signer_role_label": signer_role_label,
        "lease_status_label": lease_status_label,
        "dwelling_page": dwelling_page,
        "PledgeKind": PledgeKind,
        "LeaseStatus": LeaseStatus,
        "Role": Role,
        "today": _today(),
    }


def pledge_label(kind) -> str:
    return label_of(PLEDGE_KIND_LABELS, kind)


def occupancy_label(value) -> str:
    return label_of(OCCUPANCY_LABELS, value)


def signer_role_label(value) -> str:
    return label_of(SIGNER_ROLE_LABELS, value)


def filing_state(filing: LeaseFiling, today: date) -> str:
    """Where the filing stands on ``today``: a key of FILING_STATE_LABELS."""
    if filing.status == LeaseStatus.CANCELLED:
        return "cancelled"
    if filing.status == LeaseStatus.ENDED_EARLY:
        return "ended_early"
    if filing.ends_on < today:
        return "expired"
    if filing.starts_on > today:
        return "future"
    return "current"


def lease_status_label(filing: LeaseFiling, today: date) -> str:
    return label_of(FILING_STATE_LABELS, filing_state(filing, today))


# -- lists ---------------------------------------------------------------------------------


@blueprint.route("/")
@roles_required(Role.PROPERTY_MANAGER)
def my_dwellings():
    """The manager's dwellings: a door-number search and filters, all in the URL (GET)."""
    try:
        show = overview.Show(request.args.get("show", overview.Show.ALL))
    except ValueError:
        show = overview.Show.ALL
    search = request.args.get("q", "")[:SEARCH_LENGTH]
    listing = overview.list_my_dwellings(
        db_session(),
        current_actor(),
        _today(),
        show=show,
        search=search,
        page=page_number(),
        per_page=PER_PAGE,
    )
    return render_template(
        "leases/my_dwellings.html", listing=listing, show=show, search=search, Show=overview.Show
    )


@blueprint.route("/reminders")
@roles_required(Role.PROPERTY_MANAGER)
def reminders():
    found = overview.list_reminders(db_session(), current_actor(), _today())
    return render_template("leases/reminders.html", reminders=found)


@blueprint.route("/dwellings/<int:dwelling_id>")
@roles_required(*ALL_ROLES)
def dwelling(dwelling_id: int):
    session, actor = db_session(), current_actor()
    row = overview.dwelling_row(session, actor, dwelling_id, _today())
    _dwelling, shown_filings = overview.filings_of_dwelling(session, actor, dwelling_id)
    return render_template("leases/dwelling.html", row=row, filings=shown_filings)


# -- filing a lease and renewing one -------------------------------------------------------


def _lease_form_page(form, *, dwelling_id: int, previous=None, rest=None, status=200):
    """The lease form, with the owner and (for a renewal) the old tenants to choose from."""
    context = filings.lease_form_context(
        db_session(), current_actor(), cipher(), dwelling_id, _today(), previous
    )
    form.landlord_choice.choices = [(c, c) for c in context.landlord_choices]
    return (
        render_template("leases/lease_form.html", form=form, context=context, rest=rest or {}),
        status,
    )


def _lease_input(form) -> filings.LeaseInput:
    return filings.LeaseInput(
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        monthly_rent=form.monthly_rent.data,
        landlord_choice=form.landlord_choice.data or "",
        landlord=form.landlord.form.person_input(),
        tenants=[entry.form.person_input() for entry in form.tenants.entries],
        keep_tenancy_ids=form.keep_tenants.data or [],
    )


def _handle_lease_form(form, *, dwelling_id: int, previous=None):
    """POST of the lease form: another row, a validation error, or the filed lease."""
    if form.add_row.data and len(form.tenants.entries) < form.tenants.max_entries:
        form.tenants.append_entry()
        return _lease_form_page(form, dwelling_id=dwelling_id, previous=previous)
    if not form.validate_on_submit():
        return _lease_form_page(
            form, dwelling_id=dwelling_id, previous=previous, rest=_csrf_problem(form), status=400
        )
    session, actor = db_session(), current_actor()

    def action():
        if previous is None:
            return filings.file_lease(
                session, actor, cipher(), dwelling_id, _lease_input(form), _today()
            )
        return filings.renew_lease(
            session, actor, cipher(), previous.id, _lease_input(form), _today()
        )

    filing, failed = _save(
        form,
        action,
        lambda rest: _lease_form_page(form, dwelling_id=dwelling_id, previous=previous, rest=rest),
    )
    if failed:
        return failed
    flash(_("Lease filed as %(number)s.", number=filing.filing_number), "ok")
    return redirect(url_for("leases.filing", filing_id=filing.id))


@blueprint.route("/dwellings/<int:dwelling_id>/file", methods=["GET", "POST"])
@roles_required(*changes.FILING_ROLES)
def file_lease(dwelling_id: int):
    session, actor = db_session(), current_actor()
    dwelling, _filings = overview.filings_of_dwelling(session, actor, dwelling_id)
    form = LeaseForm()
    if request.method == "POST":
        return _handle_lease_form(form, dwelling_id=dwelling.id)
    today = _today()
    form.starts_on.data = today.isoformat()
    form.ends_on.data = term.last_day_of_term(today).isoformat()
    form.landlord_choice.data = "owner" if dwelling.owner_person_id else "other"
    return _lease_form_page(form, dwelling_id=dwelling.id)


@blueprint.route("/filings/<int:filing_id>/renew", methods=["GET", "POST"])
@roles_required(*changes.FILING_ROLES)
def renew_filing(filing_id: int):
    session, actor = db_session(), current_actor()
    previous = filings.get_filing(session, actor, filing_id)
    form = LeaseForm()
    if request.method == "POST":
        return _handle_lease_form(form, dwelling_id=previous.dwelling_id, previous=previous)
    defaults = filings.renewal_defaults(previous)
    form.starts_on.data = defaults["starts_on"].isoformat()
    form.ends_on.data = defaults["ends_on"].isoformat()
    form.monthly_rent.data = str(defaults["monthly_rent"])
    form.landlord_choice.data = "previous"
    form.keep_tenants.data = [t.id for t in previous.tenancies if t.removed_on is None]
    return _lease_form_page(form, dwelling_id=previous.dwelling_id, previous=previous)


# -- one filing: its page and its edits ----------------------------------------------------


def _filing_page(
    filing_id: int,
    *,
    end_form=None,
    tenant_form=None,
    confirm_form=None,
    cancel_form=None,
    rest=None,
    status=200,
):
    session, actor = db_session(), current_actor()
    today = _today()
    shown = filings.view_filing(session, actor, cipher(), filing_id, today)
    end_form = end_form or EndEarlyForm(formdata=None, ended_on=today.isoformat())
    tenant_form = tenant_form or AddTenantForm(formdata=None)
    cancel_form = cancel_form or CancelFilingForm(formdata=None)
    failed = [
        field
        for form in (tenant_form, end_form, cancel_form)
        for field in form
        if field.errors and not isinstance(field, CSRFTokenField)
    ]
    return (
        render_template(
            "leases/filing.html",
            view=shown,
            filing=shown.filing,
            end_form=end_form,
            tenant_form=tenant_form,
            confirm_form=confirm_form or ConfirmForm(formdata=None),
            cancel_form=cancel_form,
            may_cancel=filings.may_cancel(shown.filing, today),
            can_edit=actor.role in changes.FILING_ROLES,
            can_sign=actor.role in changes.SIGNING_ROLES,
            status_label=lease_status_label(shown.filing, today),
            rest=rest or {},
            failed=failed,
        ),
        status,
    )


@blueprint.route("/filings/<int:filing_id>")
@roles_required(*ALL_ROLES)
def filing(filing_id: int):
    return _filing_page(filing_id)


@blueprint.route("/filings/<int:filing_id>/edit", methods=["GET", "POST"])
@roles_required(*changes.FILING_ROLES)
def edit_filing(filing_id: int):
    session, actor = db_session(), current_actor()
    record = filings.get_filing(session, actor, filing_id)
    form = CorrectFilingForm()

    def page(rest=None, version=None):
        return render_template(
            "leases/edit_filing.html",
            form=form,
            filing=filings.get_filing(session, actor, filing_id),
            version=_seen_version() if version is None else version,
            rest=rest or {},
        )

    if request.method == "GET":
        form.starts_on.data = record.starts_on.isoformat()
        form.ends_on.data = record.ends_on.isoformat()
        form.monthly_rent.data = str(record.monthly_rent)
        return page(version=record.version)
    if not form.validate_on_submit():
        return page(_csrf_problem(form)), 400
    _saved, failed = _save(
        form,
        lambda: filings.correct_filing(
            session,
            actor,
            filing_id,
            form.starts_on.data,
            form.ends_on.data,
            form.monthly_rent.data,
            _seen_version(),
            _today(),
        ),
        page,
        filing_id,
    )
    if failed:
        return failed
    flash(_("Filing corrected."), "ok")
    return redirect(url_for("leases.filing", filing_id=filing_id))


def _edit_action(filing_id: int, form, action, success_message: str, form_slot: str):
    """Run one edit posted from the filing page: redirect, conflict page, or page with errors."""
    if not form.validate_on_submit():
        return _filing_page(filing_id, rest=_csrf_problem(form), status=400, **{form_slot: form})
    _saved, failed = _save(
        form,
        action,
        lambda rest: _filing_page(filing_id, rest=rest, **{form_slot: form}),
        filing_id,
    )
    if failed:
        return failed
    flash(success_message, "ok")
    return redirect(url_for("leases.filing", filing_id=filing_id))


@blueprint.route("/filings/<int:filing_id>/end", methods=["GET", "POST"])
@roles_required(*changes.FILING_ROLES)
def end_early(filing_id: int):
    """End early in two steps: the date typed is shown for confirmation, then saved."""
    if request.method == "GET":  # the conflict page's "reload" link lands here
        return redirect(url_for("leases.filing", filing_id=filing_id))
    form = EndEarlyForm()
    if request.form.get("confirmed") != "yes":
        return _confirm_end_early(filing_id, form)
    return _edit_action(
        filing_id,
        form,
        lambda: filings.end_lease_early(
            db_session(), current_actor(), filing_id, form.ended_on.data, _seen_version(), _today()
        ),
        _("The lease was ended early."),
        "end_form",
    )


def _confirm_end_early(filing_id: int, form):
    """The question before ending early: the lease, the last day typed, what follows."""
    if not form.validate_on_submit():
        return _filing_page(filing_id, rest=_csrf_problem(form), status=400, end_form=form)
    preview, failed = _save(
        form,
        lambda: filings.preview_end_early(
            db_session(), current_actor(), filing_id, form.ended_on.data, _seen_version(), _today()
        ),
        lambda rest: _filing_page(filing_id, rest=rest, end_form=form),
        filing_id,
    )
    if failed:
        return failed
    filing, last_day = preview
    return render_template(
        "leases/end_confirm.html",
        filing=filing,
        last_day=last_day,
        form=form,
        version=_seen_version(),
    )


@blueprint.route("/filings/<int:filing_id>/cancel", methods=["GET", "POST"])
@roles_required(*changes.FILING_ROLES)
def cancel_filing(filing_id: int):
    if request.method == "GET":
        return redirect(url_for("leases.filing", filing_id=filing_id))
    form = CancelFilingForm()
    return _edit_action(
        filing_id,
        form,
        lambda: filings.cancel_filing(
            db_session(), current_actor(), filing_id, form.reason.data, _seen_version(), _today()
        ),
        _("The filing was cancelled. It stays on record with the reason."),
        "cancel_form",
    )


@blueprint.route("/filings/<int:filing_id>/tenants", methods=["GET", "POST"])
@roles_required(*changes.FILING_ROLES)
def add_tenant(filing_id: int):
    if request.method == "GET":
        return redirect(url_for("leases.filing", filing_id=filing_id))
    form = AddTenantForm()
    resident = form.resident_id.data
    resident_id = int(resident) if resident and resident.isdigit() else None

    def action():
        tenants.add_tenant(
            db_session(),
            current_actor(),
            cipher(),
            filing_id,
            _seen_version(),
            _today(),
            person=None if resident_id else form.person_input(),
            resident_person_id=resident_id,
        )

    return _edit_action(filing_id, form, action, _("Tenant added."), "tenant_form")


@blueprint.route(
    "/filings/<int:filing_id>/tenants/<int:tenancy_id>/remove", methods=["GET", "POST"]
)
@roles_required(*changes.FILING_ROLES)
def remove_tenant(filing_id: int, tenancy_id: int):
    if request.method == "GET":
        return redirect(url_for("leases.filing", filing_id=filing_id))
    form = ConfirmForm()
    return _edit_action(
        filing_id,
        form,
        lambda: tenants.remove_tenant(
            db_session(), current_actor(), filing_id, tenancy_id, _seen_version(), _today()
        ),
        _("Tenant removed from the lease."),
        "confirm_form",
    )


# -- the two pledges -----------------------------------------------------------------------


@blueprint.route(
    "/filings/<int:filing_id>/pledges/<any(rental_pledge, security_guarantee):kind>/sign",
    methods=["GET", "POST"],
)
@roles_required(*ALL_ROLES)
def sign_pledge(filing_id: int, kind: str):
    session, actor, today = db_session(), current_actor(), _today()
    form = SignForm()

    def page(rest=None):
        context = pledges.signing_context(session, actor, cipher(), filing_id, kind, today)
        form.signer.choices = [(s.key, s.person.name) for s in context.signers]
        if request.method == "GET":
            form.signer.data = context.first_unsigned
        return render_template("leases/sign.html", form=form, context=context, rest=rest or {})

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        return page(_csrf_problem(form)), 400
    _saved, failed = _save(
        form,
        lambda: pledges.sign_pledge(
            session,
            actor,
            cipher(),
            filing_id,
            kind,
            signer_key=form.signer.data,
            confirmed=bool(form.confirm.data),
            signature=decode_signature_data_url(form.signature.data),
            today=today,
            now=datetime.now(UTC),
            method="typed" if form.method.data == "typed" else "drawn",
            typed_name=form.typed_name.data,
        ),
        page,
    )
    if failed:
        return failed
    flash(_("Signature saved: %(pledge)s.", pledge=pledge_label(kind)), "ok")
    if actor.role == Role.GRID_WORKER:
        # Back to the dwelling in the worker's cells, where the next door's work starts.
        dwelling_id = filings.get_filing(session, actor, filing_id).dwelling_id
        return redirect(url_for("gridwork.dwelling", dwelling_id=dwelling_id))
    return redirect(url_for("leases.filing", filing_id=filing_id))


@blueprint.route(
    "/pledges/<any(rental_pledge, security_guarantee):kind>/<int:pledge_id>/signature.png"
)
@roles_required(*ALL_ROLES)
def signature(kind: str, pledge_id: int):
    image = pledges.signature_image(db_session(), current_actor(), kind, pledge_id)
    response = make_response(image)
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response
