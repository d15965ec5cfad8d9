"""Occupants: move in (new or existing), move out, correct; history kept; numbers masked."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from helpers import DEMO_TODAY, audit_entries, dwelling_of_cell, resident_of_cell
from sqlalchemy import func, select
from stdnum.cn import ric

from registry.audit.models import AuditEntry
from registry.errors import Conflict, InvalidInput, NotFound
from registry.person import residences
from registry.person.models import Person
from registry.person.residences import MoveInInput, ResidenceInput
from registry.person.services import PersonInput, find_by_document
from registry.validators import classify_query

TODAY = DEMO_TODAY  # services are handed the day; they never read a clock


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


def move_in_by_number(
    session, worker, cipher, dwelling_id: int, number: str, confirmed=None, **fields
):
    """Move the holder of resident ID ``number`` in, as a transient tenant since 3 days ago."""
    return residences.move_in(
        session,
        worker,
        cipher,
        dwelling_id,
        MoveInInput(document_type="resident_id", document_number=number, **stay(**fields)),
        TODAY,
        confirmed,
    )


def test_someone_from_another_cell_moves_in_with_their_name_once_the_move_is_confirmed(
    demo_session, worker, cipher
):
    elsewhere = resident_of_cell(demo_session, 2)
    person = elsewhere.person
    number = cipher.decrypt(bytes(person.document_ciphertext))
    people = demo_session.scalar(select(func.count()).select_from(Person))
    target = dwelling_of_cell(demo_session, 1)
    with pytest.raises(InvalidInput) as caught:
        move_in_by_number(demo_session, worker, cipher, target.id, number)
    assert set(caught.value.details["fields"]) == {"name"}  # the document alone is not enough
    with pytest.raises(residences.MoveNeedsConfirmation) as asked:
        move_in_by_number(demo_session, worker, cipher, target.id, number, name=person.name)
    # The stay elsewhere is outside grid0001's cells: the page may not say where it is.
    assert asked.value.details["homes"] == [residences.HomeElsewhere(elsewhere.id, None, None)]
    assert elsewhere.moved_out is None
    confirmed = residences.MoveConfirmation(person.id, (elsewhere.id,))
    residence = move_in_by_number(
        demo_session, worker, cipher, target.id, number, confirmed, name=person.name
    )
    assert residence.person_id == person.id
    assert demo_session.scalar(select(func.count()).select_from(Person)) == people
    assert elsewhere.moved_out == residence.moved_in
    assert (elsewhere.ended_by_residence_id, elsewhere.end_checked_on) == (residence.id, None)
    ended = [e.changes for e in audit_entries(demo_session, "residence", elsewhere.id)]
    assert ended == [
        {
            "moved_out": [None, residence.moved_in.isoformat()],
            "ended_by_residence_id": [None, residence.id],
            "end_checked_on": [None, None],
        }
    ]
    with pytest.raises(InvalidInput) as caught:
        move_in_by_number(demo_session, worker, cipher, target.id, number, name=person.name)
    assert set(caught.value.details["fields"]) == {"document_number"}  # lives here already


def test_a_move_the_worker_can_see_names_the_dwelling_and_counts_as_checked(
    demo_session, worker, cipher
):
    here, there = dwelling_of_cell(demo_session, 1), dwelling_of_cell(demo_session, 1, offset=1)
    number = free_number(demo_session, cipher)
    first = move_in_by_number(
        demo_session, worker, cipher, here.id, number, name="新住户", moved_in="2026-10-01"
    )
    with pytest.raises(residences.MoveNeedsConfirmation) as asked:
        move_in_by_number(demo_session, worker, cipher, there.id, number, name="新住户")
    assert asked.value.details["homes"] == [
        residences.HomeElsewhere(first.id, here.id, here.address.full_text)
    ]
    confirmed = residences.MoveConfirmation(first.person_id, (first.id,))
    move_in_by_number(demo_session, worker, cipher, there.id, number, confirmed, name="新住户")
    assert first.end_checked_on == TODAY  # seen on the confirmation page: nothing to check


def test_a_confirmation_for_other_stays_asks_again(demo_session, worker, cipher):
    elsewhere = resident_of_cell(demo_session, 2)
    number = cipher.decrypt(bytes(elsewhere.person.document_ciphertext))
    target = dwelling_of_cell(demo_session, 1)
    stale = residences.MoveConfirmation(elsewhere.person_id, ())
    with pytest.raises(residences.MoveNeedsConfirmation):
        move_in_by_number(demo_session, worker, cipher, target.id, number, stale)
    assert elsewhere.moved_out is None


def test_a_move_in_before_a_stay_elsewhere_began_is_refused(demo_session, worker, cipher):
    elsewhere = resident_of_cell(demo_session, 2)
    person = elsewhere.person
    number = cipher.decrypt(bytes(person.document_ciphertext))
    target = dwelling_of_cell(demo_session, 1)
    earlier = (elsewhere.moved_in - timedelta(days=1)).isoformat()
    with pytest.raises(InvalidInput) as caught:
        move_in_by_number(
            demo_session, worker, cipher, target.id, number, name=person.name, moved_in=earlier
        )
    assert set(caught.value.details["fields"]) == {"moved_in"}


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
