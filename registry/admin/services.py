"""Administration: user accounts and their scopes, police stations.

Only administrators reach these functions; anyone else gets NotFound, as for a record
outside their scope. Every change is written to the audit log, and the edit forms are
version-checked so that two administrators never silently overwrite each other.
Grid cells and focus areas live in registry/grid/services.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from registry.accounts.models import Role, UserAccount
from registry.accounts.passwords import (
    NOT_SET,
    hash_password,
    new_password_errors,
    password_is_set,
)
from registry.accounts.services import by_username, change_own_password, store_new_password
from registry.address.models import Address
from registry.address.text import normalise_address_text
from registry.area.models import Community, District, PoliceStation, SubDistrict
from registry.audit.services import Action, changed, record
from registry.constraints import checked
from registry.dwelling.models import Dwelling, managed_dwelling
from registry.edits import check_version
from registry.errors import Conflict, InvalidInput, NotFound
from registry.grid.models import GridCell, grid_cell_worker
from registry.scope import dwelling_filter, grid_cell_filter
from registry.validators import (
    ValidationErrors,
    validate_name,
)

USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{2,49}")
CODE_RE = re.compile(r"[0-9A-Za-z\-]{1,20}")
SEARCH_LIMIT = 30


def require_admin(actor: UserAccount) -> None:
    """Administrators only; others are told the thing does not exist."""
    if actor is None or actor.role != Role.ADMIN:
        raise NotFound()


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- users ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserInput:
    """What the user form hands over; scope fields apply only to the matching role."""

    display_name: str
    role: str
    active: bool = True
    police_station_id: int | None = None
    grid_cell_ids: tuple[int, ...] = ()
    dwelling_ids: tuple[int, ...] = ()
    building_ids: tuple[int, ...] = ()  # door-level addresses: add all their dwellings


@dataclass(frozen=True)
class UserRow:
    user: UserAccount
    station_name: str | None
    cells: int
    dwellings: int


@dataclass(frozen=True)
class Page:
    rows: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def list_users(
    session: Session,
    actor: UserAccount,
    *,
    query: str = "",
    role: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Accounts by username, filtered by a text (username or display name) and a role."""
    require_admin(actor)
    conditions = []
    query = (query or "").strip()
    if query:
        pattern = _like_pattern(query)
        conditions.append(
            or_(UserAccount.username.ilike(pattern), UserAccount.display_name.ilike(pattern))
        )
    if role in set(Role):
        conditions.append(UserAccount.role == Role(role))
    total = session.scalar(select(func.count()).select_from(UserAccount).where(*conditions))
    page = max(1, page)
    cells = (
        select(func.count())
        .where(grid_cell_worker.c.user_id == UserAccount.id)
        .correlate(UserAccount)
        .scalar_subquery()
    )
    dwellings = (
        select(func.count())
        .where(managed_dwelling.c.user_id == UserAccount.id)
        .correlate(UserAccount)
        .scalar_subquery()
    )
    rows = session.execute(
        select(UserAccount, PoliceStation.name, cells, dwellings)
        .outerjoin(PoliceStation, PoliceStation.id == UserAccount.police_station_id)
        .where(*conditions)
        .order_by(UserAccount.username)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page([UserRow(*row) for row in rows], total or 0, page, per_page)


def get_user_account(session: Session, actor: UserAccount, user_id: int) -> UserAccount:
    require_admin(actor)
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound()
    return user


def user_current_values(user: UserAccount) -> dict[str, Any]:
    """The saved values under the edit form's field names (for the conflict page)."""
    return {
        "display_name": user.display_name,
        "role": str(user.role),
        "active": user.active,
        "police_station_id": user.police_station_id,
        "grid_cell_ids": sorted(cell.id for cell in user.grid_cells),
        "dwelling_ids": sorted(dwelling.id for dwelling in user.dwellings),
    }


@dataclass
class _CleanUser:
    display_name: str | None = None
    role: Role | None = None
    active: bool = True
    station: PoliceStation | None = None
    cells: list[GridCell] = field(default_factory=list)
    dwellings: list[Dwelling] = field(default_factory=list)


def _clean_user(
    session: Session, actor: UserAccount, data: UserInput, errors: ValidationErrors
) -> _CleanUser:
    clean = _CleanUser(active=bool(data.active))
    with errors.collect():
        clean.display_name = validate_name(data.display_name, field="display_name")
    try:
        clean.role = Role(data.role)
    except ValueError:
        errors.add("role", _l("Choose a role"))
        return clean
    if clean.role == Role.POLICE_OFFICER:
        if not data.police_station_id:
            errors.add("police_station_id", _l("A police officer needs a police station"))
        else:
            clean.station = session.get(PoliceStation, data.police_station_id)
            if clean.station is None:
                errors.add("police_station_id", _l("Unknown police station"))
    if clean.role == Role.GRID_WORKER and data.grid_cell_ids:
        wanted = set(data.grid_cell_ids)
        clean.cells = list(
            session.scalars(
                select(GridCell)
                .where(GridCell.id.in_(wanted), grid_cell_filter(actor))
                .order_by(GridCell.code)
            )
        )
        if len(clean.cells) != len(wanted):
            errors.add("grid_cell_ids", _l("Some of the chosen grid cells do not exist"))
    if clean.role == Role.PROPERTY_MANAGER:
        clean.dwellings = _chosen_dwellings(session, actor, data, errors)
    return clean


def _chosen_dwellings(
    session: Session, actor: UserAccount, data: UserInput, errors: ValidationErrors
) -> list[Dwelling]:
    wanted = set(data.dwelling_ids)
    dwellings = (
        list(
            session.scalars(select(Dwelling).where(Dwelling.id.in_(wanted), dwelling_filter(actor)))
        )
        if wanted
        else []
    )
    if len(dwellings) != len(wanted):
        errors.add("dwelling_ids", _l("Some of the chosen dwellings do not exist"))
    if data.building_ids:
        buildings = set(data.building_ids)
        found = set(
            session.scalars(
                select(Address.id).where(Address.id.in_(buildings), Address.parent_id.is_(None))
            )
        )
        if found != buildings:
            errors.add("building_ids", _l("Some of the chosen buildings do not exist"))
        in_buildings = session.scalars(
            select(Dwelling)
            .join(Address, Address.id == Dwelling.address_id)
            .where(
                or_(Address.parent_id.in_(found), Address.id.in_(found)),
                dwelling_filter(actor),
            )
        )
        known = {d.id for d in dwellings}
        dwellings.extend(d for d in in_buildings if d.id not in known)
    return dwellings


def _check_username(session: Session, username: str, errors: ValidationErrors) -> str:
    username = (username or "").strip()
    if not username:
        errors.add("username", _l("This field is required"))
    elif not USERNAME_RE.fullmatch(username):
        errors.add(
            "username",
            _l("3 to 50 letters, digits, dots, dashes or underscores; first a letter or digit"),
        )
    elif session.scalar(select(UserAccount.id).where(by_username(username))):
        # A friendlier early word only; the unique index on lower(username) decides.
        errors.add("username", _l("This username is taken"))
    return username


def _ids(records) -> list[int]:
    return sorted(r.id for r in records)


def create_user_account(
    session: Session, actor: UserAccount, username: str, data: UserInput
) -> UserAccount:
    """A new account with its role and scope, audited; it has no password yet.

    The administrator sets the password on a page of its own (:func:`reset_password`), so
    that a form which is shown again (to browse cells, search dwellings or after an error)
    never carries a password back into the page. Until then nobody can log in with it.
    """
    require_admin(actor)
    errors = ValidationErrors()
    username = _check_username(session, username, errors)
    clean = _clean_user(session, actor, data, errors)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return _add_account(session, actor, username, None, clean)


def create_administrator(
    session: Session,
    username: str,
    display_name: str,
    password: str,
    password_again: str | None = None,
) -> UserAccount:
    """An administrator made without one: the first of a deployment, from the command line.

    The same rules as on the admin page (the username's pattern and case-insensitive
    uniqueness, the password's rules); the audit entry names no user and says "cli".
    """
    errors = ValidationErrors()
    username = _check_username(session, username, errors)
    new_password_errors(password, username, password_again, errors)
    clean = _CleanUser(role=Role.ADMIN)
    with errors.collect():
        clean.display_name = validate_name(display_name, field="display_name")
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return _add_account(session, None, username, password, clean, via="cli")


def _add_account(
    session: Session,
    actor: UserAccount | None,
    username: str,
    password: str | None,
    clean: _CleanUser,
    via: str | None = None,
) -> UserAccount:
    """Store a checked new account and audit it (never the password; None: not set yet)."""
    user = UserAccount(
        username=username,
        display_name=clean.display_name,
        password_hash=hash_password(password) if password else NOT_SET,
        role=clean.role,
        police_station=clean.station,
        active=clean.active,
    )
    with checked(session):
        user.grid_cells = clean.cells
        user.dwellings = clean.dwellings
        session.add(user)
    record(
        session,
        actor,
        Action.CREATE,
        "user_account",
        user.id,
        {
            "username": [None, username],
            "display_name": [None, clean.display_name],
            "role": [None, str(clean.role)],
            "active": [None, clean.active],
            "police_station_id": [None, clean.station.id if clean.station else None],
            "grid_cell_ids": [None, _ids(clean.cells)],
            "dwelling_ids": [None, _ids(clean.dwellings)],
            "password": [None, "set" if password else "not set"],
            **({"via": [None, via]} if via else {}),
        },
    )
    return user


def update_user_account(
    session: Session, actor: UserAccount, user_id: int, data: UserInput, seen_version: Any
) -> UserAccount:
    """Change name, role, active flag and scope; refuses a stale version."""
    user = get_user_account(session, actor, user_id)
    errors = ValidationErrors()
    clean = _clean_user(session, actor, data, errors)
    if user.id == actor.id:
        # An administrator must not lock themselves (possibly the only one) out.
        if clean.role is not None and clean.role != Role.ADMIN:
            errors.add("role", _l("You cannot remove your own administrator role"))
        if not clean.active:
            errors.add("active", _l("You cannot deactivate your own account"))
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    check_version(user, seen_version, user_current_values(user))
    before = user_current_values(user)
    user.display_name = clean.display_name
    user.role = clean.role
    user.active = clean.active
    user.police_station = clean.station
    if _ids(user.grid_cells) != _ids(clean.cells):
        user.grid_cells = clean.cells
    if _ids(user.dwellings) != _ids(clean.dwellings):
        user.dwellings = clean.dwellings
    after = {
        "display_name": clean.display_name,
        "role": str(clean.role),
        "active": clean.active,
        "police_station_id": clean.station.id if clean.station else None,
        "grid_cell_ids": _ids(clean.cells),
        "dwelling_ids": _ids(clean.dwellings),
    }
    changes = changed(before, after)
    if changes:
        # Scope lives in link tables; touching the row makes every change bump the version.
        user.updated_at = func.now()
        session.flush()
        record(session, actor, Action.UPDATE, "user_account", user.id, changes)
    return user


def reset_password(
    session: Session,
    actor: UserAccount,
    user_id: int,
    password: str,
    password_again: str | None = None,
    current_password: str | None = None,
) -> None:
    """Set a new password chosen by the administrator; audited without the password.

    Their own password is changed as every user changes theirs: with the current one,
    so that a session left open does not let someone else take the account over.
    """
    user = get_user_account(session, actor, user_id)
    if user.id == actor.id:
        change_own_password(session, actor, current_password, password, password_again)
        return
    errors = ValidationErrors()
    new_password_errors(password, user.username, password_again, errors)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    how = "reset" if password_is_set(user.password_hash) else "set"
    store_new_password(session, actor, user, password, how)


@dataclass(frozen=True)
class DwellingChoice:
    id: int
    label: str


def dwelling_choices(session: Session, actor: UserAccount, ids) -> list[DwellingChoice]:
    """Labels (the address) of the given dwellings, for the form's check boxes."""
    require_admin(actor)
    ids = set(ids or ())
    if not ids:
        return []
    rows = session.execute(
        select(Dwelling.id, Address.full_text)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Dwelling.id.in_(ids), dwelling_filter(actor))
        .order_by(Address.full_text)
    )
    return [DwellingChoice(*row) for row in rows]


