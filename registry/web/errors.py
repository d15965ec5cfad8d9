"""Error handlers: a page for people, RFC 9457 problem JSON for the API, never a traceback."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from registry.errors import DomainError


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


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        return _respond(error.status, error.code, str(error.message), str(error.message))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return _respond(
            error.code or 500,
            error.name.lower().replace(" ", "_"),
            error.name,
            error.description or "",
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return _respond(
            500,
            "internal_error",
            _("Something went wrong"),
            _("The error has been logged. Please try again later."),
        )
