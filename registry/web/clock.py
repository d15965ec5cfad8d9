"""Today's date for the web pages: in the registry's time zone, or pinned by configuration.

Offices work in China Standard Time whatever the server's clock says, and tests pin the
date with the ``REGISTRY_TODAY`` setting so that "ends within 30 days" stays true.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def today() -> date:
    pinned = current_app.config.get("REGISTRY_TODAY")
    if pinned:
        return pinned if isinstance(pinned, date) else date.fromisoformat(str(pinned))
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return datetime.now(zone).date()