def search_dwellings(session: Session, actor: UserAccount, text: str) -> list[DwellingChoice]:
    """Dwellings whose address contains the text (normalised as addresses are)."""
    require_admin(actor)
    needle = normalise_address_text(text or "")
    if len(needle) < 2:
        return []
    rows = session.execute(
        select(Dwelling.id, Address.full_text)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.full_text.like(_like_pattern(needle)), dwelling_filter(actor))
        .order_by(Address.full_text)
        .limit(SEARCH_LIMIT)
    )
    return [DwellingChoice(*row) for row in rows]


@dataclass(frozen=True)
class BuildingChoice:
    id: int
    label: str
    dwellings: int


def search_buildings(session: Session, actor: UserAccount, text: str) -> list[BuildingChoice]:
    """Door-level addresses (buildings) matching the text, with their number of dwellings."""
    require_admin(actor)
    needle = normalise_address_text(text or "")
    if len(needle) < 2:
        return []
    room = aliased(Address)
    rows = session.execute(
        select(Address.id, Address.full_text, func.count(Dwelling.id))
        .join(room, room.parent_id == Address.id)
        .join(Dwelling, Dwelling.address_id == room.id)
        .where(Address.parent_id.is_(None), Address.full_text.like(_like_pattern(needle)))
        .group_by(Address.id, Address.full_text)
        .order_by(Address.full_text)
        .limit(SEARCH_LIMIT)
    )
    return [BuildingChoice(*row) for row in rows]


