"""What an actor may see, as query filters that every list and every get applies.

Scope is data, not a check sprinkled over views: each filter is a condition on the record
being read, and services add it to their queries. A record outside the scope is reported
as "not found", so a user cannot even confirm that it exists.

Every filter starts from the record asked for: it is an ``EXISTS`` over that record's own
links (its address, its dwelling, the grid cells of the worker), never ``id IN`` the ids of
the whole jurisdiction. Looking up one person among 1.2 million then reads that person's
few residences and filings instead of building the jurisdiction's 125,000 person ids
first. Inside the filters every table is an alias of its own (a Core alias: cheap to build on
every request, unlike an ORM alias), so nothing is correlated by accident with a table of
the query that uses them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.area.models import Community
from registry.dwelling.models import Dwelling, managed_dwelling
from registry.dwelling.status import residence_is_current
from registry.errors import NotFound
from registry.figures.models import CellFigures
from registry.grid.models import GridCell, grid_cell_worker
from registry.lease.models import LeaseFiling, LeaseTenant, term_covers
from registry.organisation.models import Organisation
from registry.person.models import Person, Residence
from registry.sweeps.access import WIDENED_BY_TEAMS, on_team_sweep, team_stop_address_ids

# -- one statement per role ---------------------------------------------------------------

ACTOR_ID = "scope_actor_id"
ACTOR_STATION = "scope_station_id"


class BoundActor:
    """An actor of ``role`` whose ids are bound parameters, not values.

    The filters below read an actor's role in Python (it picks their shape) and its ids
    only inside SQL comparisons. Built for a ``BoundActor``, a filter is therefore the
    same SQL for every user of the role: a statement holding it can be built once per role
    and cached, and SQLAlchemy compiles it once; :func:`actor_parameters` gives each
    request's values. Scope is exactly as strict: ``= :station`` is ``== station`` because
    an officer always has a station (a constraint of ``user_account``), and a user's id is
    never NULL. Building a scoped statement of Core aliases of wide tables costs about as
    much Python as PostgreSQL takes to run a map tile's (registry/map/tiles.py).
    """

    id: BindParameter = bindparam(ACTOR_ID, type_=Integer)
    police_station_id: BindParameter = bindparam(ACTOR_STATION, type_=Integer)

    def __init__(self, role: Role):
        self.role = role


def actor_parameters(actor: UserAccount) -> dict[str, int | None]:
    """The values of a :class:`BoundActor`'s parameters for ``actor``."""
    return {ACTOR_ID: actor.id, ACTOR_STATION: actor.police_station_id}


# -- the filters ---------------------------------------------------------------------------


def _in_station(actor: UserAccount, community_id) -> ColumnElement[bool]:
    """The community ``community_id`` belongs to the officer's police station."""
    community = Community.__table__.alias()
    return exists().where(
        community.c.id == community_id, community.c.police_station_id == actor.police_station_id
    )


def _worker_has_cell(actor: UserAccount, grid_cell_id) -> ColumnElement[bool]:
    """The grid cell ``grid_cell_id`` is one the worker is assigned to."""
    assigned = grid_cell_worker.alias()
    return exists().where(assigned.c.grid_cell_id == grid_cell_id, assigned.c.user_id == actor.id)


def _manages(actor: UserAccount, dwelling_id) -> ColumnElement[bool]:
    """The dwelling ``dwelling_id`` is one the property manager or landlord manages."""
    managed = managed_dwelling.alias()
    return exists().where(managed.c.dwelling_id == dwelling_id, managed.c.user_id == actor.id)


def _address_visible(actor: UserAccount, address) -> ColumnElement[bool]:
    """Whether ``address`` (the model, or the columns of an alias) is in the actor's scope:
    the usual scope, plus the stops of the open sweeps of the actor's teams
    (registry/sweeps/access.py), which are the whole scope of a sweep team member."""
    if actor.role == Role.SWEEP_TEAM_MEMBER:
        return on_team_sweep(actor, address)
    usual = _usual_address_visible(actor, address)
    if actor.role in WIDENED_BY_TEAMS:
        return or_(usual, on_team_sweep(actor, address))
    return usual


