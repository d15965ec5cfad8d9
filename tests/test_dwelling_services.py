"""Dwellings: create and correct in scope, the owner, and the cell lists with status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import DEMO_TODAY, building_of_cell, dwelling_of_cell, point_in_cell
from sqlalchemy import func, select, update

from registry.address.models import Address
from registry.address.services import AddressInput, create_address
from registry.audit.services import trail_of
from registry.dwelling import services
from registry.dwelling.models import Occupancy
from registry.dwelling.services import DwellingInput
from registry.errors import Conflict, InvalidInput, NotFound
from registry.flags import services as flags
from registry.flags.hooks import recheck_dwellings
from registry.organisation.models import Organisation
from registry.person.models import Person, Residence


def test_every_field_error_is_reported_at_once():
    with pytest.raises(InvalidInput) as caught:
        services.clean_dwelling(DwellingInput(use="x", floor_area="-1", rooms="1.5", occupancy=""))
    assert set(caught.value.details["fields"]) == {"use", "floor_area", "rooms", "occupancy"}


def test_a_dwelling_with_an_organisation_as_owner(demo_session, worker, cipher):
    building = building_of_cell(demo_session, 1)
    organisation = demo_session.scalar(select(Organisation).order_by(Organisation.id))
    dwelling = services.create_dwelling(
        demo_session,
        worker,
        cipher,
        building.id,
        DwellingInput(
            use="commercial",
            floor_area="120.5",
            rooms="3",
            occupancy="rented",
            owner_kind="organisation",
            owner_credit_code=organisation.credit_code.lower(),
        ),
        DEMO_TODAY,
    )
    assert dwelling.owner_organisation_id == organisation.id and dwelling.owner_person_id is None
    assert trail_of(demo_session, "dwelling", dwelling.id)[0].action == "create"
    with pytest.raises(InvalidInput) as caught:
        services.create_dwelling(
            demo_session,
            worker,
            cipher,
            building.id,
            DwellingInput(use="commercial", floor_area="1", rooms="1", occupancy="vacant"),
            DEMO_TODAY,
        )
    assert "address" in caught.value.details["fields"]


def test_owner_errors_name_the_owner_fields(demo_session, worker, cipher):
    building = building_of_cell(demo_session, 1)
    base = dict(use="residential", floor_area="50", rooms="2", occupancy="vacant")
    with pytest.raises(InvalidInput) as caught:
        services.create_dwelling(
            demo_session,
            worker,
            cipher,
            building.id,
            DwellingInput(
                **base,
                owner_kind="person",
                owner_name="",
                owner_document_type="resident_id",
                owner_document_number="123",
            ),
            DEMO_TODAY,
        )
    assert set(caught.value.details["fields"]) == {"owner_name", "owner_document_number"}
    with pytest.raises(InvalidInput) as caught:
        services.create_dwelling(
            demo_session,
            worker,
            cipher,
            building.id,
            DwellingInput(
                **base, owner_kind="organisation", owner_credit_code="91420100MA4K0X0X1Q"
            ),
            DEMO_TODAY,
        )
    assert set(caught.value.details["fields"]) == {"owner_credit_code"}


def test_correcting_logs_only_what_changed_and_refuses_stale_versions(demo_session, worker, cipher):
    dwelling = dwelling_of_cell(demo_session, 1)
    values = services.dwelling_values(dwelling)
    same = DwellingInput(**values, owner_kind="keep")
    with pytest.raises(Conflict):
        services.correct_dwelling(
            demo_session, worker, cipher, dwelling.id, same, dwelling.version + 1, DEMO_TODAY
        )
    before = len(trail_of(demo_session, "dwelling", dwelling.id))
    services.correct_dwelling(
        demo_session, worker, cipher, dwelling.id, same, dwelling.version, DEMO_TODAY
    )
    assert len(trail_of(demo_session, "dwelling", dwelling.id)) == before
    owner = dwelling.owner_person_id
    changed = DwellingInput(**(values | {"rooms": values["rooms"] + 1}), owner_kind="keep")
    services.correct_dwelling(
        demo_session, worker, cipher, dwelling.id, changed, dwelling.version, DEMO_TODAY
    )
    entry = trail_of(demo_session, "dwelling", dwelling.id)[-1]
    assert entry.changes == {"rooms": [values["rooms"], values["rooms"] + 1]}
    assert dwelling.owner_person_id == owner


def test_an_owner_by_document_needs_the_holders_name(demo_session, worker, cipher):
    dwelling = dwelling_of_cell(demo_session, 1)
    holder = dwelling_of_cell(demo_session, 2, offset=3).owner_person or demo_session.scalar(
        select(Person).where(Person.document_type == "resident_id").order_by(Person.id)
    )
    number = cipher.decrypt(bytes(holder.document_ciphertext))

    def owned_by(name: str) -> DwellingInput:
        return DwellingInput(
            **services.dwelling_values(dwelling),
            owner_kind="person",
            owner_name=name,
            owner_document_type=str(holder.document_type),
            owner_document_number=number,
        )

    with pytest.raises(InvalidInput) as caught:
        services.correct_dwelling(
            demo_session,
            worker,
            cipher,
            dwelling.id,
            owned_by("随便编的"),
            dwelling.version,
            DEMO_TODAY,
        )
    assert set(caught.value.details["fields"]) == {"owner_name"}
    assert holder.name not in str(caught.value.details["fields"]["owner_name"][0])
    assert dwelling.owner_person_id != holder.id
    services.correct_dwelling(
        demo_session,
        worker,
        cipher,
        dwelling.id,
        owned_by(holder.name),
        dwelling.version,
        DEMO_TODAY,
    )
    assert dwelling.owner_person_id == holder.id


def test_another_workers_dwelling_is_not_found(demo_session, worker, cipher):
    theirs = dwelling_of_cell(demo_session, 2)
    with pytest.raises(NotFound):
        services.dwelling_with_status(demo_session, worker, theirs.id, DEMO_TODAY)
    with pytest.raises(NotFound):
        services.correct_dwelling(
            demo_session,
            worker,
            cipher,
            theirs.id,
            DwellingInput(**services.dwelling_values(theirs), owner_kind="keep"),
            theirs.version,
            DEMO_TODAY,
        )


def test_attention_count_matches_the_attention_list(demo_session, worker):
    summary = services.cell_summaries(demo_session, worker, [1, 2], DEMO_TODAY)
    assert set(summary) == {1}  # cell 2 is not the worker's
    counts = flags.live_flag_count(demo_session, worker, [1, 2])
    assert set(counts) == {1}
    places, total = flags.needing_attention(demo_session, worker, 1, DEMO_TODAY, 1, 1000)
    assert total == counts[1] == len(places) > 0
    for place in places:
        assert place.flags and all(row.flag.state == "open" for row in place.flags)
        assert place.address.grid_cell_id == 1


def test_buildings_are_paginated_with_their_counts(demo_session, worker):
    first, total = services.buildings_of_cell(demo_session, worker, 1, DEMO_TODAY, 1, 2)
    second, _ = services.buildings_of_cell(demo_session, worker, 1, DEMO_TODAY, 2, 2)
    assert len(first) == 2 and total > 2
    assert {a.id for a, _ in first}.isdisjoint({a.id for a, _ in second})
    everything, _ = services.buildings_of_cell(demo_session, worker, 1, DEMO_TODAY, 1, 1000)
    summary = services.cell_summaries(demo_session, worker, [1], DEMO_TODAY)[1]
    assert sum(c.dwellings for _, c in everything) == summary.dwellings


def test_dwellings_of_a_building_come_in_walking_order(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    rows, total = services.dwellings_at(demo_session, worker, building, DEMO_TODAY, 1, 1000)
    assert total == len(rows) > 1
    # The total counts the rows it pages through: the rooms, not the building itself.
    assert all(r.Address.parent_id == building.id for r, _ in rows)
    assert total == demo_session.scalar(
        select(func.count()).where(Address.parent_id == building.id)
    )
    keys = [
        (
            r.Address.entrance or "",
            r.Address.floor or 0,
            len(r.Address.room or ""),
            r.Address.room or "",
        )
        for r, _ in rows
    ]
    keys = [(len(e), e, f, lr, rm) for e, f, lr, rm in keys]
    assert keys == sorted(keys)


def test_rooms_without_a_floor_come_in_numeric_order(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    lon, lat = point_in_cell(demo_session, 1)
    for room in ("1001", "101", "99", "17-10", "17-2"):
        create_address(
            demo_session,
            worker,
            AddressInput(
                road_id=building.road_id,
                door_number=building.door_number,
                building=building.building,
                entrance="9",
                room=room,
                lon=lon,
                lat=lat,
            ),
        )
    rows, _total = services.dwellings_at(demo_session, worker, building, DEMO_TODAY, 1, 1000)
    rooms = [r.Address.room for r, _ in rows if r.Address.entrance == "9"]
    assert rooms == ["17-2", "17-10", "99", "101", "1001"]


def _moves_in(session, dwelling, relationship: str) -> None:
    person = Person(name="测试住户", document_type="passport")
    session.add(person)
    session.flush()
    session.add(
        Residence(
            person_id=person.id,
            dwelling_id=dwelling.id,
            moved_in=DEMO_TODAY - timedelta(days=3),
            kind="transient",
            relationship_to_dwelling=relationship,
        )
    )
    session.flush()


def test_a_vacant_dwelling_with_people_living_there_needs_attention(demo_session, worker):
    dwelling = dwelling_of_cell(demo_session, 1, occupancy="vacant")
    before = services.cell_summaries(demo_session, worker, [1], DEMO_TODAY)[1]
    places, _ = flags.needing_attention(demo_session, worker, 1, DEMO_TODAY, 1, 1000)
    assert dwelling.id not in {place.dwelling_id for place in places}

    _moves_in(demo_session, dwelling, "tenant")
    recheck_dwellings(demo_session, [dwelling.id], DEMO_TODAY)
    _record, status, _capacity = services.dwelling_with_status(
        demo_session, worker, dwelling.id, DEMO_TODAY
    )
    assert status.occupancy_problem == services.OccupancyProblem.VACANT_OCCUPIED
    assert dwelling.occupancy == "vacant"  # flagged, not changed
    places, _total = flags.needing_attention(demo_session, worker, 1, DEMO_TODAY, 1, 1000)
    flagged = {place.dwelling_id: place for place in places}
    assert [row.flag.rule for row in flagged[dwelling.id].flags] == ["vacant_occupied"]
    after = services.cell_summaries(demo_session, worker, [1], DEMO_TODAY)[1]
    assert after.occupancy_to_check == before.occupancy_to_check + 1
    assert after.attention == before.attention + 1
    assert services.suggested_occupancy(status.occupancy_problem, ["tenant"]) == Occupancy.RENTED


def test_owner_occupied_with_only_tenants_is_flagged(demo_session, worker):
    dwelling = dwelling_of_cell(demo_session, 1, occupancy="owner_occupied")
    demo_session.execute(
        update(Residence)
        .where(Residence.dwelling_id == dwelling.id)
        .values(moved_out=DEMO_TODAY - timedelta(days=10))
    )
    _moves_in(demo_session, dwelling, "tenant")
    _record, status, _capacity = services.dwelling_with_status(
        demo_session, worker, dwelling.id, DEMO_TODAY
    )
    assert status.occupancy_problem == services.OccupancyProblem.TENANTS_ONLY
    _moves_in(demo_session, dwelling, "owner")
    _record, status, _capacity = services.dwelling_with_status(
        demo_session, worker, dwelling.id, DEMO_TODAY
    )
    assert status.occupancy_problem is None
