"""Saving a form: one wrapper for every page that runs a service on a submitted form.

The three outcomes look the same everywhere. Field errors re-render the form with
everything the user typed (422). A save based on a stale version (Conflict, raised by the
service's version check) or one that lost the race at the UPDATE itself (StaleDataError)
shows the two-sided conflict page (409). Success returns the service's result, and the
caller redirects.

The service runs in a savepoint: a failure undoes its writes at once, so the page shown
next reads the database as it was before the attempt (and, after a lost race, the values
the other user saved). The request boundary then rolls back the whole request because the
response is an error; no view rolls back by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from flask import make_response
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from registry.constraints import as_invalid_input
from registry.errors import Conflict, InvalidInput
from registry.web.conflict import render_conflict
from registry.web.session import db_session

INVALID_STATUS = 422
CONFLICT_STATUS = 409

FieldErrors = dict[str, list]


class Outcome(NamedTuple):
    """What a save gave: the service's result, or the page to show instead (not both)."""

    saved: Any
    failed: ResponseReturnValue | None


def save(
    form,
    action: Callable[[], Any],
    *,
    invalid: Callable[[FieldErrors], ResponseReturnValue],
    labels: Mapping[str, Any],
    current_after_race: Callable[[], tuple[dict[str, Any], Any]] | None = None,
    shown: Mapping[str, Callable[[Any], str]] | None = None,
    conflict: Callable[[Conflict], ResponseReturnValue] | None = None,
) -> Outcome:
    """Run ``action`` (a service call) for ``form``; see the module's docstring.

    ``invalid`` renders the form with the service's field errors (the status is set
    here). ``labels`` (and ``shown``, for values that are no form field) name the fields
    on the conflict page. ``current_after_race`` reads the record's current values and
    version after a lost race; without it (a creation) a lost race is a plain conflict.
    ``conflict`` renders a page of its own instead of the two-sided one (the status is
    set here): for a step whose input cannot simply be saved again, a flag's decision.
    """

    def conflict_page(error: Conflict) -> ResponseReturnValue:
        if conflict is None:
            return render_conflict(error, form, labels, shown)
        response = make_response(conflict(error))
        response.status_code = CONFLICT_STATUS
        return response

    session = db_session()
    savepoint = session.begin_nested()
    try:
        result = action()
        session.flush()
    except InvalidInput as error:
        savepoint.rollback()
        return Outcome(None, _invalid_page(invalid, error))
    except IntegrityError as error:
        savepoint.rollback()
        refused = as_invalid_input(error)
        if refused is None:
            raise
        return Outcome(None, _invalid_page(invalid, refused))
    except Conflict as error:
        savepoint.rollback()
        return Outcome(None, conflict_page(error))
    except StaleDataError as error:
        savepoint.rollback()
        if current_after_race is None:
            raise Conflict() from error
        # Read again what the other user saved, not what this session remembers.
        session.expire_all()
        current, version = current_after_race()
        lost = Conflict(current=current, version=version)
        return Outcome(None, conflict_page(lost))
    except BaseException:
        # Anything else (a question back to the user, a bug) saves nothing either.
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()
    return Outcome(result, None)


def _invalid_page(invalid: Callable[[FieldErrors], ResponseReturnValue], error: InvalidInput):
    response = make_response(invalid(error.details.get("fields", {})))
    response.status_code = INVALID_STATUS
    return response


def apply_errors(form, fields: FieldErrors) -> list:
    """Put a service's field errors on the form's fields; return those without a field."""
    unplaced = []
    for name, messages in (fields or {}).items():
        target = form._fields.get(name)
        if target is None:
            # A rule about several fields (the point of lon + lat) has its own list.
            group = getattr(form, f"{name}_errors", None)
            if isinstance(group, list):
                group.extend(str(m) for m in messages)
            else:
                unplaced.extend(str(m) for m in messages)
            continue
        target.errors = list(target.errors or []) + [str(m) for m in messages]
    return unplaced
