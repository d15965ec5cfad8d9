"""What an actor may see, as query filters that every list and every get applies.

Scope is data, not a check sprinkled over views: each function returns a subquery of the
ids the actor may reach, and services filter by it. A record outside the scope is reported
as "not found", so a user cannot even confirm that it exists.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select, true, union
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.area.models import Community
from registry.dwelling.models import Dwelling, managed_dwelling
from registry.errors import NotFound
from registry.grid.models import GridCell, grid_cell_worker
from registry.lease.models import LeaseFiling, LeaseTenant
from registry.organisation.models import Organisation
from registry.person.models import Person, Residence


def _station_communities(actor: UserAccount) -> Select:
    return select(Community.id).where(Community.police_station_id == actor.police_station_id)


def _worker_cells(actor: UserAccount) -> Select:
    return select(grid_cell_worker.c.grid_cell_id).where(grid_cell_worker.c.user_id == actor.id)


def _managed_dwellings(actor: UserAccount) -> Select:
    return select(managed_dwelling.c.dwelling_id).where(managed_dwelling.c.user_id == actor.id)


def community_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Communities in the actor's jurisdiction (officers) or the whole district (admins)."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            return Community.police_station_id == actor.police_station_id
    return false()


def address_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Addresses in the actor's jurisdiction, cells, or managed dwellings."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            return Address.community_id.in_(_station_communities(actor))
        case Role.GRID_WORKER:
            return Address.grid_cell_id.in_(_worker_cells(actor))
        case Role.PROPERTY_MANAGER:
            managed = select(Dwelling.address_id).where(Dwelling.id.in_(_managed_dwellings(actor)))
            return Address.id.in_(managed)
    return false()


def visible_address_ids(actor: UserAccount) -> Select:
    return select(Address.id).where(address_filter(actor))


def dwelling_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Dwellings the actor may read and change."""
    if actor.role == Role.ADMIN:
        return true()
    if actor.role == Role.PROPERTY_MANAGER:
        return Dwelling.id.in_(_managed_dwellings(actor))
    return Dwelling.address_id.in_(visible_address_ids(actor))


def visible_dwelling_ids(actor: UserAccount) -> Select:
    return select(Dwelling.id).where(dwelling_filter(actor))


def person_filter(actor: UserAccount) -> ColumnElement[bool]:
    """People who live or lived in a visible dwelling, own one, or are on one's lease.

    A property manager sees the residents of the dwellings they manage, never others.
    """
    if actor.role == Role.ADMIN:
        return true()
    dwellings = visible_dwelling_ids(actor)
    residents = select(Residence.person_id).where(Residence.dwelling_id.in_(dwellings))
    owners = select(Dwelling.owner_person_id).where(Dwelling.id.in_(dwellings))
    landlords = select(LeaseFiling.landlord_person_id).where(LeaseFiling.dwelling_id.in_(dwellings))
    tenants = (
        select(LeaseTenant.person_id)
        .join(LeaseFiling, LeaseFiling.id == LeaseTenant.lease_filing_id)
        .where(LeaseFiling.dwelling_id.in_(dwellings))
    )
    # One UNION instead of an OR of IN lists: the planner can then use the indexes.
    return Person.id.in_(union(residents, owners, landlords, tenants))


def organisation_filter(actor: UserAccount) -> ColumnElement[bool]:
    if actor.role == Role.PROPERTY_MANAGER:
        return false()
    return Organisation.address_id.in_(visible_address_ids(actor))


def lease_filter(actor: UserAccount) -> ColumnElement[bool]:
    return LeaseFiling.dwelling_id.in_(visible_dwelling_ids(actor))


def grid_cell_filter(actor: UserAccount) -> ColumnElement[bool]:
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            return GridCell.community_id.in_(_station_communities(actor))
        case Role.GRID_WORKER:
            return GridCell.id.in_(_worker_cells(actor))
    return false()


FILTERS = {
    Address: address_filter,
    Dwelling: dwelling_filter,
    Person: person_filter,
    Organisation: organisation_filter,
    LeaseFiling: lease_filter,
    GridCell: grid_cell_filter,
}


def get_in_scope(session: Session, actor: UserAccount, model, record_id: int):
    """The record if the actor may see it; NotFound otherwise, whether it exists or not."""
    scope_filter = FILTERS[model](actor)
    record = session.scalar(select(model).where(model.id == record_id, scope_filter))
    if record is None:
        raise NotFound()
    return record
