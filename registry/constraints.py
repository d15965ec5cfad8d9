"""What the database refuses, in the user's words: one message per named constraint.

The guarantee that something never happens twice lives in the schema (unique, exclusion
and check constraints), not in a check before an insert: two requests can both pass the
check. A service may still check first to give a friendlier message, but the flush is
what decides, and :func:`flush_checked` turns the violation into the field error of the
constraint that refused it. Each module registers its own constraints' messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import InvalidInput


@dataclass(frozen=True)
class Refusal:
    """The form field a constraint's violation belongs to and the message shown there."""

    field: str
    message: Any  # a lazy string, translated when shown


_REFUSALS: dict[str, Refusal] = {}


def refuse(constraint_name: str, field: str, message: Any) -> None:
    """Register the message shown when ``constraint_name`` refuses a write."""
    _REFUSALS[constraint_name] = Refusal(field, message)


def constraint_of(error: IntegrityError) -> str | None:
    """The name of the constraint an IntegrityError reports (psycopg2's diagnostics)."""
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def refusal_for(error: IntegrityError) -> Refusal | None:
    name = constraint_of(error)
    return _REFUSALS.get(name) if name else None


def as_invalid_input(error: IntegrityError) -> InvalidInput | None:
    """The field error for a registered constraint's violation, or None if unregistered."""
    refusal = refusal_for(error)
    if refusal is None:
        return None
    return InvalidInput(fields={refusal.field: [refusal.message]}, constraint=constraint_of(error))


@contextmanager
def checked(session: Session, on_refusal: Callable[[], None] | None = None) -> Iterator[None]:
    """Run the writes of the ``with`` block in a savepoint and flush them at its end.

    A registered constraint's violation becomes InvalidInput with that constraint's field
    and message; an unregistered one is a bug and is raised as it is. Make the changes
    *inside* the block: opening a savepoint flushes what is already pending. The savepoint
    keeps the session usable after a refusal, so the page that shows the error can still
    read from the database. ``on_refusal`` runs after the savepoint is rolled back (to
    refresh an object whose changes were undone, say).
    """
    savepoint = session.begin_nested()
    try:
        yield
        session.flush()
    except IntegrityError as error:
        savepoint.rollback()
        refused = as_invalid_input(error)
        if refused is None:
            raise
        if on_refusal is not None:
            on_refusal()
        raise refused from None
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()
