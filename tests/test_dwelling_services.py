"""Dwellings: create and correct in scope, the owner, and the cell lists with status."""

from __future__ import annotations

import pytest
from helpers import DEMO_TODAY, building_of_cell, dwelling_of_cell
from sqlalchemy import select

from registry.audit.services import trail_of
from registry.dwelling import services
from registry.dwelling.services import DwellingInput
from registry.errors import Conflict, InvalidInput, NotFound
from registry.organisation.models import Organisation


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
        )
    assert set(caught.value.details["fields"]) == {"owner_credit_code"}


def test_correcting_logs_only_what_changed_and_refuses_stale_versions(demo_session, worker, cipher):
    dwelling = dwelling_of_cell(demo_session, 1)
    values = services.dwelling_values(dwelling)
    same = DwellingInput(**values, owner_kind="keep")
    with pytest.raises(Conflict):
        services.correct_dwelling(
            demo_session, worker, cipher, dwelling.id, same, dwelling.version + 1
        )
    before = len(trail_of(demo_session, "dwelling", dwelling.id))
    services.correct_dwelling(demo_session, worker, cipher, dwelling.id, same, dwelling.version)
    assert len(trail_of(demo_session, "dwelling", dwelling.id)) == before
    owner = dwelling.owner_person_id
    changed = DwellingInput(**(values | {"rooms": values["rooms"] + 1}), owner_kind="keep")
    services.correct_dwelling(demo_session, worker, cipher, dwelling.id, changed, dwelling.version)
    entry = trail_of(demo_session, "dwelling", dwelling.id)[-1]
    assert entry.changes == {"rooms": [values["rooms"], values["rooms"] + 1]}
    assert dwelling.owner_person_id == owner


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
        )


def test_attention_count_matches_the_attention_list(demo_session, worker):
    summary = services.cell_summaries(demo_session, worker, [1, 2], DEMO_TODAY)
    assert set(summary) == {1}  # cell 2 is not the worker's
    rows, total = services.needing_attention(demo_session, worker, 1, DEMO_TODAY, 1, 1000)
    assert total == summary[1].attention == len(rows) > 0
    for row, capacity in rows:
        over = capacity is not None and row.occupants_now > capacity
        unfiled = row.Dwelling.occupancy == "rented" and row.current_filing_id is None
        unsigned = row.current_filing_id and not (row.rental_pledge and row.security_guarantee)
        assert over or unfiled or unsigned


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
