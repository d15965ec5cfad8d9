"""An audit trail as the officer reads it: labels, values and dates in the user's language.

The audit log stores field names, enum values, ISO dates and ids as the services wrote
them (JSON). This turns each entry into lines of translated field labels and shown values;
ids are shown by what :func:`registry.dashboard.services.audit_trail` found them called.
Runs in a request (it formats for the user's locale and builds links).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import url_for
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _

from registry.audit.models import AuditEntry
from registry.audit.services import Action
from registry.clock import deployment_zone
from registry.dashboard.labels import (
    ACTION_LABELS,
    FIELD_LABELS,
    RECORD_LABELS,
    YES_NO_LABELS,
    field_label,
    value_labels,
)
from registry.dashboard.services import REFERENCE_FIELDS, AuditTrail
from registry.labels import PLEDGE_KIND_LABELS

DATE_FIELDS = frozenset(
    {
        "birth_date",
        "moved_in",
        "moved_out",
        "starts_on",
        "ends_on",
        "ended_on",
        "added_on",
        "removed_on",
    }
)
DATETIME_FIELDS = frozenset({"signed_at", "last_login_at", "valid_from"})
DECIMAL_FORMATS = {
    "monthly_rent": "#,##0.00",
    "floor_area": "#,##0.##",
    "min_floor_area_per_person": "#,##0.##",
}
COUNT_FIELDS = frozenset(
    {"rooms", "employee_count", "max_people_per_room", "addresses_joined", "addresses_left"}
)
# Fields in the order FIELD_LABELS lists them (what, then where, then when), not by name.
FIELD_ORDER = {name: position for position, name in enumerate(FIELD_LABELS)}
# Where a named record can be opened from the trail (endpoint, its id argument).
REFERENCE_LINKS = {
    "person": ("dashboard.person", "person_id"),
    "dwelling": ("dashboard.dwelling", "dwelling_id"),
    "lease": ("leases.filing", "filing_id"),
}


@dataclass
class Shown:
    """One value as shown: text in the user's language, perhaps a link, perhaps muted."""

    text: str
    url: str | None = None
    muted: bool = False


NOTHING = Shown("—", muted=True)


@dataclass
class ChangeLine:
    label: str
    before: Shown | None  # None with ``after`` None: ``note`` spans both columns
    after: Shown | None
    note: Shown | None = None


@dataclass
class TrailRow:
    entry: AuditEntry  # the newest entry of the row
    action: str
    subject: Shown | None  # the related record (a tenant, a pledge …); None: the record itself
    changes: list[ChangeLine] = field(default_factory=list)
    # Views are shown compactly: consecutive views of one record by one user on one day
    # are one row, with how many, since when, and where the record was shown.
    views: int = 0
    earliest: AuditEntry | None = None
    contexts: list[str] = field(default_factory=list)

    @property
    def is_view(self) -> bool:
        return self.views > 0


def _reference(trail: AuditTrail, kind: str, value: Any) -> Shown:
    name = trail.name_of(kind, value)
    if name is None:  # out of the actor's scope, or deleted: the id, labelled by its field
        return Shown(f"#{value}", muted=True)
    link = REFERENCE_LINKS.get(kind)
    return Shown(name, url_for(link[0], **{link[1]: value}) if link else None)


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def shown_value(trail: AuditTrail, object_type: str, name: str, value: Any) -> Shown:
    """One stored value of field ``name`` of an ``object_type`` entry, for the page."""
    if value is None or value == "":
        return NOTHING
    kind = REFERENCE_FIELDS.get(name)
    if kind is not None and isinstance(value, int) and not isinstance(value, bool):
        return _reference(trail, kind, value)
    labels = value_labels(object_type, name)
    if labels is not None and str(value) in labels:
        return Shown(str(labels[str(value)]))
    if isinstance(value, bool):
        return Shown(str(YES_NO_LABELS[value]))
    if name in DATE_FIELDS and (day := _as_date(value)) is not None:
        return Shown(format_date(day, "medium"))
    if name in DATETIME_FIELDS and (moment := _as_datetime(value)) is not None:
        return Shown(format_datetime(moment, "short"))
    if name in DECIMAL_FORMATS:
        try:
            return Shown(format_decimal(Decimal(str(value)), DECIMAL_FORMATS[name]))
        except InvalidOperation:
            return Shown(str(value))
    if name in COUNT_FIELDS and isinstance(value, int):
        return Shown(format_decimal(value))
    if name == "pledge_document" and "/" in str(value):
        pledge, version = str(value).split("/", 1)
        label = PLEDGE_KIND_LABELS.get(pledge, pledge)
        return Shown(f"{label} · {_('text version %(version)s', version=version)}")
    if isinstance(value, list):
        return Shown(", ".join(str(item) for item in value) or "—", muted=not value)
    return Shown(str(value))


