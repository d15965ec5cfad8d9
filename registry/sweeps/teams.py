"""Standing sweep teams (专班) and their members, managed by their station's officers.

A member is a user account with a function on the team: police officers of the station,
grid workers of its jurisdiction (community), and "sweep team member" accounts (market
regulation, housing). Assigning a team to a sweep is what opens the sweep's stops to its
members (registry/sweeps/access.py).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from registry.accounts.models import Role, UserAccount
from registry.area.models import Community, PoliceStation
from registry.audit.services import Action, record
from registry.constraints import checked, refuse
from registry.errors import InvalidInput, NotFound
from registry.grid.models import GridCell, grid_cell_worker
from registry.sweeps.models import TEAM_NAME_TAKEN, MemberFunction, SweepTeam, SweepTeamMember
from registry.validators import FieldError, validate_name

MANAGING_ROLES = (Role.POLICE_OFFICER, Role.ADMIN)
# The function a member gets unless one is chosen: what their role does on the street.
DEFAULT_FUNCTION = {
    Role.POLICE_OFFICER: MemberFunction.POLICE,
    Role.GRID_WORKER: MemberFunction.COMMUNITY,
    Role.SWEEP_TEAM_MEMBER: MemberFunction.MARKET_REGULATION,
}

# The functions each role can hold on a team: an account's role says what it may do.
FUNCTIONS_OF_ROLE = {
    Role.POLICE_OFFICER: {MemberFunction.POLICE},
    Role.GRID_WORKER: {MemberFunction.COMMUNITY},
    Role.SWEEP_TEAM_MEMBER: {MemberFunction.MARKET_REGULATION, MemberFunction.HOUSING},
}


def wrong_function(role: Role):
    """Why this account cannot hold the chosen function (a message, not a label table)."""
    if role == Role.POLICE_OFFICER:
        return _l("A police officer's account can only be police on a team")
    if role == Role.GRID_WORKER:
        return _l("A grid worker's account can only be community on a team")
    return _l("A sweep team member's account can be market regulation or housing on a team")


NOT_ELIGIBLE = _l(
    "No officer of this station, grid worker of its cells or team member has this name"
)

refuse(TEAM_NAME_TAKEN, "name", _l("A team with this name exists already"))


def require_manager(actor: UserAccount) -> None:
    if actor.role not in MANAGING_ROLES:
        raise NotFound()


def team_filter(actor: UserAccount):
    """Teams the actor manages: their station's (officers), all (administrators)."""
    if actor.role == Role.ADMIN:
        return SweepTeam.id.is_not(None)
    return SweepTeam.police_station_id == actor.police_station_id


def list_teams(session: Session, actor: UserAccount) -> list[SweepTeam]:
    require_manager(actor)
    return list(
        session.scalars(
            select(SweepTeam)
            .where(team_filter(actor))
            .options(selectinload(SweepTeam.members).selectinload(SweepTeamMember.user))
            .order_by(SweepTeam.name)
        )
    )


def get_team(session: Session, actor: UserAccount, team_id: int) -> SweepTeam:
    require_manager(actor)
    team = session.scalar(select(SweepTeam).where(SweepTeam.id == team_id, team_filter(actor)))
    if team is None:
        raise NotFound()
    return team


def stations_for(session: Session, actor: UserAccount) -> list[PoliceStation]:
    """The stations a new team may belong to: the officer's own, or any (administrators)."""
    query = select(PoliceStation).order_by(PoliceStation.code)
    if actor.role != Role.ADMIN:
        query = query.where(PoliceStation.id == actor.police_station_id)
    return list(session.scalars(query))


def create_team(session: Session, actor: UserAccount, name: Any, station_id: Any) -> SweepTeam:
    require_manager(actor)
    try:
        clean = validate_name(name, field="name")
    except FieldError as error:
        raise InvalidInput(fields={error.field: [error.message]}) from None
    stations = {s.id for s in stations_for(session, actor)}
    station = actor.police_station_id if actor.role != Role.ADMIN else _int(station_id)
    if station not in stations:
        raise InvalidInput(fields={"station": [_l("Choose a police station")]})
    with checked(session):
        team = SweepTeam(name=clean, police_station_id=station)
        session.add(team)
    record(
        session,
        actor,
        Action.CREATE,
        "sweep_team",
        team.id,
        {"name": [None, clean], "police_station_id": [None, station]},
    )
    return team


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def eligible_members(team: SweepTeam):
    """Accounts that may join the team: its station's officers, grid workers of a cell in
    its jurisdiction, and sweep team members."""
    in_station = exists().where(
        grid_cell_worker.c.user_id == UserAccount.id,
        GridCell.id == grid_cell_worker.c.grid_cell_id,
        Community.id == GridCell.community_id,
        Community.police_station_id == team.police_station_id,
    )
    return UserAccount.active.is_(True) & (
        (
            (UserAccount.role == Role.POLICE_OFFICER)
            & (UserAccount.police_station_id == team.police_station_id)
        )
        | ((UserAccount.role == Role.GRID_WORKER) & in_station)
        | (UserAccount.role == Role.SWEEP_TEAM_MEMBER)
    )


def add_member(
    session: Session, actor: UserAccount, team_id: int, username: Any, function: Any
) -> SweepTeamMember:
    """Put an account on the team with a function (by default, its role's)."""
    team = get_team(session, actor, team_id)
    name = str(username or "").strip()
    if not name:
        raise InvalidInput(fields={"username": [_l("This field is required")]})
    user = session.scalar(
        select(UserAccount).where(UserAccount.username == name, eligible_members(team))
    )
    if user is None:
        raise InvalidInput(fields={"username": [NOT_ELIGIBLE]})
    chosen = str(function or "")
    if chosen and chosen not in set(MemberFunction):
        raise InvalidInput(fields={"function": [_l("Choose one of the listed values")]})
    member_function = MemberFunction(chosen) if chosen else DEFAULT_FUNCTION[user.role]
    if member_function not in FUNCTIONS_OF_ROLE[user.role]:
        raise InvalidInput(fields={"function": [wrong_function(user.role)]})
    if session.get(SweepTeamMember, (team.id, user.id)) is not None:
        raise InvalidInput(fields={"username": [_l("Already on this team")]})
    member = SweepTeamMember(team_id=team.id, user_id=user.id, function=member_function)
    session.add(member)
    session.flush()
    record(
        session,
        actor,
        Action.UPDATE,
        "sweep_team",
        team.id,
        {"member_added": [None, user.username], "function": [None, str(member_function)]},
    )
    return member


def remove_member(session: Session, actor: UserAccount, team_id: int, user_id: int) -> None:
    team = get_team(session, actor, team_id)
    member = session.get(SweepTeamMember, (team.id, user_id))
    if member is None:
        raise NotFound()
    username = member.user.username
    session.delete(member)
    session.flush()
    record(
        session, actor, Action.UPDATE, "sweep_team", team.id, {"member_removed": [username, None]}
    )
