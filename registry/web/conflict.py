"""Concurrent edits: a stale save shows the user's input beside the current values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import render_template
from flask_babel import format_date
from flask_babel import gettext as _
from wtforms import BooleanField, DateField
from wtforms.fields.choices import SelectFieldBase

from registry.errors import Conflict
from registry.web.sealed import DocumentNumberField, masked_typed


@dataclass(frozen=True)
class ConflictRow:
    """One field on the conflict page: both values as a person reads them."""

    label: str
    mine: str
    theirs: str
    differs: bool


def _is_many(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def _raw(value: Any) -> Any:
    """A value compared as the form posts it: text, or a sorted list of texts."""
    if value is None:
        return ""
    if _is_many(value):
        return sorted(str(v) for v in value)
    if isinstance(value, bool):
        return "y" if value else ""
    return str(value)


def choice_labels(field) -> dict[str, str]:
    """The labels of a select, radio or check-box list field by value (as text)."""
    if not isinstance(field, SelectFieldBase):
        return {}
    labels: dict[str, str] = {}
    try:
        choices = list(field.iter_choices())
    except (TypeError, ValueError):  # choices not set for this request
        return {}
    for choice in choices:
        if isinstance(choice, tuple):
            value, label = choice[0], choice[1]
        else:
            value, label = choice.value, choice.label
        labels[str(value)] = str(label) if label is not None else str(value)
    return labels


def _is_date_field(field) -> bool:
    if isinstance(field, DateField):
        return True
    render_kw = getattr(field, "render_kw", None) or {}
    return render_kw.get("type") == "date"


def _shown_one(value: Any, labels: Mapping[str, str], dates: bool) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return str(value)
    if isinstance(value, date):
        return format_date(value)
    text = str(value)
    if text in labels:
        return labels[text]
    return iso_date_label(text) if dates else text


def iso_date_label(value: Any) -> str:
    """A date given as ISO text (or a date) in the user's locale; other text unchanged."""
    if isinstance(value, date):
        return format_date(value)
    try:
        return format_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def displayed(value: Any, field=None, show: Callable[[Any], str] | None = None) -> str:
    """A value as the conflict page shows it: a choice's label, a date in the user's locale."""
    if show is not None:
        return "" if value is None or value == "" else str(show(value))
    labels = choice_labels(field) if field is not None else {}
    dates = field is not None and _is_date_field(field)
    if isinstance(field, BooleanField) and not _is_many(value):
        return _("Yes") if value in (True, "y", "on", "true", "1") else _("No")
    if _is_many(value):
        return ", ".join(_shown_one(v, labels, dates) for v in value)
    return _shown_one(value, labels, dates)


def _mine_displayed(value: Any, field, show: Callable[[Any], str] | None) -> str:
    """The user's side: a typed document number only masked (it goes back sealed)."""
    if field is None:
        return ""
    if isinstance(field, DocumentNumberField):
        return masked_typed(value) if value else ""
    return displayed(value, field, show)


def render_conflict(
    error: Conflict,
    form,
    labels: Mapping[str, Any],
    shown: Mapping[str, Callable[[Any], str]] | None = None,
):
    """The conflict page: each field's submitted value next to the value saved meanwhile.

    Both columns show what a person reads (a choice's label, a date in their locale);
    the hidden inputs that re-post the user's input keep the raw values. ``shown`` turns
    values of names that are not form fields (a status, say) into text.
    """
    current = error.details.get("current", {})
    shown = shown or {}
    rows = []
    for name, theirs in current.items():
        field = form._fields.get(name)
        mine = field.data if field is not None else None
        show = shown.get(name)
        rows.append(
            ConflictRow(
                label=str(labels.get(name, name)),
                mine=_mine_displayed(mine, field, show),
                theirs=displayed(theirs, field, show),
                differs=field is not None and _raw(mine) != _raw(theirs),
            )
        )
    return render_template(
        "conflict.html", rows=rows, form=form, version=error.details.get("version")
    ), 409
