"""The registry's one clock: which day it is, in the deployment's time zone.

Offices work on local time whatever the server's clock says: from midnight to 08:00 in
Shanghai the UTC date is still yesterday. So "today" is read once at the boundary (a web
request, a CLI command) with :func:`today_in` and handed to every service as a parameter;
nothing below the boundary reads a clock (no ``date.today()``, no SQL ``now()``).

The time zone is the deployment's setting ``REGISTRY_TIMEZONE`` (an IANA name, default
Asia/Shanghai). It is configuration, not a clock, so services that turn a day into an
instant (a capacity rule starts at local midnight) read it through :func:`deployment_zone`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
TIMEZONE_SETTING = "REGISTRY_TIMEZONE"


class TimeZoneError(ValueError):
    """The configured time zone is not one the system knows."""


def deployment_zone(environ: Mapping[str, str] | None = None) -> ZoneInfo:
    """The deployment's time zone from ``REGISTRY_TIMEZONE`` (default Asia/Shanghai)."""
    env = os.environ if environ is None else environ
    name = (env.get(TIMEZONE_SETTING) or DEFAULT_TIMEZONE).strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeZoneError(
            f"{TIMEZONE_SETTING}={name!r} is not a known time zone (e.g. Asia/Shanghai)"
        ) from None


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    """The local date at ``now`` (default: this instant) in ``zone``."""
    moment = now if now is not None else datetime.now(zone)
    if moment.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    return moment.astimezone(zone).date()


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight at the start of ``day``, as an aware instant."""
    return datetime.combine(day, time.min, tzinfo=zone)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The instant the local ``day`` ends (the next day's midnight, exclusive)."""
    return start_of_day(day + timedelta(days=1), zone)
