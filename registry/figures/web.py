"""The app keeps the figures fresh, off the request worker.

After a page that shows the figures is sent, they are refreshed when stale (older than
``REGISTRY_FIGURES_MAX_AGE`` minutes, default 15, or computed for another day), and the
officer's button recomputes them at once. Either way the work runs in a thread of its own
with a transaction of its own: a gunicorn worker that sent the page goes on serving
requests while PostgreSQL computes (the thread mostly waits on the database), instead of
being held for the whole refresh as it was when the refresh ran in ``call_on_close``.
At most one refresh thread runs per process, and the refresh lock
(registry/figures/services.py) lets one process of several do the work.

An app whose sessions all share one connection (the tests' rolled-back transaction)
cannot hand that connection to another thread: it refreshes in the request's own thread,
as before, once the response is closed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Flask, Response, current_app
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry.db import transaction
from registry.figures.services import (
    DEFAULT_MAX_AGE,
    computed_moments_ago,
    figures_are_stale,
    refresh_if_stale,
    refresh_on_request,
)
from registry.web.session import db_session

REFRESHER_EXTENSION = "registry.figures_refresher"


def max_age(app: Flask) -> timedelta:
    minutes = app.config.get("FIGURES_MAX_AGE")
    return DEFAULT_MAX_AGE if minutes in (None, "") else timedelta(minutes=float(minutes))


class Refresher:
    """Runs one refresh at a time in a background thread of this process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def shares_one_connection(self) -> bool:
        factory = self.app.extensions["registry.session_factory"]
        return isinstance(factory.kw.get("bind"), Connection)

    def run(self, work: Callable[[Session], Any]) -> None:
        """``work(session)`` in a transaction of its own; a failure is logged, not raised
        (the page is sent already; the next one tries again)."""
        with self.app.app_context():
            try:
                with transaction(self.app.extensions["registry.session_factory"]) as session:
                    work(session)
            except Exception:
                self.app.logger.exception("refreshing the per-cell figures failed")

    def start(self, work: Callable[[Session], Any]) -> bool:
        """Run ``work`` in the background; False when a refresh of this process runs
        already (it does the same work)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(
                target=self.run, args=(work,), name="figures-refresh", daemon=True
            )
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Until the running refresh, if any, has ended (for the CLI and tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


def refresher(app: Flask | None = None) -> Refresher:
    app = app or current_app._get_current_object()
    return app.extensions.setdefault(REFRESHER_EXTENSION, Refresher(app))


def refresh_after(response: Response, today: date) -> Response:
    """Refresh stale figures once ``response`` has been sent, in the background.

    Whether they are stale is asked here, in the request's session (one small query), so
    that fresh figures (nearly always) cost no thread and no second connection.
    """
    figures = refresher()
    if not figures_are_stale(db_session(), today, max_age(figures.app)):
        return response

    def refresh_if_needed(session: Session) -> None:
        refresh_if_stale(session, today, max_age(figures.app))

    if figures.shares_one_connection:
        response.call_on_close(lambda: figures.run(refresh_if_needed))
    else:
        response.call_on_close(lambda: figures.start(refresh_if_needed))
    return response


def refresh_now(session: Session, today: date) -> bool:
    """The officer's button: recompute in the background; False when the figures of
    ``today`` are only seconds old (nothing to do)."""
    if computed_moments_ago(session, today):
        return False
    figures = refresher()
    if figures.shares_one_connection:
        refresh_on_request(session, today)
    else:
        figures.start(lambda own: refresh_on_request(own, today))
    return True
