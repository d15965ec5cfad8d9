"""Who may see and do what with sweeps, as query filters (the sweeps' part of the scope).

- A team's members see the stops of their team's sweeps while those sweeps are open (not
  closed), whatever their usual scope: for a sweep team member that is their whole scope;
  a grid worker or officer on a team sees those stops on top of their own.
- Officers see and plan the sweeps of focus areas with a cell in their jurisdiction, and
  see their stops in the jurisdiction; administrators see every sweep.
- Grid workers see the stops in their cells of any sweep, and the sweeps holding them.
- Photos are seen by the sweep's team (while open) and by officers whose jurisdiction
  holds the stop, nobody else.

This module imports models only, so registry/scope.py can build on it.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, false, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.area.models import Community
from registry.grid.models import GridCell, focus_area_cell
from registry.sweeps.models import Sweep, SweepStop, SweepTeamMember

# Roles whose usual scope widens to the open sweeps of their teams.
WIDENED_BY_TEAMS = (Role.GRID_WORKER, Role.POLICE_OFFICER, Role.SWEEP_TEAM_MEMBER)


def open_team_sweeps(actor: UserAccount) -> Select:
    """Ids of the open sweeps whose team the actor is on (own aliases: never correlated
    with the sweep a query around it reads)."""
    sweep = Sweep.__table__.alias()
    member = SweepTeamMember.__table__.alias()
    return (
        select(sweep.c.id)
        .join(member, member.c.team_id == sweep.c.team_id)
        .where(member.c.user_id == actor.id, sweep.c.closed_at.is_(None))
    )


def on_team_sweep(actor: UserAccount, address) -> ColumnElement[bool]:
    """``address`` (the model, or the columns of an alias) is a stop of one of the actor's
    teams' open sweeps, or lies inside a stop that is a whole building. The stops are one
    uncorrelated set (hashed once per query, and empty for most users), not a subquery per
    address."""
    if actor.role not in WIDENED_BY_TEAMS:
        return false()
    stops = _team_stops(actor)
    return or_(address.id.in_(stops), address.parent_id.in_(stops))


def _team_stops(actor: UserAccount) -> Select:
    """The address ids of the stops of the actor's teams' open sweeps."""
    stop = SweepStop.__table__.alias()
    return select(stop.c.address_id).where(stop.c.sweep_id.in_(open_team_sweeps(actor)))


def team_stop_address_ids(actor: UserAccount) -> tuple[Select, Select]:
    """``on_team_sweep`` as driving sets: the stops of the actor's teams' open sweeps, and
    the rooms inside a stop that is a whole building (for registry/scope.py)."""
    stops = _team_stops(actor)
    room = Address.__table__.alias()
    return stops, select(room.c.id).where(room.c.parent_id.in_(stops))


def _station_cells(actor: UserAccount) -> Select:
    return (
        select(GridCell.id)
        .join(Community, Community.id == GridCell.community_id)
        .where(Community.police_station_id == actor.police_station_id)
    )


def area_filter(actor: UserAccount, focus_area_id) -> ColumnElement[bool]:
    """Focus areas whose sweeps the actor plans: admins all, officers those with a cell in
    their jurisdiction."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            cell = focus_area_cell.alias()
            return exists().where(
                cell.c.focus_area_id == focus_area_id,
                cell.c.grid_cell_id.in_(_station_cells(actor)),
            )
    return false()


def sweep_filter(actor: UserAccount, usual_address_filter) -> ColumnElement[bool]:
    """Sweeps the actor may open: planned for their areas, walked by their teams, or with
    a stop in their usual scope (``usual_address_filter`` over ``Address``)."""
    if actor.role == Role.ADMIN:
        return true()
    stop = aliased(SweepStop)
    mine = exists().where(
        stop.sweep_id == Sweep.id,
        stop.address_id.in_(select(Address.id).where(usual_address_filter)),
    )
    reasons = [Sweep.id.in_(open_team_sweeps(actor))]
    if actor.role == Role.POLICE_OFFICER:
        reasons.append(area_filter(actor, Sweep.focus_area_id))
    if actor.role == Role.GRID_WORKER:
        reasons.append(mine)
    return or_(*reasons)


def photo_filter(actor: UserAccount, stop_address_id, sweep_id) -> ColumnElement[bool]:
    """Photos of a stop: the sweep's team while it is open, and the officers whose
    jurisdiction holds the stop."""
    team = sweep_id.in_(open_team_sweeps(actor))
    if actor.role != Role.POLICE_OFFICER:
        return team if actor.role in WIDENED_BY_TEAMS else false()
    address = aliased(Address)
    community = aliased(Community)
    in_station = exists().where(
        address.id == stop_address_id,
        community.id == address.community_id,
        community.police_station_id == actor.police_station_id,
    )
    return or_(team, in_station)
