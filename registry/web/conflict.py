"""Concurrent edits: a stale save shows the user's input beside the current values."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from registry.errors import Conflict


def check_version(record, submitted_version: Any, current_values: dict[str, Any]) -> None:
    """Raise Conflict when the form was based on an older version of ``record``."""
    try:
        submitted = int(submitted_version)
    except (TypeError, ValueError):
        submitted = -1
    if submitted != record.version:
        raise Conflict(current=current_values, version=record.version)


def render_conflict(error: Conflict, form, labels: dict[str, str], session: Session | None = None):
    """The conflict page: each field's submitted value next to the value saved meanwhile."""
    if session is not None:
        session.rollback()
    current = error.details.get("current", {})
    rows = [
        (labels.get(name, name), form[name].data if name in form else None, current.get(name))
        for name in current
    ]
    return render_template(
        "conflict.html", rows=rows, form=form, version=error.details.get("version")
    ), 409