def change_lines(trail: AuditTrail, entry: AuditEntry) -> list[ChangeLine]:
    """The entry's changes, one line per field: [before, after] pairs or a single note."""
    lines = []
    fields = sorted(
        (entry.changes or {}).items(),
        key=lambda item: (FIELD_ORDER.get(item[0], len(FIELD_ORDER)), item[0]),
    )
    for name, change in fields:
        label = str(field_label(entry.object_type, name))
        if isinstance(change, list) and len(change) == 2:
            before, after = (shown_value(trail, entry.object_type, name, v) for v in change)
            lines.append(ChangeLine(label, before, after))
        else:
            lines.append(
                ChangeLine(label, None, None, shown_value(trail, entry.object_type, name, change))
            )
    return lines


def _subject(trail: AuditTrail, entry: AuditEntry) -> Shown | None:
    """What a related record's entry is about: "Tenant · 张三", a residence with its link."""
    if entry.object_type in trail.own_types:
        return None
    what = str(RECORD_LABELS.get(entry.object_type, entry.object_type))
    person_id = trail.subject_of(entry)
    who = trail.name_of("person", person_id) if person_id is not None else None
    url = None
    if entry.object_type == "residence" and entry.object_id.isdigit():
        url = url_for("dashboard.audit", object_type="residence", object_id=entry.object_id)
    return Shown(f"{what} · {who}" if who else what, url)


def _context_of(trail: AuditTrail, entry: AuditEntry) -> str | None:
    context = (entry.changes or {}).get("context")
    if context is None:
        return None
    return shown_value(trail, entry.object_type, "context", context).text


def _same_view_run(row: TrailRow, entry: AuditEntry) -> bool:
    """Whether a view continues the row above it (entries come newest first)."""
    newest = row.earliest or row.entry
    return (
        row.is_view
        and entry.action == Action.VIEW
        and (entry.username, entry.object_type, entry.object_id)
        == (newest.username, newest.object_type, newest.object_id)
        and local_day(entry.occurred_at) == local_day(newest.occurred_at)
    )


def local_day(moment: datetime) -> date:
    return moment.astimezone(deployment_zone()).date()


def _view_row(trail: AuditTrail, entry: AuditEntry) -> TrailRow:
    row = TrailRow(
        entry, str(ACTION_LABELS.get(entry.action, entry.action)), _subject(trail, entry)
    )
    row.views, row.earliest = 1, entry
    if context := _context_of(trail, entry):
        row.contexts.append(context)
    return row


def trail_rows(trail: AuditTrail) -> list[TrailRow]:
    """The trail's entries as the page lists them, runs of views folded into one row."""
    rows: list[TrailRow] = []
    for entry in trail.entries:
        if rows and _same_view_run(rows[-1], entry):
            row = rows[-1]
            row.views += 1
            row.earliest = entry
            context = _context_of(trail, entry)
            if context and context not in row.contexts:
                row.contexts.append(context)
        elif entry.action == Action.VIEW:
            rows.append(_view_row(trail, entry))
        else:
            rows.append(
                TrailRow(
                    entry,
                    str(ACTION_LABELS.get(entry.action, entry.action)),
                    _subject(trail, entry),
                    change_lines(trail, entry),
                )
            )
    return rows
