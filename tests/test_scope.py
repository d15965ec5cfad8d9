"""registry/scope.py as code: how its filters are built (what they let through is
tests/test_scope_matrix.py's and the services' tests' business)."""

from __future__ import annotations

import pytest
from helpers import DEMO_TODAY, account
from sqlalchemy import select
from sqlalchemy.orm.util import AliasedClass
from sweep_helpers import member_account, plan, team_with

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.dwelling.models import Dwelling
from registry.person.models import Person
from registry.scope import (
    FILTERS,
    BoundActor,
    actor_parameters,
    address_filter,
    address_in_scope_set,
    dwelling_filter,
    person_correctable_filter,
    visible_address_ids,
    visible_dwelling_ids,
)


@pytest.mark.parametrize("username", ["admin", "officer1", "grid0001", "manager1"])
def test_every_filter_is_built_from_core_aliases(demo_db, monkeypatch, username):
    """An ORM alias per table cost ~0.1 s of Python per look-up; the filters run on
    every request, so none may build one (Core aliases of the tables instead)."""
    actor = account(demo_db, username)

    def no_orm_alias(*args, **kwargs):
        raise AssertionError("an ORM alias in a scope filter")

    monkeypatch.setattr(AliasedClass, "__init__", no_orm_alias)
    for model, scope_filter in FILTERS.items():
        select(model.id).where(scope_filter(actor))
    select(Person.id).where(person_correctable_filter(actor, DEMO_TODAY))


def _ids(session, query) -> set[int]:
    return set(session.scalars(query))


def _last_of(session, role: Role) -> str:
    return session.scalar(
        select(UserAccount.username)
        .where(UserAccount.role == role)
        .order_by(UserAccount.username.desc())
    )


@pytest.mark.parametrize(
    "username", ["admin", "officer1", "grid0001", "the last grid worker", "manager1", "sweeper1"]
)
def test_the_driving_sets_hold_exactly_what_the_filters_let_through(demo_session, username):
    """visible_address_ids / visible_dwelling_ids are the scope written from where it
    starts (cells, station, managed dwellings, team stops) for the planner's sake: they
    must hold the same records as address_filter / dwelling_filter, sweeps included (the
    last grid worker is on the team of a sweep outside their cells)."""
    member_account(demo_session)
    last_worker = _last_of(demo_session, Role.GRID_WORKER)
    sweep = plan(demo_session)
    team_with(demo_session, sweep, "sweeper1", last_worker)
    actor = account(demo_session, last_worker if username.startswith("the last") else username)
    addresses = _ids(demo_session, select(Address.id).where(address_filter(actor)))
    dwellings = _ids(demo_session, select(Dwelling.id).where(dwelling_filter(actor)))
    assert addresses, "the actor sees something: the comparison means something"
    assert _ids(demo_session, visible_address_ids(actor)) == addresses
    assert _ids(demo_session, visible_dwelling_ids(actor)) == dwellings
    in_set = _ids(demo_session, select(Address.id).where(address_in_scope_set(actor)))
    assert in_set == addresses


@pytest.mark.parametrize(
    "username", ["admin", "officer1", "grid0001", "the last grid worker", "manager1", "sweeper1"]
)
def test_a_bound_actor_lets_through_exactly_what_the_actor_does(demo_session, username):
    """A filter built once per role for a BoundActor (the map's kept tile statements) and
    run with the actor's parameters holds the same records as the actor's own filter,
    sweeps included; another user of the same role gets their own."""
    member_account(demo_session)
    last_worker = _last_of(demo_session, Role.GRID_WORKER)
    sweep = plan(demo_session)
    team_with(demo_session, sweep, "sweeper1", last_worker)
    actor = account(demo_session, last_worker if username.startswith("the last") else username)
    bound = BoundActor(actor.role)
    for model, scope_filter in FILTERS.items():
        own = _ids(demo_session, select(model.id).where(scope_filter(actor)))
        kept = select(model.id).where(scope_filter(bound))
        assert set(demo_session.scalars(kept, actor_parameters(actor))) == own, model
    others = select(UserAccount).where(UserAccount.role == actor.role, UserAccount.id != actor.id)
    other = demo_session.scalars(others.order_by(UserAccount.id)).first()
    if other is not None:
        theirs = _ids(demo_session, select(Address.id).where(address_filter(other)))
        kept = select(Address.id).where(address_filter(bound))
        assert set(demo_session.scalars(kept, actor_parameters(other))) == theirs
