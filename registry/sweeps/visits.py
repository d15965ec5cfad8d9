"""Recording what was found at a stop, at once and exactly once, with optional photos.

On a weak connection a form may arrive twice. Each stop's form carries a one-time
``submission`` key: the same key again is the same visit (the first is returned, nothing
is recorded twice), and a unique constraint on the stop keeps one visit per stop even when
two tablets send at the same moment. A second, different record of a stop already done is
a conflict shown side by side, never a silent overwrite; a correction of one's own visit
sends the version it was based on.

What an outcome does to flags goes through registry/sweeps/leads.py, i.e. the flags'
own services: "unregistered occupants found" and "signs of group renting" raise their
visit rules' flags, "record corrected" runs the dwelling's rules again; "in order" and "no
one home" resolve nothing by themselves.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.audit.services import Action, changed, record
from registry.constraints import constraint_of
from registry.edits import check_version
from registry.errors import Conflict, InvalidInput, NotFound
from registry.flags.models import VisitFinding
from registry.scope import address_filter
from registry.sweeps import leads
from registry.sweeps.access import photo_filter
from registry.sweeps.models import (
    MAX_PEOPLE_FOUND,
    NOTE_LENGTH,
    ONE_SUBMISSION,
    ONE_VISIT_PER_STOP,
    Outcome,
    Sweep,
    SweepStop,
    SweepVisit,
    VisitPhoto,
)
from registry.validators import ValidationErrors

WALKING_ROLES = (Role.GRID_WORKER, Role.POLICE_OFFICER, Role.SWEEP_TEAM_MEMBER)
FINDINGS = {
    Outcome.UNREGISTERED_OCCUPANTS: VisitFinding.UNREGISTERED_OCCUPANTS,
    Outcome.GROUP_RENTING: VisitFinding.GROUP_RENTING_SIGNS,
}
PHOTOS_PER_VISIT = 6
PHOTO_BYTES = 12 * 1024 * 1024  # what a tablet's camera sends, at most
PHOTO_PIXELS = 50_000_000  # refused before decoding: no decompression bombs
PHOTO_SIDE = 1600  # stored photos are scaled down to this many pixels a side
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}
# The stop page's request may carry every photo allowed at full size (a browser without
# the page's script sends the camera's files as they are), plus the form's few fields.
# The app's general limit (registry/app.py) is smaller, so the stop route sets its own.
FORM_BYTES = 1024 * 1024
VISIT_REQUEST_BYTES = PHOTOS_PER_VISIT * PHOTO_BYTES + FORM_BYTES
TOO_MANY_PIXELS = _l("The photo has too many pixels")
_SUBMISSION = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class VisitInput:
    outcome: Any
    people: Any = None
    note: Any = ""
    submission: Any = None
    version: Any = None  # the visit's version the form was based on; empty for a new one


def new_submission() -> str:
    return str(uuid.uuid4())


def _stop_query(actor: UserAccount):
    return (
        select(SweepStop)
        .join(Address, Address.id == SweepStop.address_id)
        .where(address_filter(actor))
    )


def get_stop(session: Session, actor: UserAccount, stop_id: int) -> SweepStop:
    """A stop the actor may visit: in their scope (their teams' open sweeps included)."""
    if actor.role not in WALKING_ROLES:
        raise NotFound()
    stop = session.scalar(_stop_query(actor).where(SweepStop.id == stop_id))
    if stop is None:
        raise NotFound()
    return stop


def visit_values(visit: SweepVisit | None) -> dict[str, Any]:
    if visit is None:
        return {"outcome": "", "people": "", "note": ""}
    return {
        "outcome": str(visit.outcome),
        "people": "" if visit.people is None else str(visit.people),
        "note": visit.note,
    }


def _clean(data: VisitInput, stop: SweepStop) -> tuple[Outcome, int | None, str, str]:
    errors = ValidationErrors()
    outcome = None
    try:
        outcome = Outcome(str(data.outcome or ""))
    except ValueError:
        errors.add("outcome", _l("Choose what you found"))
    people = None
    raw = str(data.people or "").strip()
    if outcome == Outcome.UNREGISTERED_OCCUPANTS:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PEOPLE_FOUND:
            errors.add(
                "people",
                _l("Must be between %(low)s and %(high)s", low=1, high=MAX_PEOPLE_FOUND),
            )
        else:
            people = int(raw)
    if outcome in FINDINGS and stop.dwelling_id is None:
        errors.add(
            "outcome",
            _l("This stop is a whole building: record a finding at the dwelling where you saw it."),
        )
    note = str(data.note or "").strip()
    if len(note) > NOTE_LENGTH:
        errors.add("note", _l("At most %(count)s characters", count=NOTE_LENGTH))
    submission = str(data.submission or "").strip().lower()
    if not _SUBMISSION.match(submission):
        errors.add("outcome", _l("This form has expired: open the stop again."))
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return outcome, people, note, submission


def _by_submission(session: Session, submission: str) -> SweepVisit | None:
    return session.scalar(select(SweepVisit).where(SweepVisit.submission == submission))


def record_visit(
    session: Session, actor: UserAccount, stop_id: int, data: VisitInput, today: date
) -> SweepVisit:
    """Record (or correct) the stop's visit; the same submission twice is one visit."""
    stop = get_stop(session, actor, stop_id)
    sweep = session.get(Sweep, stop.sweep_id)
    if sweep.closed_at is not None:
        raise InvalidInput(fields={"outcome": [_l("This sweep is closed.")]})
    outcome, people, note, submission = _clean(data, stop)
    repeated = _by_submission(session, submission)
    if repeated is not None:
        if repeated.stop_id != stop.id:
            raise InvalidInput(
                fields={"outcome": [_l("This form has expired: open the stop again.")]}
            )
        return repeated  # a double tap: the visit is recorded already
    existing = session.scalar(select(SweepVisit).where(SweepVisit.stop_id == stop.id))
    values = {
        "outcome": str(outcome),
        "people": "" if people is None else str(people),
        "note": note,
    }
    if existing is None:
        visit, created = _insert(session, stop, submission, outcome, people, note, actor, today)
        if not created:
            return visit  # its twin, sent at the same moment, was recorded first
        before = visit_values(None)
    else:
        if not str(data.version or "").strip():
            raise Conflict(current=visit_values(existing), version=existing.version)
        before = visit_values(existing)
        check_version(existing, data.version, before)
        existing.outcome, existing.people, existing.note = outcome, people, note
        existing.submission = submission
        existing.visited_by_id = actor.id
        session.flush()
        visit = existing
    if sweep.started_at is None:
        sweep.started_at = datetime.now(UTC)
    record(
        session,
        actor,
        Action.CREATE if existing is None else Action.UPDATE,
        "sweep_visit",
        visit.id,
        {"stop_id": [None, stop.id], **changed(before, values)},
    )
    if before["outcome"] != str(outcome):
        _tell_flags(session, actor, stop, outcome, people, note, today)
    return visit


def _insert(
    session, stop, submission, outcome, people, note, actor, today
) -> tuple[SweepVisit, bool]:
    """Insert in a savepoint; a racing twin that committed first wins and is returned."""
    visit = SweepVisit(
        stop_id=stop.id,
        submission=submission,
        outcome=outcome,
        people=people,
        note=note,
        visited_on=today,
        visited_by_id=actor.id,
    )
    savepoint = session.begin_nested()
    try:
        session.add(visit)
        session.flush()
    except IntegrityError as error:
        savepoint.rollback()
        if constraint_of(error) not in (ONE_SUBMISSION, ONE_VISIT_PER_STOP):
            raise
        twin = _by_submission(session, submission)
        if twin is not None:
            return twin, False
        other = session.scalar(select(SweepVisit).where(SweepVisit.stop_id == stop.id))
        raise Conflict(current=visit_values(other), version=other.version) from None
    savepoint.commit()
    return visit, True


def _tell_flags(session, actor, stop: SweepStop, outcome: Outcome, people, note, today) -> None:
    if outcome == Outcome.RECORD_CORRECTED:
        if stop.dwelling_id is None:
            leads.recheck_building(session, stop.address_id, today)
        else:
            leads.recheck(session, [stop.dwelling_id], today)
    elif outcome in FINDINGS and stop.dwelling_id is not None:
        # A visit finding belongs to a dwelling (the flags' visit reports); a whole
        # building's stop keeps it on the sweep visit only.
        leads.report_finding(
            session, actor, stop.dwelling_id, FINDINGS[outcome], people, note, today
        )


# -- photos --------------------------------------------------------------------------------


def clean_photo(content: bytes, field: str = "photos") -> tuple[bytes, int, int]:
    """The photo as stored: a JPEG turned upright by its EXIF orientation, scaled down,
    without any metadata (no location, no camera); refused unless it is an image."""
    if not content:
        raise InvalidInput(fields={field: [_l("The file is empty")]})
    if len(content) > PHOTO_BYTES:
        raise InvalidInput(
            fields={field: [_l("A photo may be at most %(mb)s MB", mb=PHOTO_BYTES // 2**20)]}
        )
    try:
        with Image.open(io.BytesIO(content)) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise InvalidInput(fields={field: [_l("Send a photo (JPEG, PNG or WebP)")]})
            if probe.width * probe.height > PHOTO_PIXELS:
                raise InvalidInput(fields={field: [TOO_MANY_PIXELS]})
            probe.load()
            upright = ImageOps.exif_transpose(probe)
            upright = upright.convert("RGB")
    except Image.DecompressionBombError:
        # Pillow refuses to even open an image far above its own pixel limit.
        raise InvalidInput(fields={field: [TOO_MANY_PIXELS]}) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise InvalidInput(fields={field: [_l("Send a photo (JPEG, PNG or WebP)")]}) from None
    upright.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=82, optimize=True)  # no exif= : nothing kept
    return out.getvalue(), upright.width, upright.height


def photos_too_large():
    return _l(
        "The photos were too large to send: at most %(count)s photos of %(mb)s MB each. "
        "Nothing was saved; choose them again (the page makes them smaller where it can).",
        count=PHOTOS_PER_VISIT,
        mb=PHOTO_BYTES // 2**20,
    )


def photo_limits() -> dict[str, int]:
    """What the stop page's script checks before sending (the same limits as here)."""
    return {
        "count": PHOTOS_PER_VISIT,
        "bytes": PHOTO_BYTES,
        "request": VISIT_REQUEST_BYTES - FORM_BYTES,
        "side": PHOTO_SIDE,
    }


def add_photos(
    session: Session, actor: UserAccount, visit: SweepVisit, contents: list[bytes]
) -> list[VisitPhoto]:
    """Attach photos to a visit (each cleaned first; all or none)."""
    contents = [c for c in contents if c]
    if not contents:
        return []
    if len(visit.photos) + len(contents) > PHOTOS_PER_VISIT:
        raise InvalidInput(
            fields={"photos": [_l("At most %(count)s photos a visit", count=PHOTOS_PER_VISIT)]}
        )
    cleaned = [clean_photo(content) for content in contents]
    photos = [
        VisitPhoto(visit_id=visit.id, content=data, width=w, height=h, taken_by_id=actor.id)
        for data, w, h in cleaned
    ]
    session.add_all(photos)
    session.flush()
    for photo in photos:
        record(
            session, actor, Action.CREATE, "visit_photo", photo.id, {"visit_id": [None, visit.id]}
        )
    return photos


def view_photo(session: Session, actor: UserAccount, photo_id: int) -> VisitPhoto:
    """A photo for the sweep's team or an officer of the stop's jurisdiction; audited."""
    photo = session.scalar(
        select(VisitPhoto)
        .join(SweepVisit, SweepVisit.id == VisitPhoto.visit_id)
        .join(SweepStop, SweepStop.id == SweepVisit.stop_id)
        .where(
            VisitPhoto.id == photo_id,
            photo_filter(actor, SweepStop.address_id, SweepStop.sweep_id),
        )
    )
    if photo is None:
        raise NotFound()
    record(session, actor, Action.VIEW, "visit_photo", photo.id)
    return photo


def purge_visits(session: Session, today: date, keep_days: int) -> int:
    """Delete the visits recorded more than ``keep_days`` ago, their photos with them."""
    cutoff = today - timedelta(days=keep_days)
    gone = (
        session.execute(
            delete(SweepVisit).where(SweepVisit.visited_on < cutoff).returning(SweepVisit.id)
        )
        .scalars()
        .all()
    )
    if gone:
        record(
            session,
            None,
            Action.DELETE,
            "sweep_visit",
            "retention",
            {"deleted": [len(gone), 0], "before": [None, cutoff]},
        )
    return len(gone)
