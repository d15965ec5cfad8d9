"""One error tree: every error a person can meet carries a status, a code and a message."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """Base of every error meant for the user; rendered as a page or as RFC 9457 JSON."""

    status = 400
    code = "bad_request"
    default_message: Any = _l("The request could not be processed.")

    def __init__(self, message: Any = None, **details: Any) -> None:
        super().__init__(str(message or self.default_message))
        self.message = message or self.default_message
        self.details = details


class NotFound(DomainError):
    """Also used for records outside the user's scope: their existence is not confirmed."""

    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class Conflict(DomainError):
    """A save based on a stale version of the record."""

    status = 409
    code = "conflict"
    default_message = _l("Someone else changed this record while you were editing it.")


class InvalidInput(DomainError):
    """Field-level errors: ``details['fields']`` maps field names to messages."""

    status = 422
    code = "invalid_input"
    default_message = _l("Some fields need attention.")