def building_choices(session: Session, actor: UserAccount, ids) -> list[BuildingChoice]:
    require_admin(actor)
    ids = set(ids or ())
    if not ids:
        return []
    room = aliased(Address)
    rows = session.execute(
        select(Address.id, Address.full_text, func.count(Dwelling.id))
        .outerjoin(room, room.parent_id == Address.id)
        .outerjoin(Dwelling, Dwelling.address_id == room.id)
        .where(Address.id.in_(ids), Address.parent_id.is_(None))
        .group_by(Address.id, Address.full_text)
        .order_by(Address.full_text)
    )
    return [BuildingChoice(*row) for row in rows]


# -- police stations -----------------------------------------------------------------------


@dataclass(frozen=True)
class StationInput:
    code: str
    name: str
    district_id: int | None = None
    community_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class StationRow:
    station: PoliceStation
    communities: int
    officers: int


def list_stations(session: Session, actor: UserAccount) -> list[StationRow]:
    require_admin(actor)
    communities = (
        select(func.count())
        .where(Community.police_station_id == PoliceStation.id)
        .correlate(PoliceStation)
        .scalar_subquery()
    )
    officers = (
        select(func.count())
        .where(
            UserAccount.police_station_id == PoliceStation.id,
            UserAccount.role == Role.POLICE_OFFICER,
        )
        .correlate(PoliceStation)
        .scalar_subquery()
    )
    rows = session.execute(
        select(PoliceStation, communities, officers).order_by(PoliceStation.code)
    ).all()
    return [StationRow(*row) for row in rows]