def _usual_address_visible(actor: UserAccount, address) -> ColumnElement[bool]:
    """The actor's own jurisdiction, cells or managed dwellings, without any sweep."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            return _in_station(actor, address.community_id)
        case Role.GRID_WORKER:
            return _worker_has_cell(actor, address.grid_cell_id)
        case Role.PROPERTY_MANAGER:
            dwelling = Dwelling.__table__.alias()
            return exists().where(
                dwelling.c.address_id == address.id, _manages(actor, dwelling.c.id)
            )
    return false()


def _address_id_visible(actor: UserAccount, address_id) -> ColumnElement[bool]:
    """Whether the address with id ``address_id`` (a column elsewhere) is in scope."""
    if actor.role == Role.ADMIN:
        return true()
    address = Address.__table__.alias()
    return exists().where(address.c.id == address_id, _address_visible(actor, address.c))


def dwelling_id_visible(actor: UserAccount, dwelling_id) -> ColumnElement[bool]:
    """Whether the dwelling with id ``dwelling_id`` (a column of another table) is in scope.

    The building block for records that hang off a dwelling: residences, filings, tenants.
    """
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.PROPERTY_MANAGER:
            return _manages(actor, dwelling_id)
        case Role.POLICE_OFFICER | Role.GRID_WORKER | Role.SWEEP_TEAM_MEMBER:
            dwelling = Dwelling.__table__.alias()
            return exists().where(
                dwelling.c.id == dwelling_id, _address_id_visible(actor, dwelling.c.address_id)
            )
    return false()


def community_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Communities in the actor's jurisdiction (officers) or the whole district (admins)."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            return Community.police_station_id == actor.police_station_id
    return false()


def address_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Addresses in the actor's jurisdiction, cells, or managed dwellings (and the stops of
    their teams' open sweeps)."""
    return _address_visible(actor, Address)


def usual_address_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Addresses in the actor's own scope, leaving out what their sweep teams open."""
    return _usual_address_visible(actor, Address)


def address_in_scope_set(actor: UserAccount) -> ColumnElement[bool]:
    """``address_filter`` written as membership of ``visible_address_ids``: for searches
    whose condition has no index of its own (a door number, a two-character text), so
    that PostgreSQL starts from the actor's few addresses instead of reading them all."""
    if actor.role == Role.ADMIN:
        return true()
    return Address.id.in_(visible_address_ids(actor))


def visible_address_ids(actor: UserAccount) -> Select:
    """The ids of the addresses in scope, as a driving set; prefer ``address_filter`` on the
    record itself.

    The same set as ``address_filter``, but built from where the scope starts (the
    worker's cells, the station's communities, the managed dwellings, the team's stops), so
    that PostgreSQL reads those few rows through their indexes. ``address_filter`` is an OR
    with the team stops, which a planner can only test address by address: 1.3 s over the
    large demo's addresses for a grid worker's look-up, against milliseconds from here.
    """
    if actor.role == Role.ADMIN:
        return select(Address.id)
    parts = list(_usual_address_ids(actor))
    if actor.role in WIDENED_BY_TEAMS:
        parts.extend(team_stop_address_ids(actor))
    return union(*parts) if len(parts) > 1 else parts[0]


def _usual_address_ids(actor: UserAccount) -> tuple[Select, ...]:
    """``_usual_address_visible`` as driving sets (none for a sweep team member)."""
    address = Address.__table__.alias()
    match actor.role:
        case Role.POLICE_OFFICER:
            community = Community.__table__.alias()
            in_station = select(community.c.id).where(
                community.c.police_station_id == actor.police_station_id
            )
            return (select(address.c.id).where(address.c.community_id.in_(in_station)),)
        case Role.GRID_WORKER:
            assigned = grid_cell_worker.alias()
            cells = select(assigned.c.grid_cell_id).where(assigned.c.user_id == actor.id)
            return (select(address.c.id).where(address.c.grid_cell_id.in_(cells)),)
        case Role.PROPERTY_MANAGER:
            managed = managed_dwelling.alias()
            dwelling = Dwelling.__table__.alias()
            return (
                select(dwelling.c.address_id)
                .join(managed, managed.c.dwelling_id == dwelling.c.id)
                .where(managed.c.user_id == actor.id),
            )
    return ()


def dwelling_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Dwellings the actor may read and change."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.PROPERTY_MANAGER:
            return _manages(actor, Dwelling.id)
        case Role.POLICE_OFFICER | Role.GRID_WORKER | Role.SWEEP_TEAM_MEMBER:
            return _address_id_visible(actor, Dwelling.address_id)
    return false()


def visible_dwelling_ids(actor: UserAccount) -> Select:
    """The ids of the dwellings in scope, as a driving set (see ``visible_address_ids``);
    prefer ``dwelling_id_visible`` on a record's link."""
    match actor.role:
        case Role.ADMIN:
            return select(Dwelling.id)
        case Role.PROPERTY_MANAGER:
            managed = managed_dwelling.alias()
            return select(managed.c.dwelling_id).where(managed.c.user_id == actor.id)
        case Role.POLICE_OFFICER | Role.GRID_WORKER | Role.SWEEP_TEAM_MEMBER:
            dwelling = Dwelling.__table__.alias()
            return select(dwelling.c.id).where(
                dwelling.c.address_id.in_(visible_address_ids(actor))
            )
    return select(Dwelling.id).where(false())


