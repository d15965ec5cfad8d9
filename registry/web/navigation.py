"""The menu each role sees; pages that later issues add are listed as coming."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from registry.accounts.models import Role


@dataclass(frozen=True)
class MenuItem:
    endpoint: str | None
    label: object

    @property
    def href(self) -> str | None:
        return url_for(self.endpoint) if self.endpoint else None


MENUS: dict[Role, tuple[MenuItem, ...]] = {
    Role.GRID_WORKER: (
        MenuItem("gridwork.my_cells", _l("My cells")),
        MenuItem("fieldmap.map_page_field", _l("Map")),
        MenuItem("gridwork.search", _l("Search")),
        MenuItem("sweeps.mine", _l("Sweep list")),
    ),
    Role.PROPERTY_MANAGER: (
        MenuItem("leases.my_dwellings", _l("My dwellings")),
        MenuItem("leases.reminders", _l("To do")),
    ),
    Role.POLICE_OFFICER: (
        MenuItem("dashboard.index", _l("Jurisdiction")),
        MenuItem("deskmap.map_page", _l("Map")),
        MenuItem("dashboard.lookup", _l("Look up")),
        MenuItem("flags.index", _l("Flags")),
        MenuItem("sweeps.index", _l("Sweeps")),
    ),
    Role.ADMIN: (
        MenuItem("dashboard.index", _l("Jurisdiction")),
        MenuItem("deskmap.map_page", _l("Map")),
        MenuItem("dashboard.lookup", _l("Look up")),
        MenuItem("admin.users", _l("Users")),
        MenuItem("admin.stations", _l("Police stations")),
        MenuItem("admin.grid_cells", _l("Grid cells")),
        MenuItem("admin.focus_areas", _l("Focus areas")),
        MenuItem("rules.index", _l("Rules")),
        MenuItem("sweeps.index", _l("Sweeps")),
        MenuItem("admin.settings", _l("Settings")),
    ),
    Role.SWEEP_TEAM_MEMBER: (MenuItem("sweeps.mine", _l("My sweeps")),),
}


def menu_for_current_user() -> tuple[MenuItem, ...]:
    if not current_user.is_authenticated:
        return ()
    return MENUS.get(current_user.account.role, ())


def active_href() -> str | None:
    """The menu link the current page belongs to: the longest one its path starts with."""
    matches = [
        item.href
        for item in menu_for_current_user()
        if item.href and item.href != "/" and request.path.startswith(item.href)
    ]
    return max(matches, key=len, default=None)


def landing_endpoint(role: Role) -> str:
    """Where each role starts its day."""
    return next(item.endpoint for item in MENUS[role] if item.endpoint)


def init_navigation(app: Flask) -> None:
    app.jinja_env.globals["main_menu"] = menu_for_current_user
    app.jinja_env.globals["active_menu_href"] = active_href
