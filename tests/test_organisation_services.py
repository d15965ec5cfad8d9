"""Organisations: credit code checked and unique, address in scope, versioned corrections."""

from __future__ import annotations

import pytest
from helpers import building_of_cell
from sqlalchemy import select
from stdnum.cn import uscc

from registry.address.models import Address
from registry.audit.services import trail_of
from registry.errors import Conflict, InvalidInput, NotFound
from registry.organisation import services
from registry.organisation.models import Organisation
from registry.organisation.services import OrganisationInput


def credit_code(body: str = "91420100MA4K0X0X1") -> str:
    return body + uscc.calc_check_digit(body)


def new_input(address: Address, **changes) -> OrganisationInput:
    values = dict(
        credit_code=credit_code(),
        name="武汉测试商贸有限公司",
        kind="company",
        address_code=address.code,
        legal_representative="李四",
        employee_count="12",
    )
    return OrganisationInput(**(values | changes))


def test_create_then_correct_with_audit(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    organisation = services.create_organisation(demo_session, worker, new_input(building))
    assert (organisation.address_id, organisation.employee_count) == (building.id, 12)
    data = new_input(building, name="武汉测试商贸有限公司二店")
    with pytest.raises(Conflict):
        services.correct_organisation(
            demo_session, worker, organisation.id, data, organisation.version + 1
        )
    services.correct_organisation(demo_session, worker, organisation.id, data, organisation.version)
    assert [e.action for e in trail_of(demo_session, "organisation", organisation.id)] == [
        "create",
        "update",
    ]
    assert trail_of(demo_session, "organisation", organisation.id)[-1].changes == {
        "name": ["武汉测试商贸有限公司", "武汉测试商贸有限公司二店"]
    }


def test_all_field_errors_at_once(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    with pytest.raises(InvalidInput) as caught:
        services.create_organisation(
            demo_session,
            worker,
            new_input(
                building,
                credit_code="91420100MA4K0X0X10",
                name=" ",
                kind="bank",
                legal_representative="",
                employee_count="-3",
            ),
        )
    assert set(caught.value.details["fields"]) == {
        "credit_code",
        "name",
        "kind",
        "legal_representative",
        "employee_count",
    }


def test_a_registered_credit_code_is_refused(demo_session, worker):
    existing = demo_session.scalar(select(Organisation).order_by(Organisation.id))
    building = building_of_cell(demo_session, 1)
    with pytest.raises(InvalidInput) as caught:
        services.create_organisation(
            demo_session, worker, new_input(building, credit_code=existing.credit_code)
        )
    assert set(caught.value.details["fields"]) == {"credit_code"}


def test_an_address_outside_the_scope_is_refused(demo_session, worker):
    theirs = building_of_cell(demo_session, 2)
    with pytest.raises(InvalidInput) as caught:
        services.create_organisation(demo_session, worker, new_input(theirs))
    assert set(caught.value.details["fields"]) == {"address_code"}


def test_another_workers_organisation_is_not_found_nor_searchable(demo_session, worker):
    theirs = demo_session.scalar(
        select(Organisation)
        .join(Address, Address.id == Organisation.address_id)
        .where(Address.grid_cell_id != 1)
        .order_by(Organisation.id)
    )
    with pytest.raises(NotFound):
        services.correct_organisation(
            demo_session,
            worker,
            theirs.id,
            new_input(building_of_cell(demo_session, 1)),
            theirs.version,
        )
    assert services.search_organisations(demo_session, worker, theirs.credit_code) == ([], False)
    assert services.search_organisations(demo_session, worker, theirs.name) == ([], False)


def test_search_by_credit_code_or_name(demo_session, worker):
    organisation = services.create_organisation(
        demo_session, worker, new_input(building_of_cell(demo_session, 1))
    )
    assert services.search_organisations(demo_session, worker, organisation.credit_code)[0] == [
        organisation
    ]
    assert organisation in services.search_organisations(demo_session, worker, "测试商贸")[0]
