"""One database session per request, committed once at the end (indico's request wrapper)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session


def db_session() -> Session:
    """The current request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["registry.session_factory"]()
    return g.db_session


def cipher():
    """The app's cipher for ID numbers (built once from REGISTRY_DATA_KEY)."""
    return current_app.extensions["registry.cipher"]


def init_request_sessions(app: Flask) -> None:
    @app.teardown_request
    def _finish(error: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is None:
            return
        try:
            if error is None and session.is_active:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