def station_officers(session: Session, actor: UserAccount, station_id: int) -> list[UserAccount]:
    require_admin(actor)
    return list(
        session.scalars(
            select(UserAccount)
            .where(
                UserAccount.police_station_id == station_id,
                UserAccount.role == Role.POLICE_OFFICER,
            )
            .order_by(UserAccount.username)
        )
    )


def station_choices(session: Session, actor: UserAccount) -> list[tuple[int, str]]:
    require_admin(actor)
    return [
        (station.id, station.name)
        for station in session.scalars(select(PoliceStation).order_by(PoliceStation.code))
    ]


def district_choices(session: Session, actor: UserAccount) -> list[tuple[int, str]]:
    require_admin(actor)
    return [(d.id, d.name) for d in session.scalars(select(District).order_by(District.code))]


@dataclass(frozen=True)
class CommunityChoice:
    id: int
    name: str
    sub_district: str
    station_id: int | None
    station_name: str | None


def community_choices(session: Session, actor: UserAccount) -> list[CommunityChoice]:
    """Every community with its sub-district and the station covering it now."""
    require_admin(actor)
    rows = session.execute(
        select(
            Community.id,
            Community.name,
            SubDistrict.name,
            Community.police_station_id,
            PoliceStation.name,
        )
        .join(SubDistrict, SubDistrict.id == Community.sub_district_id)
        .outerjoin(PoliceStation, PoliceStation.id == Community.police_station_id)
        .order_by(Community.code)
    )
    return [CommunityChoice(*row) for row in rows]


