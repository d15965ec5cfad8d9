"""registry/scope.py as code: how its filters are built (what they let through is
tests/test_scope_matrix.py's and the services' tests' business)."""

from __future__ import annotations

import pytest
from helpers import DEMO_TODAY, account
from sqlalchemy import select
from sqlalchemy.orm.util import AliasedClass

from registry.person.models import Person
from registry.scope import FILTERS, person_correctable_filter


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
