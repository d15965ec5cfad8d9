"""Error handlers: a page for people, RFC 9457 problem JSON for the API, never a traceback."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from registry.errors import DomainError

# Werkzeug's own texts are English; people see these instead.
HTTP_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    404: (_l("Not found"), _l("This page or record does not exist, or it is outside your area.")),
    405: (_l("Not allowed"), _l("This page cannot be used like that. Go back and try again.")),
    413: (_l("Too large"), _l("The file is too large.")),
    429: (_l("Too many attempts"), _l("Please wait a little and try again.")),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _respond(status: int, code: str, title: str, detail: str):
    if _wants_json():
        body = {"type": f"about:blank#{code}", "title": title, "status": status, "detail": detail}
        response = jsonify(body)
        response.status_code = status
        response.mimetype = "application/problem+json"
        return response
    return render_template("error.html", status=status, title=title, detail=detail), status


def domain_error_response(error: DomainError):
    title, detail = HTTP_MESSAGES.get(error.status, (None, None))
    if error.message is not type(error).default_message or title is None:
        title, detail = error.message, ""
    return _respond(error.status, error.code, str(title), str(detail))


def csrf_error_response(error: CSRFError):
    return _respond(
        400,
        "form_expired",
        _("The form has expired"),
        _(
            "The page was open too long or you logged in again elsewhere. "
            "Go back, reload the page and submit it again."
        ),
    )


def http_error_response(error: HTTPException):
    status = error.code or 500
    title, detail = HTTP_MESSAGES.get(status, (error.name, error.description or ""))
    return _respond(status, error.name.lower().replace(" ", "_"), str(title), str(detail))


def unexpected_error_response(error: BaseException):
    current_app.logger.error("unhandled error on %s", request.path, exc_info=error)
    return _respond(
        500,
        "internal_error",
        _("Something went wrong"),
        _("The error has been logged. Please try again later."),
    )


def init_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(CSRFError, csrf_error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, unexpected_error_response)
