"""The app keeps the figures fresh: after a page that shows them is sent, it refreshes them
when they are stale (older than ``REGISTRY_FIGURES_MAX_AGE`` minutes, default 15, or
computed for another day), under the refresh lock, so of several workers one does it.

The refresh runs once the response is written (``call_on_close``), in a transaction of
its own: the user who happens to trigger it does not wait for it.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask, Response, current_app

from registry.db import transaction
from registry.figures.services import DEFAULT_MAX_AGE, refresh_if_stale


def max_age(app: Flask) -> timedelta:
    minutes = app.config.get("FIGURES_MAX_AGE")
    return DEFAULT_MAX_AGE if minutes in (None, "") else timedelta(minutes=float(minutes))


def refresh_after(response: Response, today: date) -> Response:
    """Refresh stale figures once ``response`` has been sent."""
    app = current_app._get_current_object()

    def refresh() -> None:
        with app.app_context():
            factory = app.extensions["registry.session_factory"]
            try:
                with transaction(factory) as session:
                    refresh_if_stale(session, today, max_age(app))
            except Exception:  # the page is sent already; the next one tries again
                app.logger.exception("refreshing the per-cell figures failed")

    response.call_on_close(refresh)
    return response