def _person_links():
    """The dwellings a person (``Person``, correlated) is linked to: lived in, owns, let as
    landlord, rented as tenant. One derived table, so that the scope check is one subplan
    that starts from the person and reads their few links through the person-id indexes;
    an OR of four EXISTS lets the planner hash a whole jurisdiction's links instead."""
    residence = Residence.__table__.alias()
    owned = Dwelling.__table__.alias()
    filing = LeaseFiling.__table__.alias()
    tenancy = LeaseTenant.__table__.alias()
    tenancy_filing = LeaseFiling.__table__.alias()
    return union_all(
        select(residence.c.dwelling_id.label("dwelling_id"))
        .where(residence.c.person_id == Person.id)
        .correlate(Person),
        select(owned.c.id).where(owned.c.owner_person_id == Person.id).correlate(Person),
        select(filing.c.dwelling_id)
        .where(filing.c.landlord_person_id == Person.id)
        .correlate(Person),
        select(tenancy_filing.c.dwelling_id)
        .join(tenancy, tenancy.c.lease_filing_id == tenancy_filing.c.id)
        .where(tenancy.c.person_id == Person.id)
        .correlate(Person),
    ).subquery("person_link")


def person_filter(actor: UserAccount) -> ColumnElement[bool]:
    """People who live or lived in a visible dwelling, own one, or are on one's lease.

    A property manager sees the residents of the dwellings they manage, never others.
    """
    if actor.role == Role.ADMIN:
        return true()
    links = _person_links()
    return (
        select(links.c.dwelling_id).where(dwelling_id_visible(actor, links.c.dwelling_id)).exists()
    )


def _current_ties(today: date):
    """The dwellings ``Person`` (correlated) is tied to today: lives in, owns, lets under a
    current filing as landlord, rents under one as a tenant still on it. Shaped like
    :func:`_person_links` (Core aliases), with "current" as registry/dwelling/status.py
    and the lease term (registry/lease/models.py) define it."""
    residence = Residence.__table__.alias()
    owned = Dwelling.__table__.alias()
    filing = LeaseFiling.__table__.alias()
    tenancy = LeaseTenant.__table__.alias()
    tenancy_filing = LeaseFiling.__table__.alias()
    return union_all(
        select(residence.c.dwelling_id.label("dwelling_id"))
        .where(residence.c.person_id == Person.id, residence_is_current(today, residence.c))
        .correlate(Person),
        select(owned.c.id).where(owned.c.owner_person_id == Person.id).correlate(Person),
        select(filing.c.dwelling_id)
        .where(filing.c.landlord_person_id == Person.id, term_covers(filing.c, today))
        .correlate(Person),
        select(tenancy_filing.c.dwelling_id)
        .join(tenancy, tenancy.c.lease_filing_id == tenancy_filing.c.id)
        .where(
            tenancy.c.person_id == Person.id,
            tenancy.c.removed_on.is_(None),
            term_covers(tenancy_filing.c, today),
        )
        .correlate(Person),
    ).subquery("current_tie")


def person_correctable_filter(actor: UserAccount, today: date) -> ColumnElement[bool]:
    """People the actor may correct (name, document, phone, birth date).

    Seeing is wider than correcting: ``person_filter`` lets in everyone who lives or lived
    in a visible dwelling, so a worker who moves in someone from elsewhere sees them at
    once. Correcting them is left to whoever holds every one of their current ties (their
    home, the dwellings they own, the current filings they are landlord or tenant on);
    otherwise one cell's worker could rewrite a person another cell's records rely on.
    """
    if actor.role == Role.ADMIN:
        return true()
    ties = _current_ties(today)
    tied_outside = (
        select(ties.c.dwelling_id).where(~dwelling_id_visible(actor, ties.c.dwelling_id)).exists()
    )
    return and_(person_filter(actor), ~tied_outside)


def organisation_filter(actor: UserAccount) -> ColumnElement[bool]:
    if actor.role in (Role.PROPERTY_MANAGER, Role.SWEEP_TEAM_MEMBER):
        return false()
    return _address_id_visible(actor, Organisation.address_id)


def lease_filter(actor: UserAccount) -> ColumnElement[bool]:
    return dwelling_id_visible(actor, LeaseFiling.dwelling_id)


def grid_cell_filter(actor: UserAccount) -> ColumnElement[bool]:
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            return _in_station(actor, GridCell.community_id)
        case Role.GRID_WORKER:
            return _worker_has_cell(actor, GridCell.id)
    return false()


def cell_figures_filter(actor: UserAccount) -> ColumnElement[bool]:
    """Rows of the precomputed figures that count records in the actor's scope.

    A row counts the addresses of one community in one grid cell, so officers take their
    communities' rows and grid workers their cells' rows: the same records as
    :func:`address_filter`. Property managers have no figures.
    """
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.POLICE_OFFICER:
            return _in_station(actor, CellFigures.community_id)
        case Role.GRID_WORKER:
            return _worker_has_cell(actor, CellFigures.grid_cell_id)
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


def all_in_scope(session: Session, actor: UserAccount, model, record_ids) -> list:
    """The records among ``record_ids`` the actor may (still) see, in the order given."""
    ids = [int(i) for i in record_ids]
    if not ids:
        return []
    found = {
        record.id: record
        for record in session.scalars(select(model).where(model.id.in_(ids), FILTERS[model](actor)))
    }
    return [found[i] for i in ids if i in found]