def station_token(station: PoliceStation) -> str:
    """Police stations have no version column; their last change time serves instead."""
    return station.updated_at.isoformat() if station.updated_at else ""


def get_station(session: Session, actor: UserAccount, station_id: int, *, lock=False):
    require_admin(actor)
    query = select(PoliceStation).where(PoliceStation.id == station_id)
    if lock:
        query = query.with_for_update()
    station = session.scalar(query)
    if station is None:
        raise NotFound()
    return station


def station_current_values(station: PoliceStation) -> dict[str, Any]:
    return {
        "code": station.code,
        "name": station.name,
        "community_ids": sorted(c.id for c in station.communities),
    }


def _clean_station(
    session: Session, data: StationInput, station_id: int | None
) -> tuple[str, str, int | None, list[Community]]:
    errors = ValidationErrors()
    code = (data.code or "").strip()
    if not CODE_RE.fullmatch(code):
        errors.add("code", _l("1 to 20 letters, digits or dashes"))
    elif session.scalar(
        select(PoliceStation.id).where(
            PoliceStation.code == code, PoliceStation.id.is_distinct_from(station_id)
        )
    ):
        errors.add("code", _l("Another police station has this code"))
    name = None
    with errors.collect():
        name = validate_name(data.name, field="name")
    district_id = data.district_id
    if station_id is None and session.get(District, district_id or 0) is None:
        errors.add("district_id", _l("Choose a district"))
    wanted = set(data.community_ids)
    communities = (
        list(session.scalars(select(Community).where(Community.id.in_(wanted)))) if wanted else []
    )
    if len(communities) != len(wanted):
        errors.add("community_ids", _l("Some of the chosen communities do not exist"))
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return code, name, district_id, communities


def _assign_communities(
    session: Session, actor: UserAccount, station: PoliceStation, communities: list[Community]
) -> dict[str, list]:
    """Point the chosen communities at the station; communities left out lose it.

    A station that loses a community to this one gets its own audit entry, and is touched
    so that its open edit forms go stale.
    """
    wanted = {c.id for c in communities}
    before = {c.id for c in station.communities}
    losers: dict[int, set[int]] = {}
    for community in communities:
        if community.police_station_id != station.id:
            if community.police_station_id is not None:
                losers.setdefault(community.police_station_id, set()).add(community.id)
            community.police_station = station
    for community in list(station.communities):
        if community.id not in wanted:
            community.police_station = None
    for other_id, lost in sorted(losers.items()):
        other = session.get(PoliceStation, other_id)
        had = {c.id for c in other.communities} | lost
        other.updated_at = func.now()
        record(
            session,
            actor,
            Action.UPDATE,
            "police_station",
            other.id,
            {"community_ids": [sorted(had), sorted(had - lost)]},
            reason=f"communities moved to police station {station.code}",
        )
    if wanted == before:
        return {}
    return {"community_ids": [sorted(before), sorted(wanted)]}


def create_station(session: Session, actor: UserAccount, data: StationInput) -> PoliceStation:
    require_admin(actor)
    code, name, district_id, communities = _clean_station(session, data, None)
    station = PoliceStation(code=code, name=name, district_id=district_id)
    session.add(station)
    session.flush()
    changes = {"code": [None, code], "name": [None, name], "district_id": [None, district_id]}
    changes.update(_assign_communities(session, actor, station, communities))
    session.flush()
    record(session, actor, Action.CREATE, "police_station", station.id, changes)
    return station


def update_station(
    session: Session, actor: UserAccount, station_id: int, data: StationInput, seen_token: str
) -> PoliceStation:
    """Rename a station and set its jurisdiction; refuses a stale form."""
    station = get_station(session, actor, station_id, lock=True)
    code, name, _district, communities = _clean_station(session, data, station.id)
    if (seen_token or "") != station_token(station):
        raise Conflict(current=station_current_values(station), version=station_token(station))
    changes = {}
    if station.code != code:
        changes["code"] = [station.code, code]
        station.code = code
    if station.name != name:
        changes["name"] = [station.name, name]
        station.name = name
    changes.update(_assign_communities(session, actor, station, communities))
    if changes:
        station.updated_at = func.now()
        session.flush()
        record(session, actor, Action.UPDATE, "police_station", station.id, changes)
    return station
