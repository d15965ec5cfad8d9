"""Person services: validation, resolving a person by document and name, who may correct."""

from datetime import date

import pytest
from helpers import DEMO_TODAY, account, audit_entries, dwelling_of_cell, resident_of_cell
from sqlalchemy import func, select

from registry.errors import Forbidden, InvalidInput
from registry.person.models import Person
from registry.person.services import (
    NAME_MISMATCH_LIMIT,
    PersonInput,
    clean_person,
    correct_person,
    may_correct,
    resolve_person,
    reveal_document,
)


def test_birth_date_is_taken_from_a_resident_id_when_not_given():
    clean = clean_person(PersonInput("张三", "resident_id", "11010519491231002x"), DEMO_TODAY)
    assert clean.birth_date == date(1949, 12, 31)
    assert clean.document_number == "11010519491231002X"


def test_a_passport_gives_no_birth_date_and_a_given_date_wins():
    assert clean_person(PersonInput("Ann", "passport", "E12345678"), DEMO_TODAY).birth_date is None
    given = clean_person(
        PersonInput("张三", "resident_id", "11010519491231002X", birth_date=date(1950, 1, 1)),
        DEMO_TODAY,
    )
    assert given.birth_date == date(1950, 1, 1)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidInput) as error:
        clean_person(PersonInput("", "resident_id", "110105194912310021", phone="12"), DEMO_TODAY)
    assert set(error.value.details["fields"]) == {"name", "document_number", "phone"}


# -- a refused reveal ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "reason", "refusal", "why"),
    [("admin", " ", InvalidInput, "reason"), ("grid0001", "核查案件线索", Forbidden, "role")],
)
def test_a_refused_reveal_is_logged_and_outlives_the_rollback(
    race_sessions, cipher, username, reason, refusal, why
):
    """The refusal rolls the request back; the entry was committed on its own before."""
    with race_sessions() as session:
        actor = account(session, username)
        person_id = session.scalar(select(func.min(Person.id)))
        with pytest.raises(refusal):
            reveal_document(session, actor, cipher, person_id, reason)
        session.rollback()
    with race_sessions() as session:
        entries = audit_entries(session, "person", person_id, action="reveal_refused")
        assert [(e.username, e.changes) for e in entries] == [(username, {"refused": why})]


# -- resolve_person: one door for attaching a person by document ---------------------------


def _holder(session, cipher, cell_id: int = 2):
    """A current resident of a cell (by default not grid0001's) and their clear number."""
    person = resident_of_cell(session, cell_id).person
    return person, cipher.decrypt(bytes(person.document_ciphertext))


def test_the_holder_is_found_by_document_and_name_whatever_the_spelling(
    demo_session, worker, cipher
):
    person, number = _holder(demo_session, cipher)
    person.name = "Jose\u0301  Li"  # decomposed accent, two spaces
    spaced = f"{number[:6]} {number[6:]}"
    found = resolve_person(
        demo_session,
        worker,
        cipher,
        PersonInput(" Jos\u00e9 Li ", "resident_id", spaced),
        DEMO_TODAY,
    )
    assert found is person


def test_a_wrong_name_is_refused_without_telling_the_right_one(demo_session, worker, cipher):
    person, number = _holder(demo_session, cipher)
    with pytest.raises(InvalidInput) as refused:
        resolve_person(
            demo_session,
            worker,
            cipher,
            PersonInput("随便编的", "resident_id", number),
            DEMO_TODAY,
            field_prefix="owner_",
        )
    messages = [str(m) for m in refused.value.details["fields"]["owner_name"]]
    assert list(refused.value.details["fields"]) == ["owner_name"]
    assert person.name not in " ".join(messages)
    demo_session.rollback()  # the refused request ends; its bookkeeping stays
    assert [e.action for e in audit_entries(demo_session, "person", person.id)] == ["name_mismatch"]


def test_too_many_wrong_names_stop_look_ups_by_document(demo_session, worker, cipher):
    person, number = _holder(demo_session, cipher)
    for attempt in range(NAME_MISMATCH_LIMIT):
        with pytest.raises(InvalidInput):
            resolve_person(
                demo_session,
                worker,
                cipher,
                PersonInput(f"猜{attempt}", "resident_id", number),
                DEMO_TODAY,
            )
        demo_session.rollback()
    with pytest.raises(InvalidInput) as refused:
        resolve_person(
            demo_session,
            worker,
            cipher,
            PersonInput(person.name, "resident_id", number),
            DEMO_TODAY,
        )
    assert "Too many names" in str(refused.value.details["fields"]["name"][0])
    other = account(demo_session, "grid0002")
    assert (
        resolve_person(
            demo_session, other, cipher, PersonInput(person.name, "resident_id", number), DEMO_TODAY
        )
        is person
    )  # counted per user


def test_the_count_of_wrong_names_survives_the_refused_transaction(race_sessions, data_key):
    from registry.person.identity import IdentityCipher

    cipher = IdentityCipher(data_key)
    with race_sessions() as session:
        worker = account(session, "grid0001")
        person, number = _holder(session, cipher)
        person_id = person.id
        with pytest.raises(InvalidInput):
            resolve_person(
                session, worker, cipher, PersonInput("随便编的", "resident_id", number), DEMO_TODAY
            )
        session.rollback()  # what the request boundary does with a refusal
    with race_sessions() as session:
        assert [e.action for e in audit_entries(session, "person", person_id)] == ["name_mismatch"]


# -- correcting: every current tie inside the actor's scope ------------------------------


def test_who_may_correct_a_person(demo_session, worker, cipher):
    mine, _number = _holder(demo_session, cipher, cell_id=1)
    theirs, _other = _holder(demo_session, cipher, cell_id=2)
    assert may_correct(demo_session, worker, mine.id, DEMO_TODAY)
    assert not may_correct(demo_session, worker, theirs.id, DEMO_TODAY)  # not even seen
    # Owning a dwelling elsewhere is a tie outside grid0001's cells.
    elsewhere = dwelling_of_cell(demo_session, 2)
    elsewhere.owner_person_id = mine.id
    elsewhere.owner_organisation_id = None
    demo_session.flush()
    assert not may_correct(demo_session, worker, mine.id, DEMO_TODAY)
    with pytest.raises(Forbidden):
        correct_person(
            demo_session,
            worker,
            cipher,
            mine.id,
            PersonInput("改掉", str(mine.document_type), _number),
            mine.version,
            DEMO_TODAY,
        )
    assert may_correct(demo_session, account(demo_session, "admin"), mine.id, DEMO_TODAY)
