"""Editing a versioned record: load it in the actor's scope and refuse a stale version.

Every correct_* service starts the same way; this is that start, in one place, and it
lives outside the web layer so the CLI, the importer and the API get the same refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from registry.errors import Conflict
from registry.scope import get_in_scope

Record = TypeVar("Record")


def check_version(record, submitted_version: Any, current_values: dict[str, Any]) -> None:
    """Raise Conflict when the edit was based on an older version of ``record``."""
    try:
        submitted = int(submitted_version)
    except (TypeError, ValueError):
        submitted = -1
    if submitted != record.version:
        raise Conflict(current=current_values, version=record.version)


def load_for_correction(
    session: Session,
    actor,
    model: type[Record],
    record_id: int,
    values_of: Callable[[Record], dict[str, Any]],
    seen_version: Any,
) -> tuple[Record, dict[str, Any]]:
    """The record in scope and its current values, once the version is known to be fresh."""
    record = get_in_scope(session, actor, model, record_id)
    before = values_of(record)
    check_version(record, seen_version, before)
    return record, before
