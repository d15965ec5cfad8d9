"""Today's date for a web request: read once per request, in the deployment's time zone.

The request is the boundary: every view asks :func:`today` and hands the date to the
services, and every call within one request gets the same day, even across midnight.
Tests pin the day with the ``REGISTRY_TODAY`` setting so that "ends within 30 days" stays
true; without a pin the day is the local date in ``REGISTRY_TIMEZONE`` (registry/clock.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app, g

from registry.clock import deployment_zone, today_in


def today() -> date:
    """The request's day: pinned by ``REGISTRY_TODAY``, else local today, fixed per request."""
    if "registry_today" not in g:
        pinned = current_app.config.get("REGISTRY_TODAY")
        if pinned:
            g.registry_today = pinned if isinstance(pinned, date) else date.fromisoformat(pinned)
        else:
            g.registry_today = today_in(deployment_zone())
    return g.registry_today


def now() -> datetime:
    """The request's moment (UTC), read once per request like :func:`today`."""
    if "registry_now" not in g:
        g.registry_now = datetime.now(UTC)
    return g.registry_now
