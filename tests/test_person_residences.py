"""Occupants: move in (new or existing), move out, correct; history kept; numbers masked."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from helpers import DEMO_TODAY, dwelling_of_cell
from sqlalchemy import func, select
from stdnum.cn import ric

from registry.address.models import Address
from registry.audit.models import AuditEntry
from registry.dwelling.models import Dwelling
from registry.errors import Conflict, InvalidInput, NotFound
from registry.person import residences
from registry.person.models import Person, Residence
from registry.person.residences import MoveInInput, ResidenceInput
from registry.person.services import PersonInput, find_by_document
from registry.validators import classify_query

TODAY = DEMO_TODAY  # services are handed the day; they never read a clock


def resident_of_cell(session, cell_id: int) -> Residence:
    return session.scalar(
        select(Residence)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(Address, Address.id == Dwelling.address_id)
        .join(Person, Person.id == Residence.person_id)
        .where(
            Address.grid_cell_id == cell_id,
            Residence.moved_out.is_(None),
            Person.document_type == "resident_id",
        )
        .order_by(Residence.id)
    )


def free_number(session, cipher) -> str:
    for sequence in range(500, 700):
        body = f"11010119850607{sequence:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if find_by_document(session, cipher, "resident_id", number) is None:
            return number
    raise AssertionError("no free number")


def stay(**changes) -> dict:
    return (
        dict(
            moved_in=(TODAY - timedelta(days=3)).isoformat(),
            kind="transient",
            relationship="tenant",
        )
        | changes
    )


def move_in_by_number(session, worker, cipher, dwelling_id: int, number: str, **fields):
    """Move the holder of resident ID ``number`` in, as a transient tenant since 3 days ago."""
    return residences.move_in(
        session,
        worker,
        cipher,
        dwelling_id,
        MoveInInput(document_type="resident_id", document_number=number, **stay(**fields)),
        TODAY,
    )


def test_someone_from_another_cell_moves_in_by_document_alone(demo_session, worker, cipher):
    elsewhere = resident_of_cell(demo_session, 2)
    number = cipher.decrypt(bytes(elsewhere.person.document_ciphertext))
    people = demo_session.scalar(select(func.count()).select_from(Person))
    target = dwelling_of_cell(demo_session, 1)
    residence = move_in_by_number(demo_session, worker, cipher, target.id, number)
    assert residence.person_id == elsewhere.person_id
    assert demo_session.scalar(select(func.count()).select_from(Person)) == people
    with pytest.raises(InvalidInput) as caught:
        move_in_by_number(demo_session, worker, cipher, target.id, number)
    assert set(caught.value.details["fields"]) == {"document_number"}


def test_someone_new_needs_a_name_and_gets_the_birth_date_of_the_number(
    demo_session, worker, cipher
):
    number = free_number(demo_session, cipher)
    target = dwelling_of_cell(demo_session, 1)
    with pytest.raises(InvalidInput) as caught:
        move_in_by_number(demo_session, worker, cipher, target.id, number)
    assert set(caught.value.details["fields"]) == {"name"}
    residence = move_in_by_number(demo_session, worker, cipher, target.id, number, name="新住户")
    assert residence.person.birth_date == date(1985, 6, 7)
    logged = json.dumps(
        [e.changes for e in demo_session.scalars(select(AuditEntry))], ensure_ascii=False
    )
    assert number not in logged  # the log holds the masked form only
    assert number[:6] + "********" + number[-4:] in logged


def test_all_move_in_errors_at_once(demo_session, worker, cipher):
    target = dwelling_of_cell(demo_session, 1)
    with pytest.raises(InvalidInput) as caught:
        residences.move_in(
            demo_session,
            worker,
            cipher,
            target.id,
            MoveInInput(
                document_type="resident_id",
                document_number="11010119850607500",
                name="甲",
                phone="999",
                **stay(moved_in="2999-01-01", kind="x"),
            ),
            TODAY,
        )
    assert set(caught.value.details["fields"]) == {"document_number", "phone", "moved_in", "kind"}


def test_move_out_closes_the_stay_and_keeps_it(demo_session, worker):
    residence = resident_of_cell(demo_session, 1)
    with pytest.raises(InvalidInput):
        residences.move_out(
            demo_session,
            worker,
            residence.id,
            (residence.moved_in - timedelta(days=1)).isoformat(),
            residence.version,
            TODAY,
        )
    with pytest.raises(Conflict):
        residences.move_out(demo_session, worker, residence.id, TODAY, residence.version + 1, TODAY)
    residences.move_out(
        demo_session, worker, residence.id, TODAY.isoformat(), residence.version, TODAY
    )
    assert residence.moved_out == TODAY
    current, former = residences.residences_of_dwelling(
        demo_session, worker, residence.dwelling_id, TODAY
    )
    assert residence in former and residence not in current
    with pytest.raises(InvalidInput):
        residences.move_out(demo_session, worker, residence.id, TODAY, residence.version, TODAY)


def test_correct_a_residence(demo_session, worker):
    residence = resident_of_cell(demo_session, 1)
    data = ResidenceInput(
        moved_in=residence.moved_in,
        moved_out=residence.moved_in - timedelta(days=1),
        kind="registered",
        relationship="owner",
    )
    with pytest.raises(InvalidInput) as caught:
        residences.correct_residence(
            demo_session, worker, residence.id, data, residence.version, TODAY
        )
    assert set(caught.value.details["fields"]) == {"moved_out"}
    data = ResidenceInput(
        moved_in=residence.moved_in, moved_out="", kind="registered", relationship="owner"
    )
    residences.correct_residence(demo_session, worker, residence.id, data, residence.version, TODAY)
    assert (residence.kind, residence.relationship_to_dwelling) == ("registered", "owner")


def test_another_workers_residents_are_not_found(demo_session, worker, cipher):
    theirs = resident_of_cell(demo_session, 2)
    with pytest.raises(NotFound):
        residences.move_out(demo_session, worker, theirs.id, TODAY, theirs.version, TODAY)
    with pytest.raises(NotFound):
        residences.move_in(
            demo_session,
            worker,
            cipher,
            theirs.dwelling_id,
            MoveInInput(document_type="passport", document_number="E1234567", **stay()),
            TODAY,
        )
    number = cipher.decrypt(bytes(theirs.person.document_ciphertext))
    assert residences.search_people(demo_session, worker, cipher, classify_query(number)) == (
        [],
        False,
    )
    assert residences.search_people(
        demo_session, worker, cipher, classify_query(theirs.person.name)
    )[0].count(theirs.person) == 0 or _also_mine(demo_session, worker, theirs.person)


def _also_mine(session, worker, person) -> bool:
    """Namesakes are fine only if that very person also lives in the worker's cells."""
    return bool(residences.residences_of_person(session, worker, person.id))


def test_correct_occupant_keeps_the_number_when_left_empty(demo_session, worker, cipher):
    residence = resident_of_cell(demo_session, 1)
    person = residence.person
    number = cipher.decrypt(bytes(person.document_ciphertext))
    residences.correct_occupant(
        demo_session,
        worker,
        cipher,
        person.id,
        PersonInput(
            name="改过的名字", document_type="resident_id", document_number="", phone=person.phone
        ),
        person.version,
        TODAY,
    )
    assert person.name == "改过的名字"
    assert cipher.decrypt(bytes(person.document_ciphertext)) == number
    other = resident_of_cell(demo_session, 2).person
    taken = cipher.decrypt(bytes(other.document_ciphertext))
    with pytest.raises(InvalidInput) as caught:
        residences.correct_occupant(
            demo_session,
            worker,
            cipher,
            person.id,
            PersonInput(name="改过的名字", document_type="resident_id", document_number=taken),
            person.version,
            TODAY,
        )
    assert set(caught.value.details["fields"]) == {"document_number"}
