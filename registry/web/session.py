"""One database session per request, committed or rolled back once, by the response.

The request boundary is the one place that decides (indico's request wrapper): a response
with a status below 400 commits the request's writes; any other response rolls them all
back, whether a view returned it, an error handler rendered it for an exception, or a
before-request hook sent it. Views and services never commit or roll back; what must be
kept even when the request fails (a failed log-in's count, say) is written in a
transaction of its own (registry.db.own_transaction).

A commit can still fail: a lost race noticed only by the final flush, a constraint checked
at commit, a dropped connection. That failure becomes the response (a conflict page, or
the error page), and the user's cookie session is put back as the request found it, so
a request whose writes were lost leaves no "Saved." message and no new log-in behind.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from flask import session as cookie_session
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from registry.constraints import refusal_for
from registry.errors import Conflict
from registry.web.errors import domain_error_response, unexpected_error_response

FIRST_ERROR_STATUS = 400


def db_session() -> Session:
    """The current request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["registry.session_factory"]()
    return g.db_session


def cipher():
    """The app's cipher for ID numbers (built once from REGISTRY_DATA_KEY)."""
    return current_app.extensions["registry.cipher"]


def _forget_cookie_changes() -> None:
    """Put the cookie session back as the request brought it (no flash, no log-in)."""
    brought = current_app.session_interface.open_session(current_app, request)
    cookie_session.clear()
    if brought is not None:
        cookie_session.update(brought)
    g.pop("_login_user", None)  # flask-login's cache of the user this request logged in


def failed_commit_response(error: Exception) -> Response:
    """The response for a request whose writes could not be committed."""
    if isinstance(error, StaleDataError):
        answer = domain_error_response(Conflict())
    elif isinstance(error, IntegrityError) and (refusal := refusal_for(error)) is not None:
        answer = domain_error_response(Conflict(refusal.message))
    else:
        answer = unexpected_error_response(error)
    return current_app.make_response(answer)


def finish(response: Response) -> Response:
    """Commit the request's session when the response is a success; else roll it back."""
    session = g.get("db_session")
    if session is None:
        return response
    if response.status_code >= FIRST_ERROR_STATUS:
        session.rollback()
        return response
    try:
        session.commit()
    except Exception as error:
        session.rollback()
        _forget_cookie_changes()
        return failed_commit_response(error)
    return response


def init_request_sessions(app: Flask) -> None:
    app.after_request(finish)

    @app.teardown_request
    def _close(error: BaseException | None) -> None:
        # After finish() there is nothing left to decide; when finish() never ran (an
        # error while handling an error), closing rolls back whatever is still open.
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
